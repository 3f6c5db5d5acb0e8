#!/usr/bin/env bash
# copkg.sh - the orchestrator deployed by itself: the copkg zip of occopus-c (target copkg) is
# the package of a node of the local back-end, fetched from a file:// repository; the node's
# script.d/start.sh runs occopus-rest-service with its state in the node's runtime directory,
# the health check waits for its port, and the REST API answers GET /infrastructures/ on the
# node's address. Destroying the node runs script.d/stop.sh: the service and its own Redis
# stop, and nothing of the node is left.
#
#   copkg.sh BUILD_DIR SOURCE_DIR VERSION     (the build tree already built)
#
# Exits 77 (skipped) only when occopus-rest-service is not built in BUILD_DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bin=$1 version=$3 # $2: the source directory
coordinate=occopus:occopus-c:$version
repo=$bin/copkg/repo
zip=$repo/occopus/occopus-c/$version/occopus-c-$version-copkg.zip
port=5000


if [ ! -x "$bin/api/occopus-rest-service" ]; then
	echo "skipped: $bin/api/occopus-rest-service is not built (the REST service)"
	exit 77
fi
for p in redis-server curl python3; do
	command -v "$p" >/dev/null || {
		echo "skipped: needs $p"
		exit 77
	}
done

tmp=$(mktemp -d /tmp/occo-copkg.XXXXXX)
id=
cleanup() {
	local rc=$?

	set +e
	[ -n "$id" ] && occo destroy -i "$id" >/dev/null 2>&1
	for f in "$tmp"/state/local/*/*/pid; do
		[ -f "$f" ] && kill -KILL -- "-$(cut -d' ' -f1 "$f")" 2>/dev/null
	done
	for f in "$tmp"/state/local/*/*/state/redis.pid "$tmp/state/redis.pid"; do
		stop_pidfile "$f"
	done
	rm -rf "$tmp"
	finish $rc
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# the orchestrating occopus-c: its own state directory, embedded Redis, no configuration
echo '{}' >"$tmp/occopus_config.yaml"
occo() {
	local prog=$1

	shift
	(cd "$tmp" && env HOME="$tmp" OCCOPUS_STATE_DIR="$tmp/state" \
		OCCOPUS_CONFIG_PATH="$tmp/occopus_config.yaml" OCCOPUS_AUTH_DATA_PATH= \
		OCCOPUS_REDIS_URL= OCCOPUS_LOG_LEVEL=warn "$bin/api/occopus-$prog" "$@")
}

step "build the package (target copkg)"
cmake --build "$bin" --target copkg >"$tmp/build.log" 2>&1 || {
	cat "$tmp/build.log" >&2
	fail "cmake --build --target copkg failed"
}
[ -f "$zip" ] || fail "no $zip"
python3 - "$zip" <<'PY' || fail "the zip does not hold what a copkg package must"
import stat, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = set(z.namelist())
for n in ["README", "etc/occopus_config.yaml", "bin/occopus-rest-service", "bin/occopus-build",
          "bin/occopus-maintain", "bin/occopus-destroy", "script.d/start.sh", "script.d/stop.sh"]:
    if n not in names:
        sys.exit(f"missing {n}")
    mode = z.getinfo(n).external_attr >> 16
    if (n.startswith("bin/") or n.startswith("script.d/")) and not mode & stat.S_IXUSR:
        sys.exit(f"{n} is not executable ({oct(mode)})")
if any(n.startswith("lib/") for n in names):
    sys.exit("lib/ in the zip: the project's libraries are static")
if "libhiredis" not in z.read("README").decode():
    sys.exit("the README does not list the shared libraries")
PY

step "deploy it as a node of the local back-end"
cat >"$tmp/nodes.yaml" <<YAML
'node_def:orchestrator':
  - resource:
      type: local
      address_range: 127.78.0.0/24
      package:
        coordinate: '$coordinate'
        repository: 'file://$repo'
      env:
        REST_PORT: '$port'
    health_check:
      ping: false
      ports: [$port]
      timeout: 60
YAML
cat >"$tmp/infra.yaml" <<'YAML'
user_id: test@example.com
infra_name: copkg-test
nodes:
  - name: orchestrator
    type: orchestrator
YAML
occo import nodes.yaml >"$tmp/out" 2>&1 || fail "occopus-import: $(cat "$tmp/out")"
occo build infra.yaml >"$tmp/build.out" 2>"$tmp/build.err" ||
	fail "occopus-build: $(cat "$tmp/build.out" "$tmp/build.err")"
id=$(tail -1 "$tmp/build.out")
rundir=$(ls -d "$tmp/state/local/$id"/*/ | head -1)
rundir=${rundir%/}
addr=$(cat "$rundir/address")
[ -f "$rundir/occopus_config.yaml" ] || fail "start.sh did not put the configuration in $rundir"
[ -d "$rundir/state" ] || fail "start.sh did not make the state directory in $rundir"
svc=$(cat "$rundir/occopus-rest-service.pid")
grep -q occopus-rest-service "/proc/$svc/cmdline" || fail "no occopus-rest-service runs as $svc"
grep -q "$tmp/state/packages/occopus/occopus-c/$version/bin/occopus-rest-service" \
	"/proc/$svc/cmdline" || fail "the service does not run from the unpacked package"

step "GET http://$addr:$port/infrastructures/"
curl -fsS -m 10 "http://$addr:$port/infrastructures/" >"$tmp/answer" ||
	fail "the REST service does not answer on $addr:$port"
python3 - "$tmp/answer" <<'PY' || fail "GET /infrastructures/ answered: $(cat "$tmp/answer")"
import json, sys
doc = json.load(open(sys.argv[1]))
# Occopus answers {"infrastuctures": [...]} (sic), its documentation says "infrastructures"
lists = [v for v in doc.values() if isinstance(v, list)] if isinstance(doc, dict) else [doc]
if not lists or lists[0] != []:
    sys.exit("expected an empty list of infrastructures")
PY

step "destroy: script.d/stop.sh stops the service and its Redis"
grep -q "^redis:" "$rundir/occopus_config.yaml" && fail "the package's configuration names a Redis"
redis=
[ -f "$rundir/state/redis.pid" ] && redis=$(cat "$rundir/state/redis.pid")
occo destroy -i "$id" >"$tmp/out" 2>&1 || fail "occopus-destroy: $(cat "$tmp/out")"
id=
[ ! -e "$rundir" ] || fail "$rundir is left after destroy"
! alive "$svc" || fail "occopus-rest-service ($svc) runs after destroy"
[ -n "$redis" ] || fail "start.sh started no redis-server (no $rundir/state/redis.pid)"
! alive "$redis" || fail "the service's Redis ($redis) runs after destroy"
hash=$(printf '%s' "$rundir" | sha256sum | cut -c1-16)
[ ! -e "/tmp/occopus-c.$hash" ] || fail "stop.sh left the socket directory /tmp/occopus-c.$hash"
exit 0
