#!/usr/bin/env python3
"""copkg_zip.py - write a zip file for the tests of the local back-end's copkg packages.

Usage: copkg_zip.py OUT.zip SPEC.json

SPEC is a JSON list of entries {"name": ..., "content": ..., "mode": 493, "link": ...}: a
regular file with that content and mode, or a symlink to "link" when it is given. Names are
written as given (also "../x" or "/x": the tests need hostile zips), parent directories of OUT
are created.
"""

import json
import os
import stat
import sys
import zipfile


def main():
    out, spec = sys.argv[1], sys.argv[2]
    with open(spec) as f:
        entries = json.load(f)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for e in entries:
            info = zipfile.ZipInfo(e["name"], date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3  # unix: the mode below is read from external_attr
            if e.get("link") is not None:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, e["link"])
            elif e["name"].endswith("/"):
                info.external_attr = (stat.S_IFDIR | 0o755) << 16
                z.writestr(info, b"")
            else:
                info.external_attr = (stat.S_IFREG | e.get("mode", 0o644)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, e.get("content", ""))


if __name__ == "__main__":
    main()
