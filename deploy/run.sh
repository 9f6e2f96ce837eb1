#!/usr/bin/env bash
# Installs what is missing, builds Debrief in Release and starts debriefd on the embedded
# default (SQLite, built-in tracker, default taxonomy) with deploy/debrief.example.yaml.
#   deploy/run.sh                 # foreground; Ctrl-C stops it gracefully
#   CONFIG=my.yaml deploy/run.sh  # another config
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

deploy/install-deps.sh build
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEBRIEF_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target debriefd debriefctl

# debriefd makes the webhook secret (var/webhook-secret) at its first start; debriefctl replay
# reads it from there.
config=${CONFIG:-deploy/debrief.example.yaml}
cat <<MSG
Starting debriefd with $config. In another terminal:
  # send the sample tickets, signed as the helpdesk would:
  build-release/plugin/debriefctl replay --config $config --helpdesk support deploy/samples
  # see what Debrief made of them:
  build-release/plugin/debriefctl tasks list
  build-release/plugin/debriefctl tickets show support 1001
MSG
exec build-release/plugin/debriefd --config "$config"
