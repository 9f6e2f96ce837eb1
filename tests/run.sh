#!/usr/bin/env bash
# Installs what is missing, builds once, and runs every test suite with ctest -j2.
# Exits non-zero when anything fails. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

deploy/install-deps.sh
tests/contract/setup.sh  # npm packages of the contract mocks, from the lock file
build=${DEBRIEF_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEBRIEF_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest -j2 --output-on-failure --timeout 600 "$@"
