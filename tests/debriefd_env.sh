# A debriefd of the build for the tests driven from shell scripts (sourced): a fresh store in
# $work with two generic helpdesks (support, shop; the webhook secret in $work/webhook-secret)
# and the built-in tracker (tasks), on free ports. Needs $root, $build and $work; sets $http and
# $grpc, writes $work/debrief.yaml (a script may edit it before start_debriefd).

# What runs at exit: each script adds its own (on_exit 'kill $x'), start_debriefd stops debriefd.
exit_hooks=()
on_exit() { exit_hooks+=("$1"); }
run_exit_hooks() {
  local h
  for h in "${exit_hooks[@]}"; do eval "$h" || true; done
}
trap run_exit_hooks EXIT

# Before start_debriefd: the shop helpdesk writes each ticket's cause back to URL ({ticket_id}
# in it is the ticket's id), its other settings those of support.
shop_writes_back_to() {
  python3 - "$work/debrief.yaml" "$1" <<'PY'
import sys
path, url = sys.argv[1], sys.argv[2]
text = open(path).read()
shop = "  - id: shop\n    type: generic\n    settings: *generic\n"
assert shop in text
generic = text[text.index("    settings: &generic\n") + len("    settings: &generic\n"):
               text.index("  - id: shop")]
text = text.replace(shop, "  - id: shop\n    type: generic\n    settings:\n" + generic +
                    f"      write_back: {{url: \"{url}\"}}\n")
open(path, "w").write(text)
PY
}

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
    settings: {path: builtin-tracker.db, base_url: "http://127.0.0.1:$http/tasks/",
               shipped_when: ${DEBRIEF_SHIPPED_WHEN:-done}}
taxonomy: {file: $root/deploy/taxonomy/default.yaml}
link_policy: {open_after_tickets: 3, window: 7d}
pipeline: {poll_interval: 20ms}
loop: {impact_interval: 0s, status_poll_interval: 1s}
YAML

# Starts it and waits until it is ready (its log on failure); stop_debriefd runs at exit.
start_debriefd() {
  "$build/plugin/debriefd" --config "$work/debrief.yaml" >"$work/debriefd.log" 2>&1 &
  pid=$!
  on_exit stop_debriefd
  local ready=
  for _ in $(seq 1 200); do
    if curl -fsS "http://127.0.0.1:$http/readyz" >/dev/null 2>&1; then
      ready=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "debriefd did not get ready on 127.0.0.1:$http within 20 s; its log:" >&2
    cat "$work/debriefd.log" >&2
    return 1
  fi
  ctl=("$build/plugin/debriefctl" --server "127.0.0.1:$grpc" --token-file "$work/debriefctl.token")
}

stop_debriefd() {
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  fi
}
