#!/usr/bin/env bash
# latency.sh - how close a build comes to the cloud's own latency: a tree of node types of
# depth 5 on the dummy cloud with 2 s create latency and 1 s more until ready, so each level
# cannot take less than 3 s and the whole build not less than 15 s. Prints, per width, the
# wall time, its overhead over 15 s and the Redis commands per node. Target: within 10%
# whatever the width, up to 1,000 nodes.
#
#   tests/bench/latency.sh [N ...]          N = nodes in the tree, default: 5 101 1001
#   BUILD=build-release (the build tree with the programs)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/${BUILD:-build-release}/api
sizes=${*:-5 101 1001}

work=$(mktemp -d)
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save '' \
	--appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
cleanup() { kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done

export HOME=$work OCCOPUS_REDIS_URL=unix://$work/redis.sock OCCOPUS_CONFIG_PATH= OCCOPUS_LOG_LEVEL=warn
cd "$work"
cat >nodes.yaml <<'YAML'
'node_def:d':
  - resource: {type: dummy, create_latency_ms: 2000, ready_after_ms: 1000}
    health_check: {ping: false}
YAML
"$bin/occopus-import" nodes.yaml >/dev/null

commands() { redis-cli -s "$work/redis.sock" info commandstats | awk -F'[=,:]' '/^cmdstat_/ { n += $3 } END { print n + 0 }'; }

printf "%7s %6s %8s %9s %9s\n" nodes width wall_s overhead cmd/node
for n in $sizes; do
	# level 1: one node; levels 2..5: (n - 1) / 4 nodes each, each below one of the level above
	python3 - "$n" >tree.yaml <<'PY'
import sys
n = int(sys.argv[1])
w = max(1, (n - 1) // 4)
print("user_id: bench\ninfra_name: latency\nnodes:\n  - {name: l1n0, type: d}")
deps, prev = [], ["l1n0"]
for level in range(2, 6):
    cur = [f"l{level}n{j}" for j in range(w)]
    for j, name in enumerate(cur):
        print(f"  - {{name: {name}, type: d}}")
        deps.append(f"  - [{name}, {prev[j % len(prev)]}]")
    prev = cur
print("dependencies:")
print("\n".join(deps))
PY
	total=$((1 + 4 * ( (n - 1) / 4 > 0 ? (n - 1) / 4 : 1 )))
	before=$(commands)
	start=$(date +%s.%N)
	"$bin/occopus-build" tree.yaml >out.txt 2>err.txt || { cat err.txt >&2; exit 1; }
	end=$(date +%s.%N)
	after=$(commands)
	id=$(tail -1 out.txt)
	awk -v n="$total" -v w="$(( (n - 1) / 4 > 0 ? (n - 1) / 4 : 1 ))" -v s="$start" -v e="$end" \
		-v c="$((after - before - 1))" \
		'BEGIN { t = e - s; printf "%7d %6d %8.2f %8.1f%% %9.2f\n", n, w, t, (t / 15 - 1) * 100, c / n }'
	"$bin/occopus-destroy" -i "$id" >/dev/null 2>&1
done
