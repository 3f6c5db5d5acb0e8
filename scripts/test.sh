#!/usr/bin/env bash
# test.sh - the test command of the README: install what the tests need, build with -Werror,
# run every test; then build and run the whole suite again under ASan + UBSan.
#
# Build trees: build-release/ and build-asan/ at the top of the checkout. CTest's summary of
# the last run is the closing line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

echo "== build: -Werror, AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DOCCO_WERROR=ON -DOCCO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under ASan + UBSan"
(cd build-asan && ctest -j "$jobs")

echo "== build: -Werror, release"
cmake -S . -B build-release -DOCCO_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-release -j "$jobs"
echo "== tests"
(cd build-release && ctest -j "$jobs")
