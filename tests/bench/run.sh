#!/usr/bin/env bash
# All of Debrief's benchmarks, one command. Builds in Release (build-bench/), installs the
# comparison tools from Debian's archive, and prints tables a person can compare.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
deploy/install-deps.sh
missing=()
for p in python3-sklearn fasttext bc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEBRIEF_BUILD_TESTS=ON >/dev/null
cmake --build build-bench --target debrief_classify_bench debriefd debriefctl
echo "## Classifier ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
tests/bench/classify.sh "$root/build-bench"
