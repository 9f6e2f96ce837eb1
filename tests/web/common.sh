# What the browser tests share (sourced): the npm packages of the tests, and a debriefd (the
# build's) on a fresh store in $work with two generic helpdesks (support, shop) and the built-in
# tracker, stopped when the script exits. Needs $here, $root, $build and $work; sets $http,
# $grpc and ctl (debriefctl talking to it).

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

start_debriefd() {
  "$build/plugin/debriefd" --config "$work/debrief.yaml" >"$work/debriefd.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctl=("$build/plugin/debriefctl" --server "127.0.0.1:$grpc")
}
