#!/usr/bin/env bash
# Seeds every fuzzer from the tests' payloads and runs each for a bounded time, one per core at
# a time (DEBRIEF_FUZZ_JOBS).
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_EACH]    (BUILD_DIR configured with -DDEBRIEF_FUZZ=ON)
# Exits non-zero, with the reproducer kept under BUILD_DIR/fuzz/, when a fuzzer finds a crash,
# a sanitizer report, a leak or a hang.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
seconds=${2:-60}
work="$build/fuzz"
rm -rf "$work/seeds"
fuzzers=(webhook normalize http_front config model credentials tracker_webhook api_request redactor)
for f in "${fuzzers[@]}"; do mkdir -p "$work/seeds/$f"; done
mkdir -p "$work/artifacts"

# Webhook bodies: every recorded vendor payload.
n=0
for f in "$root"/tests/adapters/helpdesk/*/testdata/*.json "$root"/deploy/samples/*.json \
         "$root"/../shared/payloads/*.json; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  cp "$f" "$work/seeds/webhook/$n.json"
  cp "$f" "$work/seeds/normalize/$n.txt"
done
# Ticket sentences with personal data and the like; for the redactor each line as the corpus has
# it (the requester's name, a tab, the text). No reader in these pipes stops early: under
# pipefail a writer cut off by an early exit (head, grep -m) fails the run with SIGPIPE.
awk 'NR <= 200' "$root/tests/plugin/testdata/pii_corpus.tsv" | split -l 20 - "$work/seeds/normalize/pii-"
awk '!/^#/ && ++n <= 200' "$root/tests/plugin/testdata/pii_corpus.tsv" |
  sed 's/\[\[[a-z]*:\([^]]*\)]]/\1/g' | split -l 1 - "$work/seeds/redactor/pii-"

# Tracker webhooks: a byte for the tracker (github 0, gitlab 1, jira 2, linear 3; the fuzzer
# signs the body), the vendor's event header, an empty line, each recorded payload.
tracker_seed() {  # INDEX HEADERS FILE NAME
  { printf "\\$(printf %03o "$1")%b\n" "$2"; cat "$3"; } > "$work/seeds/tracker_webhook/$4"
}
for f in "$root"/tests/adapters/tracker/testdata/*/*.json "$root"/../shared/payloads/*.json; do
  [ -f "$f" ] || continue
  case "$f" in
    */github/ping.json) tracker_seed 0 'X-GitHub-Event: ping\n' "$f" "github-${f##*/}" ;;
    */github/*|*/github-*) tracker_seed 0 'X-GitHub-Event: issues\n' "$f" "github-${f##*/}" ;;
    */gitlab/*|*/gitlab-*) tracker_seed 1 'X-Gitlab-Event: Issue Hook\n' "$f" "gitlab-${f##*/}" ;;
    */jira/*|*/jira-*) tracker_seed 2 '' "$f" "jira-${f##*/}" ;;
    */linear/*|*/linear-*) tracker_seed 3 '' "$f" "linear-${f##*/}" ;;
  esac
done
f="$root/tests/adapters/tracker/testdata/github/issues-opened.json"
{
  printf '\000X-GitHub-Event: issues\nContent-Type: application/x-www-form-urlencoded\n\npayload='
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""), end="")' < "$f"
} > "$work/seeds/tracker_webhook/github-form"

