#!/usr/bin/env bash
# Ingest benchmark: signed webhook deliveries acknowledged durably per second, and latency,
# with wrk against debriefd and, in the same run, against a baseline receiver written by hand
# (Node http + HMAC + one durable SQLite insert per delivery). Also start-up time to ready and
# resident memory idle and under load, and, on a fresh debriefd, the same load repeating one
# delivery (verified and answered "duplicate", nothing written): what the HTTP path alone
# sustains, so the cost of the durable write shows. Usage: tests/bench/ingest.sh BUILD_DIR
# With BENCH_BEFORE=PATH/TO/debriefd (another build, e.g. the commit before a change on the hot
# path), the same load then runs against both, alternating for BENCH_ROUNDS rounds (default 3),
# each on a fresh store, and the ratio is printed round by round.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-bench}
duration=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-32}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

secret=bench-secret-$(date +%s)
# A realistic 1.5 KB delivery.
python3 - "$work/body.json" <<'PY'
import json, sys
body = {"event": "ticket.created", "ticket": {"id": "48213", "subject": "Charged twice for my subscription",
  "description": ("Hello, I was charged twice for my November subscription. The first charge was on the 1st "
                  "and the second one on the 3rd, both for the same amount. I have attached my bank statement. "
                  "Could you please refund the second charge? I have been a customer for three years and this "
                  "never happened before. ") * 3,
  "status": "new", "channel": "email", "tags": ["billing", "vip"],
  "requester": {"id": "cust-88231", "name": "Sofia Rossi", "email": "sofia.rossi@example.it"},
  "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T08:00:00Z",
  "url": "https://helpdesk.example/tickets/48213"}}
open(sys.argv[1], "w").write(json.dumps(body))
PY
sig=$(openssl dgst -sha256 -hmac "$secret" -hex < "$work/body.json" | sed 's/^.* //')
export BENCH_BODY=$work/body.json BENCH_SIG=$sig

rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
wait_ready() {  # url -> seconds waited
  local t0=$(date +%s.%N)
  for _ in $(seq 1 400); do
    curl -sf -o /dev/null "$1" && { echo "$(date +%s.%N) - $t0" | bc; return 0; }
    sleep 0.005
  done
  echo "not ready: $1" >&2; return 1
}
start_debriefd() {  # dir [binary] -> starts debriefd there, sets dpid
  local binary=${2:-$build/plugin/debriefd}
  mkdir -p "$1"
  cat > "$1/debrief.yaml" <<YAML
http: {listen: "127.0.0.1:18480"}
grpc: {listen: "127.0.0.1:19480"}
helpdesks:
  - {id: bench, type: generic, settings: {secret: {env: BENCH_SECRET}, delivery_id_header: X-Debrief-Delivery}}
trackers: [{id: tasks, type: builtin}]
taxonomy: {file: $root/deploy/taxonomy/default.yaml}
YAML
  BENCH_SECRET=$secret "$binary" --config "$1/debrief.yaml" > "$1/log" 2>&1 &
  dpid=$!
  pids+=($dpid)
}
load() {  # name url pid -> JSON line on stdout
  local peak=0 out
  ( while kill -0 "$3" 2>/dev/null; do r=$(rss_kb "$3"); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" > "$work/$1.peak"; sleep 0.2; done ) &
  local sampler=$!
  out=$(BENCH_RUN=$1 wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$root/tests/bench/ingest_load.lua" "$2" | sed -n 's/^JSON //p')
  kill "$sampler" 2>/dev/null || true
  echo "${out%\}}, \"tool\": \"$1\", \"peak_rss_kb\": $(cat "$work/$1.peak" 2>/dev/null || echo 0)}"
}

# --- debriefd ---
t0=$(date +%s.%N)
start_debriefd "$work/d"
ready=$(wait_ready http://127.0.0.1:18480/readyz)
ready_s=$(echo "$(date +%s.%N) - $t0" | bc)
sleep 1
idle_kb=$(rss_kb $dpid)
d_json=$(load debriefd http://127.0.0.1:18480/webhooks/bench $dpid)
kill -TERM $dpid; wait $dpid || true
d_stored=$(sqlite3 "$work/d/debrief.inbox.db" "SELECT COUNT(*) FROM deliveries")

# --- baseline: Node http + HMAC + durable SQLite insert ---
nodedir=$root/tests/bench/baselines/node-receiver
node "$nodedir/server.js" 18481 "$work/node.db" "$secret" > "$work/node.log" 2>&1 &
pids+=($!); npid=$!
wait_ready http://127.0.0.1:18481/ >/dev/null 2>&1 || true  # 405 for GET: up when it answers
for _ in $(seq 1 200); do curl -s -o /dev/null http://127.0.0.1:18481/ && break; sleep 0.01; done
n_json=$(load node http://127.0.0.1:18481/webhooks/bench $npid)
kill $npid; wait $npid 2>/dev/null || true
n_stored=$(sqlite3 "$work/node.db" "SELECT COUNT(*) FROM deliveries")

# --- debriefd, one delivery repeated: the HTTP path without the durable write ---
start_debriefd "$work/r"
wait_ready http://127.0.0.1:18480/readyz >/dev/null
r_json=$(BENCH_REPEAT=1 load repeats http://127.0.0.1:18480/webhooks/bench $dpid)
kill -TERM $dpid; wait $dpid || true
r_stored=$(sqlite3 "$work/r/debrief.inbox.db" "SELECT COUNT(*) FROM deliveries")

python3 - "$d_json" "$n_json" "$d_stored" "$n_stored" "$ready_s" "$idle_kb" "$conns" "$duration" \
  "$r_json" "$r_stored" <<'PY'
import json, sys
d, n, rep = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[9])
stored = {"debriefd": int(sys.argv[3]), "node": int(sys.argv[4])}
ready, idle, conns, secs = float(sys.argv[5]), int(sys.argv[6]), sys.argv[7], sys.argv[8]
print(f"wrk, 1 thread, {conns} keep-alive connections, {secs} s, 1.5 KB signed deliveries, same machine:\n")
print("| receiver | durable deliveries/s | p50 ms | p90 ms | p99 ms | non-2xx | stored | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|")
for r in (d, n):
    ok = r["requests"] - r["non2xx"] - r["errors"]
    print(f"| {r['tool']} | {ok / r['seconds']:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | "
          f"{r['non2xx'] + r['errors']} | {stored[r['tool']]:,} | {r['peak_rss_kb'] / 1024:.0f} |")
rd = (d["requests"] - d["non2xx"]) / d["seconds"]
rn = (n["requests"] - n["non2xx"]) / n["seconds"]
print(f"\ndebriefd / node: {rd / rn:.1f}x the durable deliveries per second, p99 {n['p99_ms'] / d['p99_ms']:.1f}x lower")
print(f"debriefd: ready in {ready * 1000:.0f} ms, {idle / 1024:.0f} MB resident idle (default taxonomy, learned classifier)")
rr = (rep["requests"] - rep["non2xx"] - rep["errors"]) / rep["seconds"]
print(f"debriefd, one delivery repeated (verified, found, answered \"duplicate\"; {int(sys.argv[10])} stored): "
      f"{rr:,.0f} answers/s, p50 {rep['p50_ms']:.2f} ms, p99 {rep['p99_ms']:.2f} ms; "
      f"the durable write takes the rate to {rd / rr:.0%} of that")
PY

# --- this build against another, alternating (BENCH_BEFORE) ---
if [ -n "${BENCH_BEFORE:-}" ]; then
  rounds=${BENCH_ROUNDS:-3}
  results=()
  for round in $(seq 1 "$rounds"); do
    for which in before after; do
      bin=$build/plugin/debriefd
      [ "$which" = before ] && bin=$BENCH_BEFORE
      start_debriefd "$work/$which-$round" "$bin"
      wait_ready http://127.0.0.1:18480/readyz >/dev/null
      results+=("$round $which $(load "$which" http://127.0.0.1:18480/webhooks/bench $dpid)")
      kill -TERM $dpid; wait $dpid || true
    done
  done
  printf '%s\n' "${results[@]}" > "$work/rounds.txt"
  python3 - "$work/rounds.txt" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    rnd, which, js = line.split(" ", 2)
    rows.setdefault(rnd, {})[which] = json.loads(js)
print("\nThis build (after) against BENCH_BEFORE (before), alternating on fresh stores:\n")
print("| round | before deliveries/s | after deliveries/s | after / before | before p99 ms | after p99 ms |")
print("|---|---|---|---|---|---|")
ratios = []
for rnd in sorted(rows, key=int):
    b, a = rows[rnd]["before"], rows[rnd]["after"]
    rb = (b["requests"] - b["non2xx"] - b["errors"]) / b["seconds"]
    ra = (a["requests"] - a["non2xx"] - a["errors"]) / a["seconds"]
    ratios.append(ra / rb)
    print(f"| {rnd} | {rb:,.0f} | {ra:,.0f} | {ra / rb:.2f} | {b['p99_ms']:.2f} | {a['p99_ms']:.2f} |")
print(f"\nafter / before, round by round: {min(ratios):.2f}-{max(ratios):.2f}")
PY
fi
