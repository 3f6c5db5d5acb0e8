#!/usr/bin/env bash
# test.sh - the test command of the README: install what the tests need, build with -Werror,
# run every test; then build and run the whole suite again under ASan + UBSan. The release
# build's tests include the packaging ones (tests/packaging/: the .deb, the copkg zip, the
# Vagrant provisioning), which the sanitizer build leaves out.
#
# Build trees: build-release/ and build-asan/ at the top of the checkout. CTest's summary of
# the last run is the closing line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

echo "== build: -Werror, AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DOCCO_WERROR=ON -DOCCO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	-DOCCO_TESTS=ON >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under ASan + UBSan"
(cd build-asan && ctest -j "$jobs")

echo "== build: -Werror, release (prefix /usr: the Debian package is built from this tree)"
cmake -S . -B build-release -DOCCO_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOCCO_TESTS=ON \
	-DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build-release -j "$jobs"
echo "== tests (with the packaging tests: the .deb installed and removed, the copkg deployed, the"
echo "   Vagrant provisioning; the nova tests ran under the sanitizers already: their OpenStack"
echo "   takes minutes to start, so it starts once)"
(cd build-release && ctest -j "$jobs" -E '^(novapeer/|integration/api/test_nova)')
