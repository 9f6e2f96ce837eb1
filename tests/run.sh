#!/usr/bin/env bash
# Installs what is missing, builds once, and runs every test suite with ctest -j2.
# Exits non-zero when anything fails. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

deploy/install-deps.sh
build=${DEBRIEF_BUILD_DIR:-build}
mkdir -p "$build"
# The end-to-end peers (Request Tracker 5, Redmine 5: Debian packages, about a minute on a fresh
# machine) install while the build runs.
tests/e2e/peers.sh install >"$build/e2e-install.log" 2>&1 &
peers=$!
tests/contract/setup.sh  # npm packages of the contract mocks, from the lock file
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEBRIEF_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
if ! wait "$peers"; then
  cat "$build/e2e-install.log" >&2
  echo "tests/run.sh: installing the end-to-end peers failed (log above)" >&2
  exit 1
fi
cd "$build"
ctest -j2 --output-on-failure --timeout 600 "$@"