# HTTP requests: the samples as signed deliveries (the fuzzer's secret), and the other
# endpoints.
secret=fuzz-secret
ts=$(date +%s)
i=0
for f in "$root"/deploy/samples/*.json; do
  i=$((i + 1))
  [ $i -le 8 ] || break
  body=$(cat "$f")
  sig=$(printf '%s' "$ts.$body" | openssl dgst -sha256 -hmac "$secret" -hex | sed 's/^.* //')
  printf 'POST /webhooks/support HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Debrief-Timestamp: %s\r\nX-Debrief-Signature: %s\r\nX-Debrief-Delivery: seed-%s\r\nContent-Length: %s\r\n\r\n%s' \
    "$ts" "$sig" "$i" "${#body}" "$body" > "$work/seeds/http_front/delivery-$i"
done
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' > "$work/seeds/http_front/health"
printf 'POST /webhooks/support HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' > "$work/seeds/http_front/chunked"

# Configurations: the shipped example, the taxonomy, and every YAML the tests write.
cp "$root/deploy/debrief.example.yaml" "$work/seeds/config/example.yaml"
cp "$root/deploy/taxonomy/default.yaml" "$work/seeds/config/taxonomy.yaml"
printf 'http: {listen: 0.0.0.0:8443, tls: {cert_file: c.pem, key_file: k.pem}}\ngrpc: {tls: {cert_file: c, key_file: k, client_ca_file: ca, client_roles: {bot: admin}}}\n' \
  > "$work/seeds/config/tls.yaml"
# A model file: trained by this build's debriefctl on a few labelled lines.
{
  echo "text,category"
  for i in 1 2 3 4 5 6; do
    echo "I was charged twice $i,billing-charge"
    echo "the app crashes again $i,app-crash"
  done
} > "$work/train.csv"
if [ -x "$build/plugin/debriefctl" ]; then
  "$build/plugin/debriefctl" train --data "$work/train.csv" \
    --taxonomy "$root/deploy/taxonomy/default.yaml" --out "$work/seeds/model/model.bin" \
    >/dev/null 2>&1 || echo "fuzz: no model seed (debriefctl train failed); the model fuzzer starts empty"
fi
# Credentials: session tokens' and JWTs' shapes, an RT sidebar proof.
printf 'ds1.eyJuIjoiYW5uIiwiciI6ImFnZW50IiwiaCI6IiIsImkiOmZhbHNlLCJlIjoxOTk5OTk5OTk5fQ.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' \
  > "$work/seeds/credentials/session"
printf 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiI0MiIsImV4cCI6MTk5OTk5OTk5OSwiY29udGV4dCI6e319.c2ln' \
  > "$work/seeds/credentials/jwt"
printf 'ann@example.com\n1001\n1999999999\n00aa' > "$work/seeds/credentials/rt"

# API requests: a byte for the caller (admin 0, lead 1, agent 2, installation 3), the method's
# path after /api/v1/, a newline, the request in JSON as the tests and the panel send it.
api_seed() {  # NAME CALLER PATH BODY
  printf "\\$(printf %03o "$2")%s\n%s" "$3" "$4" > "$work/seeds/api_request/$1"
}
ticket='{"ticket": {"helpdeskId": "support", "ticketId": "1"}}'
api_seed get-ticket 2 Tickets/GetTicket "$ticket"
api_seed journey 2 Tickets/GetJourney '{"ticket": {"helpdeskId": "support", "ticketId": "1"}, "limit": 5}'
api_seed similar 2 Tickets/SimilarTickets "$ticket"
api_seed other-helpdesk 2 Tickets/GetTicket '{"ticket": {"helpdeskId": "zd", "ticketId": "1"}}'
api_seed bad-ticket 2 Tickets/GetTicket '{"ticket": 5}'
api_seed feedback 2 Tagging/Feedback '{"ticket": {"helpdeskId": "support", "ticketId": "1"}, "categoryId": "login"}'
api_seed classify 2 Tagging/Classify '{"text": "I was charged twice for my invoice"}'
api_seed categories 1 Tagging/ListCategories '{}'
api_seed review 1 Tagging/ListReview '{"limit": 10, "days": 7, "helpdeskId": "support"}'
api_seed emerging 1 Tagging/ListEmerging '{"minSize": 1}'
api_seed promote 0 Tagging/PromoteEmerging '{"emergingId": "1", "categoryId": "new-cause", "name": "New cause", "kind": "COMPLAINT"}'
api_seed tasks 1 Improvements/ListTasks '{"categoryId": "billing", "status": "TASK_OPEN"}'
api_seed task 1 Improvements/GetTask '{"taskId": "1"}'
api_seed search 2 Improvements/SearchTasks '{"query": "billing", "limit": 5}'
api_seed link 2 Improvements/LinkTicket '{"ticket": {"helpdeskId": "support", "ticketId": "2"}, "taskId": "1"}'
api_seed unlink 2 Improvements/UnlinkTicket "$ticket"
api_seed request 2 Improvements/RequestTask '{"ticket": {"helpdeskId": "support", "ticketId": "2"}, "categoryId": "billing", "title": "Refunds"}'
api_seed refresh 1 Improvements/RefreshTask '{"taskId": "1"}'
api_seed causes 1 Insights/CausesOverTime '{"filter": {"from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"}}'
api_seed inverted 1 Insights/CausesOverTime '{"filter": {"from": "2026-06-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}'
api_seed impact 1 Insights/TasksByImpact '{"kind": "COMPLAINT", "limit": 10}'
api_seed outcomes 1 Insights/FixOutcomes '{"filter": {"helpdeskId": "support"}}'
api_seed voice 1 Insights/CustomersVoice '{}'
api_seed config 0 Admin/GetConfig '{}'
api_seed adapters 0 Admin/ListAdapters '{}'
api_seed check 0 Admin/CheckAdapter '{"id": "tasks"}'
api_seed dead 0 Admin/ListDeadLetters '{"limit": 5}'
api_seed replay 0 Admin/ReplayDelivery '{"seq": "1"}'
api_seed actions 0 Admin/ListDeadActions '{}'
api_seed audit 0 Admin/ListAudit '{"limit": 5}'
api_seed show 0 Admin/ShowTrackerTask '{"trackerId": "tasks", "externalId": "1"}'
api_seed set-status 0 Admin/SetTrackerTaskStatus '{"trackerId": "tasks", "externalId": "1", "status": "TASK_DONE"}'
api_seed token 0 Admin/CreateApiToken '{"name": "ann", "role": "agent"}'
api_seed tokens 0 Admin/ListApiTokens '{}'
api_seed revoke 0 Admin/RevokeApiToken '{"id": "1"}'
api_seed merge 0 Admin/MergePeople '{"person": {"email": "ann@example.com"}, "into": {"ticket": {"helpdeskId": "support", "ticketId": "1"}}}'
api_seed split 0 Admin/SplitPerson '{"person": {"email": "ann@example.com"}}'
api_seed session 3 session ''
api_seed unknown 2 Tickets/DropAll '{}'

# One fuzzer per core at a time (each is one single-threaded process).
jobs_max=${DEBRIEF_FUZZ_JOBS:-$(nproc)}
run_one() {  # NAME
  local f=$1 corpus="$work/corpus/$1"
  mkdir -p "$corpus"
  "$build/tests/fuzz/debrief_${f}_fuzzer" "$corpus" "$work/seeds/$f" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$f-" >"$work/$f.log" 2>&1
}
status=0
batch=()
finish_batch() {
  local i
  for i in "${!batch[@]}"; do
    local f=${batch[$i]%%:*} pid=${batch[$i]##*:}
    if ! wait "$pid"; then
      tail -n 60 "$work/$f.log" >&2
      echo "fuzz: $f found a problem; reproducer in $work/artifacts/" >&2
      status=1
    else
      grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$work/$f.log" |
        sed "s/^/fuzz: $f /" || true
    fi
  done
  batch=()
}
for f in "${fuzzers[@]}"; do
  echo "fuzz: $f for ${seconds}s"
  run_one "$f" &
  batch+=("$f:$!")
  if [ "${#batch[@]}" -ge "$jobs_max" ]; then finish_batch; fi
done
finish_batch
exit $status
