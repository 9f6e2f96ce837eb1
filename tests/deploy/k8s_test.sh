#!/usr/bin/env bash
# The Kubernetes manifests (deploy/k8s) and the image's Dockerfile (deploy/docker), offline: every
# object valid against the Kubernetes API's OpenAPI description, the parts consistent with each
# other and with debrief.yaml (k8s_check.mjs), and the ConfigMap's debrief.yaml accepted by
# `debriefctl config check` with its secret files in place. No container engine and no cluster:
# the image itself is not built here.
# usage: tests/deploy/k8s_test.sh BUILD_DIR    (npm packages: tests/deploy/setup.sh)
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
debriefctl="$build/plugin/debriefctl"
[ -x "$debriefctl" ] || { echo "k8s_test.sh: no $debriefctl (build the plugin first)" >&2; exit 1; }
[ -f "$here/node_modules/kubernetes-models/package.json" ] ||
  { echo "k8s_test.sh: the npm packages are missing: run tests/deploy/setup.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/k8s_check.mjs" "$root" "$work"

# debriefctl loads the file, validates it (schema, listeners, store) and builds the helpdesk
# adapters with their secrets, as debriefd does at start.
if ! (cd "$work" && "$debriefctl" config check "$work/debrief.yaml") >"$work/check.out" 2>&1; then
  echo "k8s_test.sh: debriefctl config check refuses deploy/k8s/debrief.yaml (paths moved to $work):" >&2
  cat "$work/check.out" >&2
  exit 1
fi
grep -q '"postgres"' "$work/check.out" ||
  { echo "k8s_test.sh: the resolved config has no store.postgres:" >&2; cat "$work/check.out" >&2; exit 1; }
echo "k8s_test.sh: debriefctl config check accepts deploy/k8s/debrief.yaml"
