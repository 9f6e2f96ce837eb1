#!/usr/bin/env bash
# The agents' panel in a real browser: starts debriefd (the build's) on a fresh store with two
# helpdesks and the built-in tracker, sends it the sample tickets (and one of the same customer
# to the second helpdesk), makes an agent's API token, and runs sidebar.test.mjs in Debian's
# headless Chromium. Screenshots land in BUILD/tests/web/screenshots.
#   tests/web/run.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
work="$build/tests/web/run"
rm -rf "$work"
mkdir -p "$work/samples-shop"

# npm packages of the test (playwright-core, axe-core), from the lock file, once.
# (rt_page.sh, run by the e2e suite, may be installing them at the same time: one at a time.)
(
  exec 9>"$here/.npm-install.lock"
  flock 9
  if ! [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
)

ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r http grpc <<<"$ports"

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

# Maria, who wrote to support about logging in, also wrote to the shop.
python3 - "$root/deploy/samples/01-created-1001.json" "$work/samples-shop/01-created-S-77.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["ticket"].update(id="S-77", subject="Order arrived late",
                   description="My order took three weeks to arrive, the parcel was stuck.",
                   url="https://shop.example/tickets/S-77")
json.dump(t, open(sys.argv[2], "w"))
PY

"$build/plugin/debriefd" --config "$work/debrief.yaml" >"$work/debriefd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
ctl=("$build/plugin/debriefctl" --server "127.0.0.1:$grpc")
"$build/plugin/debriefctl" replay --config "$work/debrief.yaml" --helpdesk support \
  "$root/deploy/samples" >/dev/null
"$build/plugin/debriefctl" replay --config "$work/debrief.yaml" --helpdesk shop \
  "$work/samples-shop" >/dev/null

# Ticket 1001 is tagged and linked once the pipeline has read the samples.
for _ in $(seq 1 100); do
  "${ctl[@]}" tickets show support 1001 2>/dev/null | grep -q '"taskId"' && break
  sleep 0.1
done
token=$("${ctl[@]}" tokens create web-agent --role agent --helpdesk support |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

cd "$here"
DEBRIEF_URL="http://127.0.0.1:$http" DEBRIEF_AGENT_TOKEN="$token" DEBRIEF_TICKET=support/1001 \
  DEBRIEF_SCREENSHOTS="$build/tests/web/screenshots" DEBRIEF_OTHER_HELPDESK=shop \
  DEBRIEF_WEBHOOK_SECRET_FILE="$work/webhook-secret" \
  DEBRIEF_SIMILAR_SAMPLE="$root/deploy/samples/01-created-1001.json" \
  node --test sidebar.test.mjs
