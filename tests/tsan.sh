#!/usr/bin/env bash
# The ThreadSanitizer run: a gcc build with -DDEBRIEF_SANITIZE=thread (BUILD, default
# build-tsan), then the unit suite (the store, its read pool and group commit, the pipeline, the
# executor, the loop) and the integration suite, whose debriefd is the TSan build too (the HTTP
# ingress, the API's route threads, the pipeline and outbox threads under real traffic).
# Not part of CI: the build alone takes about 25 minutes of two cores. Debian's gRPC, Abseil and
# Protobuf are not TSan builds, so races reported inside them are muted (tests/tsan.supp).
# Exits non-zero when a test fails or ThreadSanitizer reports anything; the reports are in
# BUILD/tsan-reports/. Usage: tests/tsan.sh [BUILD] [gtest filter for the unit suite]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-tsan}")
filter=${2:-*}
"$root/deploy/install-deps.sh" test >/dev/null
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=gcc CXX=g++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDEBRIEF_BUILD_TESTS=ON -DDEBRIEF_SANITIZE=thread >/dev/null
fi
cmake --build "$build" --target debriefd debriefctl debrief_unit_tests debrief_integration_tests
reports="$build/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 log_path=$reports/tsan suppressions=$root/tests/tsan.supp"
status=0
"$build/tests/debrief_unit_tests" --gtest_filter="$filter" --gtest_brief=1 || status=1
"$build/tests/debrief_integration_tests" --gtest_brief=1 || status=1
if compgen -G "$reports/tsan.*" >/dev/null; then
  echo "ThreadSanitizer reported (see $reports):" >&2
  grep -h '^SUMMARY' "$reports"/tsan.* | sort | uniq -c >&2
  status=1
else
  echo "ThreadSanitizer: no reports"
fi
exit $status
