#!/usr/bin/env bash
# The Grafana dashboard (deploy/grafana/debrief.json) reads only what debriefd exports: starts the
# build's debriefd on a fresh store (two generic helpdesks, support and shop, and the built-in
# tracker tasks), scrapes its /metrics and runs grafana_check.py on the dashboard and the scrape;
# with promtool (Debian's prometheus package, in deploy/install-deps.sh) every query must parse too.
# usage: tests/deploy/grafana.sh BUILD_DIR [DASHBOARD.json]  (default: deploy/grafana/debrief.json)
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BUILD_DIR [DASHBOARD.json]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dashboard=${2:-$root/deploy/grafana/debrief.json}
debriefd="$build/plugin/debriefd"
[ -x "$debriefd" ] || { echo "grafana.sh: no $debriefd (build the plugin first)" >&2; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

read -r http grpc < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')

cat >"$work/debrief.yaml" <<YAML
data_dir: $work
http: {listen: "127.0.0.1:$http"}
grpc: {listen: "127.0.0.1:$grpc"}
store: {sqlite: {path: debrief.db}}
helpdesks:
  - id: support
    type: generic
    settings: &generic
      secret: {file: webhook-secret, create: true}
      signature_header: X-Debrief-Signature
      timestamp_header: X-Debrief-Timestamp
      delivery_id_header: X-Debrief-Delivery
      fields:
        ticket_id: /ticket/id
        subject: /ticket/subject
        body: /ticket/description
        requester_email: /ticket/requester/email
        requester_name: /ticket/requester/name
        status: /ticket/status
        url: /ticket/url
        event: /event
  - id: shop
    type: generic
    settings: *generic
trackers:
  - id: tasks
    type: builtin
    settings: {path: builtin-tracker.db, base_url: "http://127.0.0.1:$http/tasks/"}
taxonomy: {file: $root/deploy/taxonomy/default.yaml}
link_policy: {open_after_tickets: 3, window: 7d}
pipeline: {poll_interval: 20ms}
loop: {impact_interval: 0s, status_poll_interval: 1s}
YAML

"$debriefd" --config "$work/debrief.yaml" >"$work/debriefd.log" 2>&1 &
pid=$!
ready=
for _ in $(seq 1 200); do
  if curl -sf "http://127.0.0.1:$http/readyz" >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "grafana.sh: debriefd did not get ready on 127.0.0.1:$http within 20 s; its log:" >&2
  cat "$work/debriefd.log" >&2
  exit 1
fi

# A family without a series is not in the exposition: the refusal counters and the API's calls
# appear with their first sample. One of each, so that the dashboard's queries of them and their
# labels (adapter, reason, code) can be checked.
expect() { # STATUS PATH [curl options]
  local want=$1 path=$2 got
  shift 2
  got=$(curl -s -o /dev/null -w '%{http_code}' "$@" "http://127.0.0.1:$http$path")
  if [ "$got" != "$want" ]; then
    echo "grafana.sh: $path answered $got, not $want" >&2
    exit 1
  fi
}
expect 401 /webhooks/support -X POST -d '{}' # unsigned: bad_signature{adapter="support"}
expect 404 /webhooks/nobody -X POST -d '{}'  # unknown_adapter{adapter="unknown"}
expect 404 /no-such-page                     # debrief_http_refused_total{reason="not_found"}
expect 404 /api/no-such-call                 # debrief_api_calls_total, _refused_total

curl -sf "http://127.0.0.1:$http/metrics" >"$work/metrics.txt"

kill "$pid"
wait "$pid" || true
pid=

python3 "$here/grafana_check.py" "$dashboard" "$work/metrics.txt" \
  --promql-rules "$work/queries.json"
if command -v promtool >/dev/null; then
  if ! promtool check rules "$work/queries.json" >"$work/promtool.out" 2>&1; then
    echo "grafana.sh: a query of the dashboard is not valid PromQL:" >&2
    cat "$work/promtool.out" >&2
    exit 1
  fi
  echo "grafana.sh: promtool parses every query"
else
  echo "grafana.sh: no promtool (apt-get install prometheus): PromQL syntax not checked"
fi
