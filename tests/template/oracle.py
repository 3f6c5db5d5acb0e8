#!/usr/bin/python3
"""The reference side of the template engine's differential test.

Renders template cases with Python's Jinja2 the way Occopus does (a plain
jinja2.Template, autoescape off) and prints them as one JSON list:

    [{"name": ..., "template": ..., "context": {...}, "nodes": {...},
      "ok": true, "out": "..."}                      # rendered
     {..., "ok": false, "error": "UndefinedError: ..."}]   # raised

Cases come from
  --corpus FILE   a JSON object {"context": {...}, "nodes": {...}, "cases": [...]};
                  each case is {"name", "template"[, "context"][, "nodes"]}; a case's
                  context is laid over the file's default context
  --tutorials DIR every template found in Occopus's tutorials: each cloud-init file and
                  each string of a node definition that contains "{{" or "{%"
                  (!text_import is followed), rendered with the context Occopus would
                  give the node that uses the definition

The helpers are the ones the C test (tests/integration/util/test_template_jinja.c)
supplies, answering from the case's "nodes" map {name: [{"ip", "privip"}, ...]}:
    getip(name)      nodes[name][0]["ip"]        (KeyError if there is no such node)
    getprivip(name)  nodes[name][0]["privip"]
    getipall(name)   [n["ip"] for n in nodes[name]]
    cut(s, a, b)     s[a:b]
    ibget(key, *args, **kw)   "key:arg1:arg2:k=v" (str() of each)
    fmtargs(*args, **kw)      "a1|a2;k=v,k2=v2"   (str() of each)
and the filters Occopus adds: b64encode / b64decode (base64 of the UTF-8 text).
"""
import argparse
import base64
import copy
import glob
import json
import os
import sys

import jinja2


def b64encode(value):
    return base64.b64encode(str(value).encode("utf-8")).decode("ascii")


def b64decode(value):
    return base64.b64decode(str(value).encode("utf-8"), validate=True).decode("utf-8")


# jinja2.Template(text) compiles with a shared default environment; the filters
# Occopus adds go there, so that jinja2.Template sees them.
_ENV = jinja2.Template("").environment
_ENV.filters["b64encode"] = b64encode
_ENV.filters["b64decode"] = b64decode


def helpers(nodes):
    def first(name):
        if name not in nodes or not nodes[name]:
            raise KeyError("No node exists with the given name", name)
        return nodes[name][0]

    def getip(name):
        return first(name)["ip"]

    def getprivip(name):
        return first(name)["privip"]

    def getipall(name):
        first(name)
        return [n["ip"] for n in nodes[name]]

    def cut(s, a, b):
        return s[a:b]

    def ibget(key, *args, **kw):
        parts = [str(key)] + [str(a) for a in args]
        parts += ["%s=%s" % (k, v) for k, v in kw.items()]
        return ":".join(parts)

    def fmtargs(*args, **kw):
        return "|".join(str(a) for a in args) + ";" + ",".join(
            "%s=%s" % (k, v) for k, v in kw.items())

    return dict(getip=getip, getprivip=getprivip, getipall=getipall, cut=cut,
                ibget=ibget, fmtargs=fmtargs)


def render(case):
    res = dict(case)
    try:
        tmpl = jinja2.Template(case["template"])
        # a copy: a template may change what it is given (xs.append), the case must not
        ctx = copy.deepcopy(case.get("context") or {})
        ctx.update(helpers(copy.deepcopy(case.get("nodes") or {})))
        res["out"] = tmpl.render(**ctx)
        res["ok"] = True
    except Exception as e:  # any exception is "an error" for the comparison
        res["ok"] = False
        res["error"] = "%s: %s" % (type(e).__name__, e)
    return res


