#!/usr/bin/env bash
# Starts (or stops) the validating mocks the contract tests talk to: Prism serving GitHub's,
# Jira's and Redmine's API descriptions on free 127.0.0.1 ports, with --errors, so a request
# that breaks the description gets 4xx and an sl-violations header.
#   mocks.sh start DIR   prepares the specs in DIR, starts the mocks, writes DIR/mocks.env
#   mocks.sh stop DIR    stops them
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=$1
dir=$2
mkdir -p "$dir"

stop() {
  for f in "$dir"/*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi

prism="$here/node_modules/.bin/prism"
if [ ! -x "$prism" ]; then
  echo "mocks.sh: Prism is not installed; run tests/contract/setup.sh (tests/run.sh does)" >&2
  exit 1
fi
stop
python3 "$here/prepare_specs.py" "$dir" >/dev/null

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

: >"$dir/mocks.env"
for name in github jira redmine; do
  port=$(free_port)
  log="$dir/$name.log"
  "$prism" mock --host 127.0.0.1 --port "$port" --errors "$dir/$name.json" >"$log" 2>&1 &
  echo $! >"$dir/$name.pid"
  for _ in $(seq 1 600); do
    grep -q "Prism is listening" "$log" && break
    if ! kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
      echo "mocks.sh: Prism for $name exited:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -q "Prism is listening" "$log" || { echo "mocks.sh: Prism for $name did not start" >&2; exit 1; }
  echo "${name^^}_MOCK=http://127.0.0.1:$port" >>"$dir/mocks.env"
done
cat "$dir/mocks.env"
