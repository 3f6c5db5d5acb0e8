#!/usr/bin/env bash
# rest.sh - benchmark of occopus-rest-service: wrk with 200 connections on
# GET /infrastructures/<id> while the same service maintains N nodes of the dummy cloud (zero
# latency, no health probe). Prints the requests per second, the 99th percentile latency, the
# responses that were not 2xx (and socket errors), and the mean maintenance pass duration
# measured over the same length of time without and with the load (from /metrics).
#
#   tests/bench/rest.sh [DURATION_S] [N]      default: 30 1000
#   BUILD=build-release (the build tree with the programs), INTERVAL=1 (seconds between passes)
#   THREADS=1 (wrk's threads), PIN=1: with 2 CPUs or more, wrk runs on the last CPU and the
#   service and Redis on the others, so that the load generator does not take the CPU the
#   service needs (clients are elsewhere in a real deployment); PIN=0 runs them anywhere.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/${BUILD:-build-release}/api
dur=${1:-30}
n=${2:-1000}
interval=${INTERVAL:-1}
for p in wrk curl redis-server python3; do
	command -v "$p" >/dev/null || { echo "rest.sh: needs $p" >&2; exit 1; }
done

threads=${THREADS:-1}
pin_srv=() pin_wrk=()
ncpu=$(nproc)
if [ "${PIN:-1}" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
	pin_srv=(taskset -c "0-$((ncpu - 2))") pin_wrk=(taskset -c "$((ncpu - 1))")
fi

work=$(mktemp -d)
svc=
"${pin_srv[@]}" redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save '' \
	--appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
cleanup() {
	[ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null || true
	local rpid
	rpid=$(cat "$work/redis.pid" 2>/dev/null) || true
	if [ -n "$rpid" ] && kill "$rpid" 2>/dev/null; then
		for _ in $(seq 100); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.05; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done

export HOME=$work OCCOPUS_REDIS_URL=unix://$work/redis.sock OCCOPUS_CONFIG_PATH= OCCOPUS_LOG_LEVEL=warn
cd "$work"
printf "'node_def:d':\n  - resource: {type: dummy}\n    health_check: {ping: false}\n" >nodes.yaml
"$bin/occopus-import" nodes.yaml >/dev/null
printf 'user_id: bench\ninfra_name: flat\nnodes:\n  - {name: n, type: d, scaling: {min: %d, max: %d}}\n' \
	"$n" "$n" >infra.yaml
printf 'maintenance: {interval: %s}\n' "$interval" >cfg.yaml
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
"${pin_srv[@]}" "$bin/occopus-rest-service" --cfg cfg.yaml --port "$port" 2>svc.log &
svc=$!
for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.05; done

id=$(curl -sf -X POST --data-binary @infra.yaml "$base/infrastructures/" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["infraid"])')
ready() {
	curl -sf "$base/infrastructures/$id" | python3 -c '
import json, sys
d = json.load(sys.stdin)["n"]["instances"]
print(sum(1 for i in d.values() if i["state"] == "ready"))'
}
for _ in $(seq 600); do [ "$(ready)" = "$n" ] && break; sleep 0.5; done
[ "$(ready)" = "$n" ] || { echo "rest.sh: the $n nodes did not become ready" >&2; exit 1; }
sleep "$interval"

metric() { curl -sf "$base/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
mean() { awk -v s0="$1" -v c0="$2" -v s1="$3" -v c1="$4" \
	'BEGIN { if (c1 > c0) printf "%.1f", 1000 * (s1 - s0) / (c1 - c0); else print "n/a" }'; }

# CPU seconds the service has used (utime + stime of /proc/PID/stat)
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$svc/stat"; }

s0=$(metric occopus_pass_seconds_sum) c0=$(metric occopus_pass_seconds_count)
sleep "$dur"
s1=$(metric occopus_pass_seconds_sum) c1=$(metric occopus_pass_seconds_count) u1=$(cpu)
"${pin_wrk[@]}" wrk -t"$threads" -c200 -d"${dur}s" --timeout 10s --latency \
	"$base/infrastructures/$id" >wrk.txt
s2=$(metric occopus_pass_seconds_sum) c2=$(metric occopus_pass_seconds_count) u2=$(cpu)

rps=$(awk '/^Requests\/sec:/ { print $2 }' wrk.txt)
p99=$(awk '$1 == "99%" { print $2 }' wrk.txt)
total=$(awk '/requests in/ { print $1 }' wrk.txt)
non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' wrk.txt)
sockerr=$(awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }' wrk.txt)
idle=$(mean "$s0" "$c0" "$s1" "$c1")
load=$(mean "$s1" "$c1" "$s2" "$c2")
echo "nodes:            $n (dummy cloud), a pass every ${interval} s"
echo "load:             wrk -t$threads -c200 -d${dur}s GET /infrastructures/<id> ($(wc -c < <(curl -sf "$base/infrastructures/$id")) bytes)${pin_wrk:+, wrk pinned apart}"
echo "requests:         ${total} in ${dur} s, ${rps} requests/s"
echo "p99 latency:      ${p99}"
echo "non-2xx:          ${non2xx:-0}"
echo "socket errors:    ${sockerr:-none}"
echo "pass, no load:    ${idle} ms mean over $((c1 - c0)) passes"
echo "pass, under load: ${load} ms mean over $((c2 - c1)) passes"
awk -v a="$u1" -v b="$u2" -v d="$dur" 'BEGIN { printf "service CPU:      %.0f%% of a core while under load\n", 100 * (b - a) / d }'
echo "load average:     $(cut -d' ' -f1-3 /proc/loadavg) on $ncpu CPUs"
