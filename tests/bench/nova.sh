#!/usr/bin/env bash
# nova.sh - benchmark of the nova resource handler on the real OpenStack of scripts/novapeer.sh:
# building and destroying N servers, and the same work done one server at a time. Prints, per
# step: wall seconds, and the API calls it cost (Keystone, Nova and Neutron calls, counted from
# the handler's debug log: one "nova call" line per request sent) in all and per node.
#
#   tests/bench/nova.sh [N]        default: 30
#   BUILD=build-release (the build tree with the programs)
#   SINGLE=N (servers of the one-at-a-time rows)
#   FIP=1 (give every server a floating IP from the pool "public"; default 0)
#
# Rows:
#   flat     one node with min = max = N: the engine creates them concurrently, the handler
#            shares its token, its flavor list and its token lookups between them
#   single   SINGLE infrastructures of one node, each built and then destroyed by its own
#            program run, one after another (what a user scripting Occopus would do)
#
# The cloud is used if it runs ($NOVAPEER_DIR/novapeer.env); otherwise it is started for the
# benchmark and stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/${BUILD:-build-release}/api
n=${1:-30}
single=${SINGLE:-$n}
fip=${FIP:-0}
export NOVAPEER_DIR=${NOVAPEER_DIR:-/tmp/occo-novapeer}
command -v /usr/bin/time >/dev/null || { echo "nova.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
[ -x "$bin/occopus-build" ] || { echo "nova.sh: no programs in $bin (BUILD=...)" >&2; exit 1; }

work=$(mktemp -d)
started=
if [ ! -f "$NOVAPEER_DIR/novapeer.env" ]; then
	"$top/scripts/novapeer.sh" start
	started=1
fi
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save '' \
	--appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
cleanup() {
	kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work"
	if [ -n "$started" ]; then "$top/scripts/novapeer.sh" stop; fi
}
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
# shellcheck disable=SC1091
. "$NOVAPEER_DIR/novapeer.env"

export HOME=$work OCCOPUS_REDIS_URL=unix://$work/redis.sock OCCOPUS_CONFIG_PATH= OCCOPUS_LOG_LEVEL=debug
cd "$work"
mkdir -p .occopus
printf 'resource:\n  - type: nova\n    auth_data: {username: %s, password: %s}\n' \
	"$NOVAPEER_USER" "$NOVAPEER_PASSWORD" >.occopus/auth_data.yaml
chmod 600 .occopus/auth_data.yaml
extra=
[ "$fip" = 0 ] || extra=", floating_ip: yes, floating_ip_pool: public"
printf "'node_def:vm':\n  - resource: {type: nova, endpoint: '%s', project_id: %s, image_id: %s, flavor_name: m1.tiny, network_id: %s%s}\n    health_check: {ping: false}\n" \
	"$NOVAPEER_AUTH_URL" "$NOVAPEER_PROJECT_ID" "$NOVAPEER_IMAGE_ID" "$NOVAPEER_NET_ID" "$extra" >nodes.yaml
"$bin/occopus-import" nodes.yaml >/dev/null 2>&1

# seconds since START (date +%s%N)
seconds() { awk -v a="$(date +%s%N)" -v b="$1" 'BEGIN { printf "%.2f", (a - b) / 1e9 }'; }
calls() { grep -c 'msg="nova call"' "$1" || true; }

# row STEP SHAPE NODES SECONDS CALLS
row() {
	awk -v s="$1" -v sh="$2" -v n="$3" -v w="$4" -v c="$5" \
		'BEGIN { printf "%-8s %-7s %6d %9.2f %9.3f %9d %9.2f\n", s, sh, n, w, w / n, c, c / n }'
}

# measure STEP SHAPE NODES CMD...: run once, print a row
measure() {
	local step=$1 shape=$2 nodes=$3
	shift 3
	/usr/bin/time -f "%e" -o time.txt "$@" >out.txt 2>err.txt || { tail -20 err.txt >&2; exit 1; }
	row "$step" "$shape" "$nodes" "$(cat time.txt)" "$(calls err.txt)"
}

echo "nova bench: $n servers (floating IPs: $([ "$fip" = 0 ] && echo no || echo yes))"
printf "%-8s %-7s %6s %9s %9s %9s %9s\n" step shape nodes wall_s s/node api_calls calls/node

printf 'user_id: bench\ninfra_name: flat\nnodes:\n  - {name: vm, type: vm, scaling: {min: %d, max: %d}}\n' "$n" "$n" >flat.yaml
measure build flat "$n" "$bin/occopus-build" flat.yaml
id=$(tail -1 out.txt)
measure destroy flat "$n" "$bin/occopus-destroy" -i "$id"

printf 'user_id: bench\ninfra_name: single\nnodes:\n  - {name: vm, type: vm}\n' >single.yaml
ids=()
c=0
start=$(date +%s%N)
for _ in $(seq "$single"); do
	"$bin/occopus-build" single.yaml >out.txt 2>err.txt || { tail -20 err.txt >&2; exit 1; }
	ids+=("$(tail -1 out.txt)")
	c=$((c + $(calls err.txt)))
done
row build single "$single" "$(seconds "$start")" "$c"
c=0
start=$(date +%s%N)
for id in "${ids[@]}"; do
	"$bin/occopus-destroy" -i "$id" >out.txt 2>err.txt || { tail -20 err.txt >&2; exit 1; }
	c=$((c + $(calls err.txt)))
done
row destroy single "$single" "$(seconds "$start")" "$c"