def load_corpus(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    cases = []
    for c in data["cases"]:
        ctx = dict(data.get("context") or {})
        ctx.update(c.get("context") or {})
        cases.append({
            "name": "corpus:" + c["name"],
            "template": c["template"],
            "context": ctx,
            "nodes": c.get("nodes", data.get("nodes") or {}),
        })
    return cases


# ---- the tutorials ------------------------------------------------------------------------

def jsonable(v):
    """What the YAML gave, as JSON can hold it (dates and the like as str)."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def yaml_loader(yaml, base):
    class Loader(yaml.SafeLoader):
        pass

    def url_path(node, loader):
        spec = loader.construct_mapping(node)
        url = spec["url"]
        assert url.startswith("file://"), url
        return os.path.join(base, url[len("file://"):])

    def text_import(loader, node):
        with open(url_path(node, loader), encoding="utf-8") as f:
            return f.read()

    def yaml_import(loader, node):
        with open(url_path(node, loader), encoding="utf-8") as f:
            return yaml.load(f, yaml_loader(yaml, base))

    Loader.add_constructor("!text_import", text_import)
    Loader.add_constructor("!yaml_import", yaml_import)
    return Loader


def template_strings(v, path):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from template_strings(x, "%s.%s" % (path, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from template_strings(x, "%s[%d]" % (path, i))
    elif isinstance(v, str) and ("{{" in v or "{%" in v):
        yield path, v


def puppet_vars(cm):
    if not isinstance(cm, dict) or cm.get("type") != "puppet_solo":
        return None
    return {
        "modules": " ".join(str(m) for m in cm.get("modules") or []),
        "manifests": " ".join(str(m) for m in cm.get("manifests") or []),
        "attributes": " ".join(str(a) for a in cm.get("attributes") or []),
    }


def tutorial_cases(root):
    try:
        import yaml
    except ImportError:
        yaml = None
    cases = []
    for tdir in sorted(d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)):
        tname = os.path.basename(tdir)
        infra = {}
        for f in sorted(glob.glob(os.path.join(tdir, "infra*.yaml"))):
            if yaml:
                with open(f, encoding="utf-8") as fh:
                    infra = yaml.load(fh, yaml_loader(yaml, tdir)) or {}
        infra_id = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
        nodes_desc = infra.get("nodes") or []
        nodes = {}
        for i, n in enumerate(nodes_desc):
            nodes[n["name"]] = [{"ip": "10.0.%d.%d" % (i + 1, k + 1),
                                 "privip": "192.168.%d.%d" % (i + 1, k + 1)}
                                for k in range(2)]
        base_ctx = {
            "infra_id": infra_id,
            "infra_name": infra.get("infra_name", tname),
            "user_id": infra.get("user_id", "somebody@somewhere"),
            "node_id": "8c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
            "ip": "10.0.0.1",
            "variables": dict(infra.get("variables") or {}),
        }
        nodedir = os.path.join(tdir, "nodes")
        defs = {}
        deffile = os.path.join(nodedir, "node_definitions.yaml")
        if yaml and os.path.exists(deffile):
            with open(deffile, encoding="utf-8") as fh:
                defs = yaml.load(fh, yaml_loader(yaml, nodedir)) or {}
        seen = set()
        first_ctx = []

        def add(name, text, ctx):
            key = (text, json.dumps(ctx, sort_keys=True))
            if key in seen:
                return
            seen.add(key)
            cases.append({"name": name, "template": text, "context": ctx,
                          "nodes": nodes})

        for key, entries in defs.items():
            ntype = key.split(":", 1)[1] if ":" in key else key
            desc = next((n for n in nodes_desc if n.get("type") == ntype), {})
            for idx, d in enumerate(entries or []):
                ctx = dict(base_ctx)
                ctx.update({k: v for k, v in desc.items() if k != "variables"})
                ctx["variables"] = dict(base_ctx["variables"])
                ctx["variables"].update(desc.get("variables") or {})
                ctx.update(d)
                pv = puppet_vars(d.get("config_management"))
                if pv:
                    ctx["puppet"] = pv
                ctx = jsonable(ctx)
                first_ctx.append(ctx)
                for path, text in template_strings(d, "%s[%d]" % (key, idx)):
                    add("tutorials:%s/nodes/node_definitions.yaml:%s" % (tname, path), text, ctx)
        # every cloud-init file no definition imported as text, on its own (with the
        # context of the tutorial's first node definition)
        texts = {c["template"] for c in cases}
        for f in sorted(glob.glob(os.path.join(nodedir, "cloud_init*.yaml"))):
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
            if text in texts:
                continue
            add("tutorials:%s/nodes/%s" % (tname, os.path.basename(f)), text,
                first_ctx[0] if first_ctx else jsonable(base_ctx))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", action="append", default=[])
    ap.add_argument("--tutorials")
    args = ap.parse_args()
    cases = []
    for c in args.corpus:
        cases += load_corpus(c)
    if args.tutorials:
        cases += tutorial_cases(args.tutorials)
    out = [render(c) for c in cases]
    json.dump(out, sys.stdout, ensure_ascii=True, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
