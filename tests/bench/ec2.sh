#!/usr/bin/env bash
# ec2.sh - benchmark of the ec2 resource handler on a real moto EC2 server (signatures checked):
# building and destroying N instances, and the same work done one node at a time. Prints, per
# step: wall seconds, the EC2 API calls it cost (counted by moto: one log line per request) in
# all and per node.
#
#   tests/bench/ec2.sh [N]          default: 500
#   BUILD=build-release (the build tree with the programs)
#   SINGLE=100 (nodes of the one-at-a-time rows; their figures are per node, so they compare)
#
# Rows:
#   flat     one node with min = max = N: the engine creates them concurrently, the handler
#            shares token lookups and terminations between them
#   chain    SINGLE nodes, each depending on the one before: created one at a time by one
#            build (each level's poll lists every instance so far: quadratic in moto, hence
#            not N)
#   single   SINGLE infrastructures of one node, each built and then destroyed by its own
#            program run, one after another (what a user scripting Occopus would do)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/${BUILD:-build-release}/api
n=${1:-500}
single=${SINGLE:-100}
command -v moto_server >/dev/null || { echo "ec2.sh: needs moto_server" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "ec2.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save '' \
	--appendonly no --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
INITIAL_NO_AUTH_ACTION_COUNT=3 setsid moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
disown "$moto" # its end is ours (cleanup), not a job to report
cleanup() {
	kill -9 -- "-$moto" 2>/dev/null || true
	kill "$(cat "$work/redis.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
url=http://127.0.0.1:$port/
for _ in $(seq 200); do curl -sf "${url}moto-api/" >/dev/null && break; sleep 0.05; done
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done

export HOME=$work OCCOPUS_REDIS_URL=unix://$work/redis.sock OCCOPUS_CONFIG_PATH= OCCOPUS_LOG_LEVEL=warn
cd "$work"
mkdir -p .occopus

# A clean cloud for each shape (moto's tag filters cost time in the number of instances it
# holds, terminated ones included): reset, then the IAM key from the 3 calls moto does not
# check, in auth_data.yaml; every later call is signed with it.
fresh() {
	local iam=(curl -sS --aws-sigv4 aws:amz:us-east-1:iam --user boot:boot -X POST "$url"
		-H 'Content-Type: application/x-www-form-urlencoded') key ak sk
	curl -sS -X POST "${url}moto-api/reset" >/dev/null
	curl -sS -X POST "${url}moto-api/reset-auth" -H 'Content-Type: text/plain' --data 3 >/dev/null
	"${iam[@]}" --data 'Action=CreateUser&UserName=bench&Version=2010-05-08' >/dev/null
	"${iam[@]}" --data-urlencode 'PolicyDocument={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' \
		--data 'Action=PutUserPolicy&UserName=bench&PolicyName=all&Version=2010-05-08' >/dev/null
	key=$("${iam[@]}" --data 'Action=CreateAccessKey&UserName=bench&Version=2010-05-08')
	ak=$(sed -n 's|.*<AccessKeyId>\([^<]*\)<.*|\1|p' <<<"$key")
	sk=$(sed -n 's|.*<SecretAccessKey>\([^<]*\)<.*|\1|p' <<<"$key")
	printf 'resource:\n  - type: ec2\n    auth_data: {accesskey: %s, secretkey: %s}\n' "$ak" "$sk" \
		>.occopus/auth_data.yaml
	chmod 600 .occopus/auth_data.yaml
	ami=$(curl -sS --aws-sigv4 aws:amz:us-east-1:ec2 --user "$ak:$sk" -X POST "$url" \
		-H 'Content-Type: application/x-www-form-urlencoded' \
		--data 'Action=DescribeImages&Filter.1.Name=name&Filter.1.Value.1=amzn-ami-hvm-%2A-x86_64-gp2&Version=2016-11-15' |
		grep -o '<imageId>[^<]*' | head -1 | cut -d'>' -f2)
	printf "'node_def:vm':\n  - resource: {type: ec2, endpoint: '%s', regionname: us-east-1, image_id: %s, instance_type: t2.micro}\n    health_check: {ping: false}\n" \
		"$url" "$ami" >nodes.yaml
	"$bin/occopus-import" nodes.yaml >/dev/null
}

calls() { grep -c '"POST / HTTP' "$work/moto.log" || true; }

# seconds since START (date +%s%N)
seconds() { awk -v a="$(date +%s%N)" -v b="$1" 'BEGIN { printf "%.2f", (a - b) / 1e9 }'; }

# row STEP SHAPE NODES SECONDS CALLS
row() {
	awk -v s="$1" -v sh="$2" -v n="$3" -v w="$4" -v c="$5" \
		'BEGIN { printf "%-8s %-7s %6d %9.2f %9.4f %9d %9.2f\n", s, sh, n, w, w / n, c, c / n }'
}

# measure STEP SHAPE NODES CMD...: run once, print a row
measure() {
	local step=$1 shape=$2 nodes=$3 before after wall; shift 3
	before=$(calls)
	/usr/bin/time -f "%e" -o time.txt "$@" >out.txt 2>err.txt || { cat err.txt >&2; exit 1; }
	after=$(calls)
	wall=$(cat time.txt)
	row "$step" "$shape" "$nodes" "$wall" "$((after - before))"
}

printf "%-8s %-7s %6s %9s %9s %9s %9s\n" step shape nodes wall_s s/node api_calls calls/node

fresh
printf 'user_id: bench\ninfra_name: flat\nnodes:\n  - {name: vm, type: vm, scaling: {min: %d, max: %d}}\n' "$n" "$n" >flat.yaml
measure build flat "$n" "$bin/occopus-build" flat.yaml
id=$(tail -1 out.txt)
measure destroy flat "$n" "$bin/occopus-destroy" -i "$id"

fresh
python3 - "$single" >chain.yaml <<'PY'
import sys
n = int(sys.argv[1])
print("user_id: bench\ninfra_name: chain\nnodes:")
for i in range(n):
    print(f"  - {{name: vm{i}, type: vm}}")
print("dependencies:")
for i in range(1, n):
    print(f"  - [vm{i}, vm{i - 1}]")
PY
measure build chain "$single" "$bin/occopus-build" chain.yaml
id=$(tail -1 out.txt)
measure destroy chain "$single" "$bin/occopus-destroy" -i "$id"

fresh
printf 'user_id: bench\ninfra_name: single\nnodes:\n  - {name: vm, type: vm}\n' >single.yaml
ids=()
before=$(calls)
start=$(date +%s%N)
for _ in $(seq "$single"); do
	"$bin/occopus-build" single.yaml >out.txt 2>err.txt || { cat err.txt >&2; exit 1; }
	ids+=("$(tail -1 out.txt)")
done
row build single "$single" "$(seconds "$start")" "$(($(calls) - before))"
before=$(calls)
start=$(date +%s%N)
for id in "${ids[@]}"; do
	"$bin/occopus-destroy" -i "$id" >out.txt 2>err.txt || { cat err.txt >&2; exit 1; }
done
row destroy single "$single" "$(seconds "$start")" "$(($(calls) - before))"
