#!/usr/bin/env bash
# All of Debrief's benchmarks, one command. Builds in Release (build-bench/), installs the
# comparison tools from Debian's archive, and prints tables a person can compare.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
deploy/install-deps.sh
missing=()
for p in python3-sklearn python3-matplotlib fasttext bc wrk nodejs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)
# Node's headers, to build better-sqlite3 from source (Debian's nodejs keeps them apart).
[ -f /usr/include/node/node.h ] || missing+=(libnode-dev)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEBRIEF_BUILD_TESTS=ON >/dev/null
cmake --build build-bench --target debrief_classify_bench debrief_pipeline_bench debrief_tracker_bench \
  debrief_backfill_bench debrief_panel_bench debrief_insights_bench debriefd debriefctl
nodedir=tests/bench/baselines/node-receiver
if [ ! -f "$nodedir/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
  # better-sqlite3 builds from source against Debian's Node headers (no binary download).
  (cd "$nodedir" && npm_config_build_from_source=true npm_config_nodedir=/usr \
     npm install --no-audit --no-fund --loglevel=error)
fi
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "## Ingest ($(date -u +%Y-%m-%d), $machine)"
tests/bench/ingest.sh "$root/build-bench"
echo
echo "## Pipeline"
build-bench/tests/debrief_pipeline_bench "$root/deploy/taxonomy/default.yaml" 50000 |
  python3 -c 'import json, sys
d = json.load(sys.stdin)
print("%s tickets from inbox to classified, linked and outbox written: %.2f s, %s tickets/s (the pipeline thread, the next batch read ahead on a second)"
      % (format(d["tickets"], ","), d["seconds"], format(round(d["tickets_per_second"]), ",")))'
echo
echo "## Stores side by side (SQLite; PostgreSQL 15 on a Unix socket of this host, 1, 2 and 3 replicas)"
# The same deliveries and pipeline on each store, alternating, each round on a fresh database:
# how fast the store acknowledges deliveries (group commits, durable) and how fast the pipeline
# takes them from the inbox to classified, linked and outbox written. With replicas, that many
# pipelines (each its own connections, classifier and policy, as that many debriefd) share the
# inbox of one database.
pgdir="$root/build-bench/pg"
bash tests/pg/cluster.sh start "$pgdir" >/dev/null
pg_main=$(sed -n 's/^DEBRIEF_TEST_PG=//p' "$pgdir/pg.env")
for round in 1 2 3; do
  build-bench/tests/debrief_pipeline_bench "$root/deploy/taxonomy/default.yaml" 20000
  for replicas in 1 2 3; do
    db=bench_${round}_$replicas
    psql -q "$pg_main" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    BENCH_PG="${pg_main/dbname=postgres/dbname=$db}" BENCH_REPLICAS=$replicas \
      build-bench/tests/debrief_pipeline_bench "$root/deploy/taxonomy/default.yaml" 20000
  done
done | python3 -c 'import json, sys
rows = [json.loads(l) for l in sys.stdin]
print("| round | store | replicas | deliveries acknowledged/s | pipeline tickets/s |")
print("|---|---|---|---|---|")
for i, d in enumerate(rows):
    print("| %d | %s | %d | %s | %s |" % (i // 4 + 1, d["store"], d["replicas"],
          format(round(d["tickets"] / d["append_seconds"]), ","), format(round(d["tickets_per_second"]), ",")))
def ack(d): return d["tickets"] / d["append_seconds"]
rounds = [rows[i:i + 4] for i in range(0, len(rows), 4)]
def median(xs): return sorted(xs)[len(xs) // 2]
print()
print("PostgreSQL / SQLite, median of the rounds: acknowledging %.2fx; pipeline %s" % (
    median([r[1]["tickets"] / r[1]["append_seconds"] / ack(r[0]) for r in rounds]),
    ", ".join("%d replica%s %.2fx" % (k, "" if k == 1 else "s",
              median([r[k]["tickets_per_second"] / r[0]["tickets_per_second"] for r in rounds]))
              for k in (1, 2, 3))))'
bash tests/pg/cluster.sh stop "$pgdir" >/dev/null
echo
echo "## Backfill"
build-bench/tests/debrief_backfill_bench "$root/deploy/taxonomy/default.yaml" 1000000 |
  python3 -c 'import json, sys
d = json.load(sys.stdin)
print("%s tickets (%d pages of Zendesk incremental export) into the inbox in %.1f s, classified, linked and outbox written in %.1f s: %s tickets/s; peak RSS %.0f MB; database %.0f MB"
      % (format(d["tickets"], ","), d["pages"], d["listed_seconds"], d["seconds"],
         format(round(d["tickets_per_second"]), ","), d["peak_rss_mb"], d["database_mb"]))'
echo
echo "## Tracker writes per 1,000 tickets (one task per cause, debounced impact updates)"
build-bench/tests/debrief_tracker_bench "$root/deploy/taxonomy/default.yaml" |
  python3 -c 'import json, sys
lines = [json.loads(l) for l in sys.stdin]
print("| mix | tasks | creates | updates | writes per 1,000 tickets | one call per ticket | ratio |")
print("|---|---|---|---|---|---|---|")
for d in lines:
    if "tracker" in d: continue
    print("| %s | %d | %d | %d | %d | %d | %.0fx fewer |" % (d["mix"], d["tasks"], d["creates"], d["updates"],
          d["writes_per_1000"], d["naive_writes_per_1000"], d["naive_writes_per_1000"] / d["writes_per_1000"]))
print()
print("Vendor API requests for the busy day, each adapter against its in-memory peer:")
print()
print("| tracker | tasks | adapter calls (create + update) | API requests | of which writes |")
print("|---|---|---|---|---|")
for d in lines:
    if "tracker" not in d or not d["mix"].startswith("a busy day"): continue
    print("| %s | %d | %d | %d | %d |" % (d["tracker"], d["tasks"], d["adapter_writes_per_1000"],
          d["api_requests_per_1000"], d["api_writes_per_1000"]))
print()
print("The task follower over a week (1,000 tickets in 7 days; status polls every 5 minutes, stall")
print("chases with a 2-day window; the biggest task closed on day 2 into a release out on day 5),")
print("beside the same week without it:")
print()
print("| tracker | API requests without the follower | with it | of which status polls | of which release look-ups | API writes without | with it | stall comments | the closed task shipped |")
print("|---|---|---|---|---|---|---|---|---|")
week = {d["tracker"]: d for d in lines if "tracker" in d and d["mix"].startswith("a week (")}
for d in lines:
    if "tracker" not in d or "polls" not in d: continue
    w = week[d["tracker"]]
    print("| %s | %d | %d | %d | %d | %d | %d | %d | %s |" % (d["tracker"], w["api_requests_per_1000"],
          d["api_requests_per_1000"], d["poll_requests_per_1000"], d["release_requests_per_1000"],
          w["api_writes_per_1000"], d["api_writes_per_1000"], d["stall_comments"],
          "yes" if d["closed_task_shipped"] else "no"))'
echo
echo "## The agents' panel (50 agents at once on a store of 1,000,000 tickets)"
build-bench/tests/debrief_panel_bench "$root/deploy/taxonomy/default.yaml" 1000000 50 10 0,1000 1,4 |
  python3 -c 'import json, sys
d = json.load(sys.stdin)
print("| read connections | agents pause (mean) | API | GetTicket p50 / p99 | GetJourney p50 / p99 | SimilarTickets p50 / p99 | whole panel p50 / p99 | panels/s |")
print("|---|---|---|---|---|---|---|---|")
for r in d["runs"]:
    for k, name in (("http_json", "JSON over HTTP"), ("grpc", "gRPC")):
        v = r[k]
        cells = ["%.1f / %.1f ms" % (v[c]["p50_ms"], v[c]["p99_ms"]) for c in ("GetTicket", "GetJourney", "SimilarTickets", "panel")]
        pause = "none" if r["pause_ms"] == 0 else "%g s" % (r["pause_ms"] / 1000)
        print("| %d | %s | %s | %s | %.1f |" % (r["read_connections"], pause, name, " | ".join(cells), v["panels_per_second"]))
print()
runs = {(r["read_connections"], r["pause_ms"]): r for r in d["runs"]}
if (1, 0) in runs and (4, 0) in runs:
    for k, name in (("http_json", "JSON over HTTP"), ("grpc", "gRPC")):
        print("no pause, %s: 4 read connections / 1, panels per second: %.2f" % (name, runs[(4, 0)][k]["panels_per_second"] / max(runs[(1, 0)][k]["panels_per_second"], 1e-9)))
for r in d["runs"]:
    print("%d read connections, pause %d ms: JSON over HTTP / gRPC, panel p99: %.2f" % (r["read_connections"], r["pause_ms"], r["http_json"]["panel"]["p99_ms"] / max(r["grpc"]["panel"]["p99_ms"], 1e-9)))'
echo
echo "## The leads' insights (on a store of 1,000,000 tickets, beside the naive query)"
build-bench/tests/debrief_insights_bench "$root/deploy/taxonomy/default.yaml" 1000000 30 4 |
  python3 -c 'import json, sys
d = json.load(sys.stdin)
print("| RPC | one lead p50 / p99 | %d leads at once p50 / p99 |" % d["leads"])
print("|---|---|---|")
for name in ("CausesOverTime", "TasksByImpact", "FixOutcomes", "CustomersVoice"):
    a, b = d["one_lead"][name], d["leads_at_once"][name]
    print("| %s | %.1f / %.1f ms | %.1f / %.1f ms |" % (name, a["p50_ms"], a["p99_ms"], b["p50_ms"], b["p99_ms"]))
print()
print("causes per week, p50: service %.1f ms, naive %.0f ms (x%.0f), naive with repeat contacts %.0f ms (x%.0f)" % (
    d["one_lead"]["CausesOverTime"]["p50_ms"], d["naive_causes"]["p50_ms"], d["naive_over_service_p50"],
    d["naive_causes_with_repeats"]["p50_ms"], d["naive_with_repeats_over_service_p50"]))'
echo
echo "## Classifier"
tests/bench/classify.sh "$root/build-bench"
