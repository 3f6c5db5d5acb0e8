#!/usr/bin/env bash
# vagrant-provision.sh - make a Debian 12 machine ready to run occopus-c's example: install the
# dependencies (scripts/deps.sh, as the test command does) and build the programs as the run
# command builds them, so that `./scripts/run.sh` then only deploys.
#
#   vagrant-provision.sh [CHECKOUT]      (as root; CHECKOUT defaults to /vagrant)
#
# The Vagrantfile runs it on `vagrant up`; tests/packaging/vagrant.sh runs it in a copy of the
# checkout on this machine.
set -euo pipefail
top=${1:-/vagrant}
cd "$top"

echo "== provision: dependencies"
bash scripts/deps.sh
echo "== provision: build (build-release/, as scripts/run.sh builds)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCCO_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" >/dev/null
build-release/api/occopus-build --version
echo "== provision: done. Run the example: cd $top && sudo ./scripts/run.sh"
