#!/usr/bin/env bash
# Ingest benchmark: signed webhook deliveries acknowledged durably per second, and latency,
# with wrk against debriefd and, in the same run, against a baseline receiver written by hand
# (Node http + HMAC + one durable SQLite insert per delivery). Also start-up time to ready and
# resident memory idle and under load, and, on a fresh debriefd, the same load repeating one
# delivery (verified and answered "duplicate", nothing written): what the HTTP path alone
# sustains, so the cost of the durable write shows. Usage: tests/bench/ingest.sh BUILD_DIR
# With BENCH_BEFORE=PATH/TO/debriefd (another build, e.g. the commit before a change on the hot
# path), the same load then runs against both, alternating for BENCH_ROUNDS rounds (default 3),
# each on a fresh store, and the ratio is printed round by round. With BENCH_TLS=1, the same
# load over HTTPS (TLS 1.3, an ECDSA P-256 certificate, keep-alive) against plain HTTP on this
# build, alternating for BENCH_ROUNDS rounds: what TLS costs per delivery.
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
    curl -skf -o /dev/null "$1" && { echo "$(date +%s.%N) - $t0" | bc; return 0; }
    sleep 0.005
  done
  echo "not ready: $1" >&2; return 1
}
start_debriefd() {  # dir [binary] [http|https] -> starts debriefd there, sets dpid
  local binary=${2:-$build/plugin/debriefd}
  local tls=""
  [ "${3:-http}" = https ] && tls=", tls: {cert_file: $work/tls.pem, key_file: $work/tls.key}"
  mkdir -p "$1"
  cat > "$1/debrief.yaml" <<YAML
http: {listen: "127.0.0.1:18480"$tls}
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

# Two loads alternating round by round on fresh stores (BENCH_ROUNDS, default 3): A and B
# name them, start_A / start_B start a debriefd for one round. Prints
# a table and the B / A ratio of each round. start_X sets dpid and scheme.
alternate() {  # A B title
  local rounds=${BENCH_ROUNDS:-3} results=() round which
  for round in $(seq 1 "$rounds"); do
    for which in "$1" "$2"; do
      "start_$which" "$work/$which-$round"
      wait_ready "$scheme://127.0.0.1:18480/readyz" >/dev/null
      results+=("$round $which $(load "$which" "$scheme://127.0.0.1:18480/webhooks/bench" $dpid)")
      kill -TERM $dpid; wait $dpid || true
    done
  done
  printf '%s\n' "${results[@]}" > "$work/rounds-$1-$2.txt"
  python3 - "$work/rounds-$1-$2.txt" "$1" "$2" "$3" <<'PY'
import json, sys
a_name, b_name, title = sys.argv[2], sys.argv[3], sys.argv[4]
rows = {}
for line in open(sys.argv[1]):
    rnd, which, js = line.split(" ", 2)
    rows.setdefault(rnd, {})[which] = json.loads(js)
print(f"\n{title}, alternating on fresh stores:\n")
print(f"| round | {a_name} deliveries/s | {b_name} deliveries/s | {b_name} / {a_name} | "
      f"{a_name} p99 ms | {b_name} p99 ms | {b_name} non-2xx |")
print("|---|---|---|---|---|---|---|")
ratios = []
rate = lambda r: (r["requests"] - r["non2xx"] - r["errors"]) / r["seconds"]
for rnd in sorted(rows, key=int):
    a, b = rows[rnd][a_name], rows[rnd][b_name]
    ratios.append(rate(b) / rate(a))
    print(f"| {rnd} | {rate(a):,.0f} | {rate(b):,.0f} | {rate(b) / rate(a):.2f} | {a['p99_ms']:.2f} | "
          f"{b['p99_ms']:.2f} | {b['non2xx'] + b['errors']} |")
print(f"\n{b_name} / {a_name}, round by round: {min(ratios):.2f}-{max(ratios):.2f}")
PY
}

# --- this build against another (BENCH_BEFORE) ---
start_before() { start_debriefd "$1" "$BENCH_BEFORE"; scheme=http; }
start_after() { start_debriefd "$1"; scheme=http; }
if [ -n "${BENCH_BEFORE:-}" ]; then
  alternate before after "This build (after) against BENCH_BEFORE (before)"
fi

# --- HTTPS against HTTP on this build (BENCH_TLS) ---
start_http() { start_debriefd "$1"; scheme=http; }
start_https() { start_debriefd "$1" "" https; scheme=https; }
if [ -n "${BENCH_TLS:-}" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$work/tls.key" -out "$work/tls.pem" -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  alternate http https "HTTPS (TLS 1.3, ECDSA P-256, keep-alive) against HTTP, this build"
fi
