#!/usr/bin/env bash
# docker.sh - benchmark of the docker resource handler on a real Podman service: build and
# destroy N containers as one node type (min = max = N), beside the same work done one node at
# a time (N builds of a one-node infrastructure, then N destroys). Prints, per step: wall
# seconds, and the Docker API calls it cost in all and per node, counted by the Podman service
# itself (its access log).
#
#   tests/bench/docker.sh [N]              default: 50
#   BUILD=build-release (the build tree with the programs)
#
# Like the tests, it runs its own Podman service (runc, its own store, a network with its own
# bridge and subnet, an offline busybox image) and its own redis-server, and removes them all.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/${BUILD:-build-release}/api
n=${1:-50}
command -v podman >/dev/null || { echo "docker.sh: needs podman" >&2; exit 1; }
[ -x "$bin/occopus-build" ] || { echo "docker.sh: no programs in $bin (set BUILD)" >&2; exit 1; }

work=$(mktemp -d)
locks=/tmp/occo-podman-subnets
subnet=
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
cleanup() {
	set +e
	if [ -S "$work/podman.sock" ]; then
		for id in $(curl -s --unix-socket "$work/podman.sock" 'http://d/v1.41/containers/json?all=1' |
			python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))'); do
			curl -s --unix-socket "$work/podman.sock" -X DELETE "http://d/v1.41/containers/$id?force=1" >/dev/null
		done
	fi
	[ -f "$work/podman.pid" ] && kill "$(cat "$work/podman.pid")" 2>/dev/null
	[ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null
	sleep 0.5
	grep -o " $work/[^ ]*" /proc/mounts | while read -r m; do umount -l "$m"; done
	[ -n "$subnet" ] && rm -f "$locks/$subnet"
	rm -rf "$work"
}
trap cleanup EXIT

# a subnet 10.89.X.0/24 no one uses, reserved as the tests do
mkdir -p "$locks"
for x in $(seq 100 249); do
	ip -4 -o addr | grep -q " 10\.89\.$x\." && continue
	if (set -o noclobber; echo $$ >"$locks/$x") 2>/dev/null; then subnet=$x; break; fi
done
[ -n "$subnet" ] || { echo "docker.sh: no free subnet" >&2; exit 1; }
mkdir -p "$work/networks"
cat >"$work/networks/occobench.json" <<EOF
{"name": "occobench", "id": "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')",
 "driver": "bridge", "network_interface": "occobench$subnet", "created": "2024-01-01T00:00:00Z",
 "subnets": [{"subnet": "10.89.$subnet.0/24", "gateway": "10.89.$subnet.1"}],
 "ipv6_enabled": false, "internal": false, "dns_enabled": false, "ipam_options": {"driver": "host-local"}}
EOF
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
network_config_dir = "$work/networks"
default_network = "occobench"
[engine]
runtime = "runc"
tmp_dir = "$work/libpod"
EOF
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
runroot = "$work/run"
graphroot = "$work/graph"
EOF

# the offline image
r=$work/rootfs
mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$r/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$r/etc/passwd"
tar --numeric-owner -C "$r" -cf "$work/rootfs.tar" .
podman import -q --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$work/rootfs.tar" localhost/busybox:bench >/dev/null

# the service, with its access log (one line per API call)
podman --log-level=info system service --time=0 "unix://$work/podman.sock" >"$work/podman.log" 2>&1 &
echo $! >"$work/podman.pid"
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save '' \
	--appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 200); do
	curl -sf --unix-socket "$work/podman.sock" http://d/_ping >/dev/null 2>&1 &&
		redis-cli -s "$work/redis.sock" ping >/dev/null 2>&1 && break
	sleep 0.05
done

export HOME=$work OCCOPUS_REDIS_URL=unix://$work/redis.sock OCCOPUS_CONFIG_PATH= OCCOPUS_LOG_LEVEL=warn
cd "$work"
cat >nodes.yaml <<EOF
'node_def:c':
  - resource: {type: docker, endpoint: 'unix://$work/podman.sock', origin: local, image: localhost/busybox, tag: bench}
    contextualisation: {type: docker, env: ['ROLE=bench'], command: 'sleep 1000000'}
    health_check: {ping: false}
EOF
"$bin/occopus-import" nodes.yaml >/dev/null
printf 'user_id: bench\ninfra_name: many\nnodes:\n  - {name: c, type: c, scaling: {min: %d, max: %d}}\n' "$n" "$n" >many.yaml
printf 'user_id: bench\ninfra_name: one\nnodes:\n  - {name: c, type: c}\n' >one.yaml

calls() { grep -c '"[A-Z]* /v1\.41/' "$work/podman.log" || true; }
now() { date +%s.%N; }
row() { # row STEP MODE WALL CALLS
	awk -v s="$1" -v m="$2" -v w="$3" -v c="$4" -v n="$n" \
		'BEGIN { printf "%-8s %-12s %6d %8.2f %8.3f %8d %9.2f\n", s, m, n, w, w / n, c, c / n }'
}

printf "%-8s %-12s %6s %8s %8s %8s %9s\n" step mode nodes wall_s s/node api_calls calls/node
# all at once
c0=$(calls); t0=$(now)
"$bin/occopus-build" many.yaml >out.txt 2>err.txt
t1=$(now); c1=$(calls)
id=$(tail -1 out.txt)
row build "$n at once" "$(echo "$t1 - $t0" | bc)" $((c1 - c0))
running=$(curl -s --unix-socket "$work/podman.sock" -g \
	"http://d/v1.41/containers/json?filters={\"label\":[\"occopus.infra_id=$id\"]}" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$running" = "$n" ] || { echo "docker.sh: $running containers run, not $n" >&2; exit 1; }
c0=$(calls); t0=$(now)
"$bin/occopus-destroy" -i "$id" >/dev/null 2>&1
t1=$(now); c1=$(calls)
row destroy "$n at once" "$(echo "$t1 - $t0" | bc)" $((c1 - c0))

# one at a time
ids=()
c0=$(calls); t0=$(now)
for _ in $(seq "$n"); do
	"$bin/occopus-build" one.yaml >out.txt 2>err.txt
	ids+=("$(tail -1 out.txt)")
done
t1=$(now); c1=$(calls)
row build "1 x $n" "$(echo "$t1 - $t0" | bc)" $((c1 - c0))
c0=$(calls); t0=$(now)
for id in "${ids[@]}"; do "$bin/occopus-destroy" -i "$id" >/dev/null 2>&1; done
t1=$(now); c1=$(calls)
row destroy "1 x $n" "$(echo "$t1 - $t0" | bc)" $((c1 - c0))
