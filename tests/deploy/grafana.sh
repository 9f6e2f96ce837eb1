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
source "$root/tests/debriefd_env.sh"
on_exit 'rm -rf "$work"'
# The shop helpdesk writes each ticket's cause back to an address where nothing listens, so its
# API calls (and their histogram and status classes) have a sample.
shop_writes_back_to "http://127.0.0.1:1/notes/{ticket_id}"
start_debriefd

# A family without a series is not in the exposition: the refusal counters, the API's calls and
# the adapters' calls appear with their first sample. One of each, so that the dashboard's
# queries of them and their labels (adapter, reason, code, action, class) can be checked.
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

# One ticket to the shop: processed (the pipeline's histograms), its write-back tried (the
# outbox's and the adapter's).
mkdir "$work/one"
cp "$root/deploy/samples/01-created-1001.json" "$work/one/"
"$build/plugin/debriefctl" replay --config "$work/debrief.yaml" --helpdesk shop "$work/one" >/dev/null
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$http/metrics" >"$work/metrics.txt"
  grep 'debrief_adapter_responses_total{adapter="shop"' "$work/metrics.txt" >/dev/null && break  # whole: -q would end curl's pipe early
  sleep 0.1
done

stop_debriefd

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
