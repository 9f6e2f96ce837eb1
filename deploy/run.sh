#!/usr/bin/env bash
# Installs what is missing, builds Debrief in Release and starts debriefd on the embedded
# default (SQLite, built-in tracker, default taxonomy) with deploy/debrief.example.yaml.
#   deploy/run.sh                 # foreground; Ctrl-C stops it gracefully
#   CONFIG=my.yaml deploy/run.sh  # another config
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

deploy/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEBRIEF_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target debriefd debriefctl

mkdir -p var
if [ -z "${DEBRIEF_WEBHOOK_SECRET:-}" ]; then
  # A random secret the first time, kept in var/ (never in the config or the logs).
  [ -s var/webhook-secret ] || (umask 077 && openssl rand -hex 32 > var/webhook-secret)
  export DEBRIEF_WEBHOOK_SECRET=$(cat var/webhook-secret)
fi

config=${CONFIG:-deploy/debrief.example.yaml}
cat <<MSG
Starting debriefd with $config. In another terminal:
  # send the sample tickets, signed as the helpdesk would:
  DEBRIEF_WEBHOOK_SECRET=\$(cat var/webhook-secret) build-release/plugin/debriefctl replay --config $config --helpdesk support deploy/samples
  # see what Debrief made of them:
  build-release/plugin/debriefctl tasks list
  build-release/plugin/debriefctl tickets show support 1001
MSG
exec build-release/plugin/debriefd --config "$config"
