#!/usr/bin/env bash
# Installs the Debian 12 packages Debrief needs, in three groups:
#   deploy/install-deps.sh runtime   what debriefd and debriefctl link (a host that runs a build)
#   deploy/install-deps.sh build     runtime + the compiler, CMake and the -dev packages
#                                    (deploy/run.sh: build and run)
#   deploy/install-deps.sh test      build + what the test suites use (tests/run.sh); the default
# The Debian package declares its own runtime Depends (dpkg-shlibdeps), so `apt-get install
# ./debrief_*.deb` needs none of these. Idempotent: only missing packages are installed, so a
# second run costs a dpkg query.
set -euo pipefail

RUNTIME=(
  ca-certificates  # outbound TLS to the vendors' APIs
  libgrpc++1.51 libprotobuf32 libssl3 libcurl4 libsqlite3-0 libyaml-cpp0.7 libre2-9
  libabsl20220623 libprometheus-cpp-core1.0 libsimdjson14
  libpq5  # the PostgreSQL store's client library
)
BUILD=(
  build-essential cmake ninja-build pkg-config git curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev libboost-dev libboost-system-dev libcurl4-openssl-dev
  libsqlite3-dev sqlite3 libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev libre2-dev libabsl-dev
  libcli11-dev prometheus-cpp-dev openssl
  libpq-dev  # libpq's headers and pkg-config file (the PostgreSQL store)
  dpkg-dev  # dpkg-shlibdeps, for the package's Depends (cmake --build ... --target package)
  file      # CPack's DEB generator tells the binaries among the installed files with it
  nodejs    # esbuild bundles the agents' panel (plugin/web, npm packages from its lock file)
  help2man  # the manual pages, from the programs' --help
  python3   # the build's scripts (the panel's assets, the adapters' settings, the helpdesk apps)
)
TEST=(
  libgtest-dev libgmock-dev
  # python3 (in BUILD): exact binomial values computed independently (fractions, math.comb); docs tools
  chromium    # the panel's browser tests (tests/web: playwright-core drives Debian's chromium)
  prometheus  # promtool checks the /metrics exposition
  clang libclang-rt-14-dev  # the sanitizer build and the libFuzzer targets (tests/fuzz)
  clang-format  # the format check
  lintian     # the package test checks the .deb
  postgresql  # initdb and pg_ctl of the throwaway cluster the PostgreSQL store's tests use (tests/pg)
)

group=${1:-test}
case "$group" in
  runtime) PACKAGES=("${RUNTIME[@]}") ;;
  build) PACKAGES=("${RUNTIME[@]}" "${BUILD[@]}") ;;
  test) PACKAGES=("${RUNTIME[@]}" "${BUILD[@]}" "${TEST[@]}") ;;
  *)
    echo "usage: deploy/install-deps.sh [runtime|build|test]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# npm comes with some Node.js builds and is a package of its own in Debian's.
if [ "$group" != runtime ] && ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps ($group): all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps ($group): installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
