#!/usr/bin/env bash
# The ThreadSanitizer run, part of every full tests/run.sh: a gcc build with
# -DDEBRIEF_SANITIZE=thread (TSAN_BUILD, default build-tsan) of debriefd and of the unit tests of
# the parts that run threads (debrief_tsan_tests: the store with its commit thread, read pool and
# group commit; the pipeline; the executor; the loop; the reconciler), then the plain build's
# integration suite (MAIN_BUILD, default build) against the TSan debriefd: the HTTP ingress and
# its TLS, the API's route threads, the pipeline and outbox threads under real traffic, a
# configuration reload and a certificate renewed while serving.
#
# Built at -O1 with line tables only (-g1): ThreadSanitizer's reports keep their file:line
# frames and the build takes about half the time of -O2 -g. Debian's gRPC, Abseil and Protobuf
# are not TSan builds, so races reported inside them are muted (tests/tsan.supp).
#
# The store's PostgreSQL tests get a throwaway cluster (tests/pg/cluster.sh) for the unit run.
#
# Exits non-zero when a test fails or ThreadSanitizer reports anything; the reports are in
# TSAN_BUILD/tsan-reports/. Usage: tests/tsan.sh [TSAN_BUILD] [MAIN_BUILD] [gtest filter]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$root/build-tsan}")
main=$(realpath -m "${2:-$root/build}")
filter=${3:-*}
"$root/deploy/install-deps.sh" test >/dev/null
if [ ! -x "$main/tests/debrief_integration_tests" ]; then
  echo "tests/tsan.sh: $main/tests/debrief_integration_tests is missing: build the plain tree first" \
    "(tests/run.sh, or cmake --build $main)" >&2
  exit 2
fi
CC=gcc CXX=g++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DDEBRIEF_BUILD_TESTS=ON \
  -DDEBRIEF_SANITIZE=thread >/dev/null
cmake --build "$build" -j"$(nproc)" --target debriefd debrief_tsan_tests

reports="$build/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 log_path=$reports/tsan suppressions=$root/tests/tsan.supp"
status=0
start=$SECONDS
# The PostgreSQL store's tests share one throwaway cluster (tests/pg/cluster.sh), as the ctest
# fixture `postgres` gives the plain and ASan runs; stopped after the unit tests, or at any exit.
pg="$build/tests/pg"
trap 'bash "$root/tests/pg/cluster.sh" stop "$pg" >/dev/null 2>&1 || true' EXIT
bash "$root/tests/pg/cluster.sh" start "$pg" >/dev/null
# The unit tests in two shards side by side (one per core).
pids=()
for shard in 0 1; do
  DEBRIEF_TEST_PG_ENV="$pg/pg.env" GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$shard \
    "$build/tests/debrief_tsan_tests" --gtest_filter="$filter" --gtest_brief=1 \
    >"$build/tsan-unit-$shard.log" 2>&1 &
  pids+=($!)
done
for i in 0 1; do
  if ! wait "${pids[$i]}"; then
    cat "$build/tsan-unit-$i.log" >&2
    status=1
  fi
done
bash "$root/tests/pg/cluster.sh" stop "$pg" >/dev/null
echo "ThreadSanitizer: unit tests of the threaded parts in $((SECONDS - start)) s"

# The integration suite, plain-text run (its Tls tests serve TLS on both listeners and renew the
# certificate), with the TSan debriefd. The Grafana check starts the plain build's debriefd.
start=$SECONDS
(cd "$main" && DEBRIEFD_UNDER_TEST="$build/plugin/debriefd" \
  ctest -j2 --output-on-failure --timeout 900 -L integration -E '^tls\.|^grafana_dashboard$') ||
  status=1
echo "ThreadSanitizer: integration suite against the TSan debriefd in $((SECONDS - start)) s"

if compgen -G "$reports/tsan.*" >/dev/null; then
  echo "ThreadSanitizer reported (the reports are in $reports):" >&2
  grep -h '^SUMMARY' "$reports"/tsan.* | sort | uniq -c >&2
  status=1
else
  echo "ThreadSanitizer: no reports"
fi
exit $status
