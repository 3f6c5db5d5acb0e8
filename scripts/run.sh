#!/usr/bin/env bash
# run.sh - the run command of the README: install what the programs need, build them, and run
# the main job. Until the engine and the local back-end land, the main job is to show the
# version of the freshly built occopus-build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCCO_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" >/dev/null
./build-release/api/occopus-build --version
