#!/usr/bin/env bash
# The admins' console adding a Redmine tracker against the real Redmine of the e2e suite, in
# headless Chromium: debriefd (the build's) on a fresh store, an admin's API token, then
# adapters_redmine.test.mjs with the peers' Redmine (tests/e2e/peers.sh, the realpeers
# fixture). Screenshots land in BUILD/tests/web/screenshots.
#   tests/web/console_redmine.sh BUILD_DIR PEERS_ENV
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" && pwd)
set -a
# shellcheck disable=SC1090
source "$2"
set +a
work="$build/tests/web/console-redmine"
rm -rf "$work"
mkdir -p "$work"
source "$here/common.sh"
start_debriefd
admin=$("${ctl[@]}" -o json tokens create web-admin --role admin |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

cd "$here"
DEBRIEF_URL="http://127.0.0.1:$http" DEBRIEF_ADMIN_TOKEN="$admin" \
  DEBRIEF_SCREENSHOTS="$build/tests/web/screenshots" DEBRIEF_DATA_DIR="$work" \
  REDMINE_DEBRIEF_KEY="$(cat "$REDMINE_DEBRIEF_KEY_FILE")" \
  node --test --test-concurrency=1 adapters_redmine.test.mjs
