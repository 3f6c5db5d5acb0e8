#!/usr/bin/env bash
# run.sh - the run command of the README: install what the programs need, build them, and
# deploy the example infrastructure (examples/local-demo) on the local back-end, with the
# embedded Redis as the state store. Prints the report with the nodes' addresses, what the
# workers have done so far, and how to watch it heal, scale it and destroy it.
#
# Running it again replaces the previous demo. Its state (the embedded Redis, the nodes'
# runtime directories) is under .demo/ at the top of the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

bash scripts/deps.sh
echo "== build"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCCO_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" >/dev/null

bin=$top/build-release/api
export PATH=$bin:$PATH
export OCCOPUS_STATE_DIR=$top/.demo OCCOPUS_CONFIG_PATH=
unset OCCOPUS_REDIS_URL
mkdir -p "$OCCOPUS_STATE_DIR"
cd examples/local-demo

if [ -s "$OCCOPUS_STATE_DIR/infra_id" ]; then
	echo "== destroying the previous demo"
	occopus-destroy -i "$(cat "$OCCOPUS_STATE_DIR/infra_id")"
	rm -f "$OCCOPUS_STATE_DIR/infra_id"
fi

echo "== import the node definitions"
occopus-import nodes.yaml
echo "== build the infrastructure"
occopus-build infra.yaml | tee "$OCCOPUS_STATE_DIR/build.txt"
id=$(tail -1 "$OCCOPUS_STATE_DIR/build.txt")
echo "$id" >"$OCCOPUS_STATE_DIR/infra_id"

# who is where: {node name: {node id: first address}}
occopus-info infrastructure.userinfo infra_id="$id" >"$OCCOPUS_STATE_DIR/userinfo.json"
pick() { python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))[sys.argv[2]]; k = sorted(m)[0]; print(k if sys.argv[3] == "id" else m[k])' "$OCCOPUS_STATE_DIR/userinfo.json" "$@"; }
front=$(pick front address)
worker=$(pick workers id)
sleep 3
echo "== the front node, http://$front:8080/cgi-bin/status"
curl -fsS "http://$front:8080/cgi-bin/status"

cat <<MSG

The demo runs: infrastructure $id, front page at http://$front:8080/cgi-bin/status
Its state is in $OCCOPUS_STATE_DIR; the programs are in $bin:

  export PATH=$bin:\$PATH OCCOPUS_STATE_DIR=$OCCOPUS_STATE_DIR

Watch it heal: keep it maintained in one terminal,
  occopus-maintain -c -t 2 -i $id
then kill a worker behind its back in another (its whole process group):
  kill -9 -- -\$(cut -d' ' -f1 $OCCOPUS_STATE_DIR/local/$id/occo-$worker/pid)
and see it replaced within a few seconds:
  occopus-maintain -r -i $id

Scale the workers (2..5), applied by the next maintenance pass:
  occopus-scale -i $id -n workers -c 2 && occopus-maintain -i $id

Tear it down:
  occopus-destroy -i $id
MSG
