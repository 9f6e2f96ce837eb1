#!/usr/bin/env bash
# Installs the deployment checks' npm packages (kubernetes-models, TypeScript, yaml) from the
# lock file, once. Needs Node.js and npm (deploy/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/kubernetes-models/package.json ] && [ -x node_modules/.bin/tsc ] &&
   [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
