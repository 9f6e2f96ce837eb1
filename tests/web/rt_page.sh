#!/usr/bin/env bash
# Runs rt_page.test.mjs (the panel inside RT's ticket page, in headless Chromium) with the npm
# packages of tests/web installed from their lock file. The e2e suite calls it with RT_URL,
# RT_USER, RT_PASSWORD_FILE, RT_TICKET, DEBRIEF_CAUSE and DEBRIEF_SCREENSHOTS set.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(
  exec 9>"$here/.npm-install.lock"
  flock 9
  if ! [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
)
exec node --test "$here/rt_page.test.mjs"
