#!/usr/bin/env bash
# Checks Debrief's helpdesk apps (deploy/apps/zendesk, deploy/apps/freshdesk) against their
# vendors' documented rules and builds each package.sh's zip: exits non-zero on any failure.
#   tests/apps/check_apps.sh            (from anywhere; python3, and node with plugin/web's
#                                        packages for the Freshdesk package, else those skip)
# DEBRIEF_APPS_REQUIRE_WEB=1 fails instead of skipping when plugin/web's packages are missing.
set -euo pipefail
exec python3 "$(cd "$(dirname "$0")" && pwd)/check_apps.py" "$@"
