#!/usr/bin/env bash
# engine.sh - benchmark of the engine on the dummy cloud (zero latency): build, one no-op
# maintenance pass and destroy of N nodes, as one node type (min = max = N) and as a binary
# dependency tree of N node types. Prints, per step: wall and CPU seconds, peak RSS, and the
# Redis commands it cost in all and per node (INFO commandstats of a private redis-server), and
# the round trips per node: the commands the program sent while none was waiting for its reply
# (each costs at least one network round trip; those pipelined behind it overlap it), as the
# program's state store client counts them ($OCCOPUS_REDIS_STATS: its last line on stderr).
# The nodes have no health check probe (ping: false), so the figures are the engine's own.
#
#   tests/bench/engine.sh [N ...]          default: 1000 10000
#   BUILD=build-release (the build tree with the programs)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/${BUILD:-build-release}/api
sizes=${*:-1000 10000}
command -v /usr/bin/time >/dev/null || { echo "engine.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save '' \
	--appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
cleanup() { kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done

export HOME=$work OCCOPUS_REDIS_URL=unix://$work/redis.sock OCCOPUS_CONFIG_PATH= OCCOPUS_LOG_LEVEL=warn OCCOPUS_REDIS_STATS=1
cd "$work"
printf "'node_def:d':\n  - resource: {type: dummy}\n    health_check: {ping: false}\n" >nodes.yaml
"$bin/occopus-import" nodes.yaml >/dev/null

commands() { redis-cli -s "$work/redis.sock" info commandstats | awk -F'[=,:]' '/^cmdstat_/ { n += $3 } END { print n + 0 }'; }

# measure STEP N CMD...: run, print a row
measure() {
	local step=$1 n=$2 shape=$3; shift 3
	local before after
	before=$(commands)
	/usr/bin/time -f "%e %U %S %M" -o time.txt "$@" >out.txt 2>err.txt || { cat err.txt >&2; exit 1; }
	after=$(commands)
	read -r wall user sys rss <time.txt
	rt=$(sed -n 's/^state store: [0-9]* commands, \([0-9]*\) round trips$/\1/p' err.txt | tail -1)
	awk -v s="$step" -v n="$n" -v sh="$shape" -v w="$wall" -v u="$user" -v y="$sys" -v r="$rss" \
		-v c="$((after - before - 1))" -v t="${rt:-0}" \
		'BEGIN { printf "%-9s %-6s %7d %8.3f %8.3f %8.1f %9d %8.2f %7d %8.4f\n", s, sh, n, w, u + y, r / 1024, c, c / n, t, t / n }'
}

printf "%-9s %-6s %7s %8s %8s %8s %9s %8s %7s %8s\n" step shape nodes wall_s cpu_s rss_mb redis_cmd cmd/node rtrips rtt/node
for n in $sizes; do
	printf 'user_id: bench\ninfra_name: flat\nnodes:\n  - {name: n, type: d, scaling: {min: %d, max: %d}}\n' "$n" "$n" >flat.yaml
	python3 - "$n" >tree.yaml <<'PY'
import sys
n = int(sys.argv[1])
print("user_id: bench\ninfra_name: tree\nnodes:")
for i in range(n):
    print(f"  - {{name: n{i}, type: d}}")
print("dependencies:")
for i in range(1, n):
    print(f"  - [n{i}, n{(i - 1) // 2}]")
PY
	printf "'node_def:d':\n  - resource: {type: dummy}\n    health_check: {ping: false}\n" >nodes.yaml
	for shape in flat tree; do
		measure build "$n" "$shape" "$bin/occopus-build" "$shape.yaml"
		id=$(tail -1 out.txt)
		measure maintain "$n" "$shape" "$bin/occopus-maintain" -i "$id"
		measure destroy "$n" "$shape" "$bin/occopus-destroy" -i "$id"
	done
done
