#!/usr/bin/env bash
# Installs the Debian 12 packages Debrief needs to build, run and test.
# Idempotent: only missing packages are installed, so a second run costs a dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev libboost-dev libboost-system-dev libcurl4-openssl-dev
  libsqlite3-dev sqlite3 libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev libre2-dev libabsl-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev openssl prometheus-cpp-dev
  python3  # tests: exact binomial values computed independently (fractions, math.comb)
  nodejs   # tests: the contract tests' validating mocks (Prism, from npm; tests/contract)
  prometheus  # tests: promtool checks the /metrics exposition
  clang libclang-rt-14-dev  # tests: the sanitizer build and the libFuzzer targets (tests/fuzz)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm comes with some Node.js builds and is a package of its own in Debian's.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
