#!/usr/bin/env bash
# The agents' panel in a real browser: starts debriefd (the build's) on a fresh store with two
# helpdesks and the built-in tracker, sends it the sample tickets (and one of the same customer
# to the second helpdesk), makes an agent's API token, and runs sidebar.test.mjs in Debian's
# headless Chromium. Screenshots land in BUILD/tests/web/screenshots. The tracker waits for
# releases (shipped_when: released), so the panel shows a fix before and after it ships.
#   tests/web/run.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
work="$build/tests/web/run"
rm -rf "$work"
mkdir -p "$work/samples-shop"

DEBRIEF_SHIPPED_WHEN=released
source "$here/common.sh"

# Maria, who wrote to support about logging in, also wrote to the shop.
python3 - "$root/deploy/samples/01-created-1001.json" "$work/samples-shop/01-created-S-77.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["ticket"].update(id="S-77", subject="Order arrived late",
                   description="My order took three weeks to arrive, the parcel was stuck.",
                   url="https://shop.example/tickets/S-77")
json.dump(t, open(sys.argv[2], "w"))
PY

start_debriefd
"$build/plugin/debriefctl" replay --config "$work/debrief.yaml" --helpdesk support \
  "$root/deploy/samples" >/dev/null
"$build/plugin/debriefctl" replay --config "$work/debrief.yaml" --helpdesk shop \
  "$work/samples-shop" >/dev/null

# Ticket 1001 is tagged and linked once the pipeline has read the samples.
for _ in $(seq 1 100); do
  "${ctl[@]}" tickets show support 1001 2>/dev/null | grep '"taskId"' >/dev/null && break  # whole: -q would end debriefctl by SIGPIPE
  sleep 0.1
done
token=$("${ctl[@]}" tokens create web-agent --role agent --helpdesk support |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

cd "$here"
DEBRIEF_URL="http://127.0.0.1:$http" DEBRIEF_AGENT_TOKEN="$token" DEBRIEF_TICKET=support/1001 \
  DEBRIEF_SCREENSHOTS="$build/tests/web/screenshots" DEBRIEF_OTHER_HELPDESK=shop \
  DEBRIEF_WEBHOOK_SECRET_FILE="$work/webhook-secret" \
  DEBRIEF_SIMILAR_SAMPLE="$root/deploy/samples/01-created-1001.json" \
  DEBRIEF_CTL_JSON="$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${ctl[@]}")" \
  node --test sidebar.test.mjs
