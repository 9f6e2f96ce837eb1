#!/usr/bin/env bash
# Installs what is missing, builds once, and runs every test suite with ctest -j2; then the
# unit and integration suites again under AddressSanitizer and UndefinedBehaviorSanitizer, the
# fuzzers for a bounded time, and the threaded parts under ThreadSanitizer. Exits non-zero when
# anything fails. Extra arguments go to the first ctest (e.g. -L unit) and skip the sanitizer
# stages.
#
# Test builds carry line tables only (-g1): failures and sanitizer reports keep their file:line
# frames, and the builds take a quarter (plain, -O2) to a half (sanitizers, -O1) less time than
# with full debug information. The benchmarks build their own Release tree (tests/bench/run.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

deploy/install-deps.sh test
build=${DEBRIEF_BUILD_DIR:-build}
mkdir -p "$build"
# The end-to-end peers (Request Tracker 5, Redmine 5: Debian packages, about a minute on a fresh
# machine) install while the build runs.
tests/e2e/peers.sh install >"$build/e2e-install.log" 2>&1 &
peers=$!
tests/contract/setup.sh  # npm packages of the contract mocks, from the lock file
tests/deploy/setup.sh    # npm packages of the Kubernetes manifests' check, from the lock file
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DDEBRIEF_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
if ! wait "$peers"; then
  cat "$build/e2e-install.log" >&2
  echo "tests/run.sh: installing the end-to-end peers failed (log above)" >&2
  exit 1
fi
(cd "$build" && ctest -j2 --output-on-failure --timeout 600 "$@")

# The sanitizer stages. First the ASan build: clang with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage; the unit and integration suites run again
# in it, then each fuzzer for a bounded time (tests/fuzz/run.sh). Part of every full run; with
# arguments (a label, say) only when DEBRIEF_SANITIZERS=1. DEBRIEF_SANITIZERS=0 skips them.
sanitizers=${DEBRIEF_SANITIZERS:-}
if [ -z "$sanitizers" ]; then
  if [ $# -eq 0 ]; then sanitizers=1; else sanitizers=0; fi
fi
if [ "$sanitizers" = 1 ]; then
  san=$(realpath -m "${DEBRIEF_SANITIZE_BUILD_DIR:-build-sanitize}")
  CC=clang CXX=clang++ cmake -S . -B "$san" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DDEBRIEF_BUILD_TESTS=ON \
    -DDEBRIEF_FUZZ=ON >/dev/null
  cmake --build "$san" -j"$(nproc)" --target debriefd debriefctl debrief_unit_tests \
    debrief_http_front_fuzzer debrief_normalize_fuzzer debrief_webhook_fuzzer \
    debrief_config_fuzzer debrief_model_fuzzer debrief_credentials_fuzzer \
    debrief_tracker_webhook_fuzzer debrief_api_request_fuzzer debrief_redactor_fuzzer
  (cd "$san" && ctest -j2 --output-on-failure --timeout 900 -L unit)
  # The integration suite drives debriefd from outside: the plain build's suite runs against the
  # sanitized debriefd. Its TLS run is the plain run's twin; the plain run (whose Tls tests serve
  # TLS on both listeners) keeps CI inside its time. The Grafana check starts the plain debriefd.
  (cd "$build" && DEBRIEFD_UNDER_TEST="$san/plugin/debriefd" \
    ctest -j2 --output-on-failure --timeout 900 -L integration -E '^tls\.|^grafana_dashboard$')
  tests/fuzz/run.sh "$san" "${DEBRIEF_FUZZ_SECONDS:-30}"
  # Then ThreadSanitizer: a gcc build of debriefd and of the threaded parts' unit tests, and the
  # integration suite above against that debriefd (tests/tsan.sh).
  tests/tsan.sh "${DEBRIEF_TSAN_BUILD_DIR:-build-tsan}" "$build"
fi
