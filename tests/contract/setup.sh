#!/usr/bin/env bash
# Installs the contract mocks' npm packages (Prism, GitHub's API description) from the lock
# file, once. Needs Node.js and npm (deploy/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")"
if [ -x node_modules/.bin/prism ] && [ -f node_modules/@octokit/openapi/package.json ] &&
   [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
