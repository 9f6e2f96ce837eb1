#!/usr/bin/env bash
# The leads' insights and the admins' console in a real browser: debriefd (the build's) on a
# fresh store, 26 weeks of generated tickets (history.py) and the samples, one task done in the
# built-in tracker (so its linked tickets are told), a lead's, an admin's and an agent's API
# tokens; then insights.test.mjs and admin.test.mjs in Debian's headless Chromium, one after
# the other. Screenshots land in BUILD/tests/web/screenshots.
#   tests/web/console.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
work="$build/tests/web/console"
rm -rf "$work"
mkdir -p "$work/history"

# The shop helpdesk writes each ticket's cause back to a note endpoint that refuses at first
# (notes_peer.py): the admin test sees the refusals as failed actions and retries them.
python3 "$here/notes_peer.py" "$work/notes-port" &
peer=$!
trap 'kill $peer 2>/dev/null' EXIT  # until common.sh's exit hooks take over
for _ in $(seq 1 100); do [ -s "$work/notes-port" ] && break; sleep 0.05; done
notes="http://127.0.0.1:$(cat "$work/notes-port")"
source "$here/common.sh"
on_exit 'kill $peer 2>/dev/null; wait $peer 2>/dev/null'
shop_writes_back_to "$notes/notes/{ticket_id}"

last=$(python3 "$here/history.py" "$root/deploy/taxonomy/default.yaml" "$work/history")
start_debriefd
"$build/plugin/debriefctl" replay --config "$work/debrief.yaml" --helpdesk support \
  "$work/history" >/dev/null
"$build/plugin/debriefctl" replay --config "$work/debrief.yaml" --helpdesk support \
  "$root/deploy/samples" >/dev/null

# Every delivery is processed once the last one is tagged.
for _ in $(seq 1 300); do
  "${ctl[@]}" -o json tickets show support "H$last" 2>/dev/null | grep '"classifiedAt"' >/dev/null && break  # whole: -q would end debriefctl by SIGPIPE
  sleep 0.1
done

# The oldest task is done (and so shipped) in its tracker: debriefd follows it there and tells
# its tickets.
external=""
for _ in $(seq 1 300); do
  external=$("${ctl[@]}" -o json tasks list | python3 -c '
import json, sys
tasks = [t for t in json.load(sys.stdin).get("tasks", []) if t.get("external_id")]
print(min(tasks, key=lambda t: int(t["id"]))["external_id"] if tasks else "")')
  [ -n "$external" ] && break
  sleep 0.1
done
if [ -z "$external" ]; then
  echo "console.sh: no task reached the tracker" >&2
  exit 1
fi
"${ctl[@]}" tracker set-status "$external" done >/dev/null
for _ in $(seq 1 300); do
  "${ctl[@]}" -o json tasks list | grep '"TASK_SHIPPED"' >/dev/null && break  # whole: -q would end debriefctl by SIGPIPE
  sleep 0.1
done

token() {
  "${ctl[@]}" -o json tokens create "web-$1" --role "$1" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])'
}
lead=$(token lead)
admin=$(token admin)
agent=$(token agent)

cd "$here"
DEBRIEF_URL="http://127.0.0.1:$http" DEBRIEF_LEAD_TOKEN="$lead" DEBRIEF_AGENT_TOKEN="$agent" \
  DEBRIEF_ADMIN_TOKEN="$admin" DEBRIEF_WEBHOOK_SECRET_FILE="$work/webhook-secret" \
  DEBRIEF_SCREENSHOTS="$build/tests/web/screenshots" DEBRIEF_NOTES_PEER="$notes" \
  DEBRIEF_CONFIG_FILE="$work/debrief.yaml" DEBRIEF_DATA_DIR="$work" \
  node --test --test-concurrency=1 insights.test.mjs admin.test.mjs
