#!/usr/bin/env bash
# The Debian package, installed and used as an admin would (ctest label `package`):
#   tests/package/package_test.sh BUILD_DIR
# Builds debrief_<version>_amd64.deb with CPack, checks it with lintian (no errors), installs it
# with apt-get (which pulls its Depends), runs the systemd unit's ExecStart as an unprivileged
# user with the installed config (systemd does not run here, so the unit's command line is run
# directly, as StateDirectory= and DynamicUser= would set it up; systemd-analyze verifies the
# unit), replays the installed samples with the installed debriefctl, waits for a task, stops
# debriefd with SIGTERM and purges the package. Needs root (exit 77, skipped, otherwise).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "package test: skipped, installing a package needs root"
  exit 77
fi
export DEBIAN_FRONTEND=noninteractive
work="$build/package-test"
user=debrief-pkgtest
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  dpkg --purge debrief >/dev/null 2>&1 || true
  userdel "$user" >/dev/null 2>&1 || true
}
trap cleanup EXIT
step() { echo "package test: $*"; }

rm -rf "$work"
mkdir -p "$work"
step "building the package"
(cd "$build" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/debrief_*_amd64.deb)
step "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb --contents "$deb" >"$work/contents.txt"
for f in ./usr/bin/debriefd ./usr/bin/debriefctl ./etc/debrief/debrief.yaml \
         ./usr/share/debrief/taxonomy/default.yaml ./usr/share/debrief/samples/01-created-1001.json \
         ./usr/share/debrief/apps/rt/install.sh ./usr/share/debrief/apps/rt/debrief_webhook.pl \
         ./lib/systemd/system/debriefd.service ./usr/share/doc/debrief/copyright; do
  grep -q " $f\$" "$work/contents.txt" || { echo "package test: $f is not in the package" >&2; exit 1; }
done
depends=$(dpkg-deb --field "$deb" Depends)
step "Depends: $depends"
for unwanted in gtest gmock libbenchmark nodejs clang; do
  case "$depends" in *"$unwanted"*) echo "package test: depends on $unwanted" >&2; exit 1 ;; esac
done
dpkg-deb --field "$deb" Conffiles 2>/dev/null | grep -q /etc/debrief/debrief.yaml ||
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -q /etc/debrief/debrief.yaml ||
  { echo "package test: /etc/debrief/debrief.yaml is not a conffile" >&2; exit 1; }

step "lintian"
# (lintian's own status decides; a clean package prints nothing for grep to keep.)
rc=0
lintian --fail-on error --tag-display-limit 0 "$deb" >"$work/lintian.raw" 2>&1 || rc=$?
{ grep -v "running with root privileges" "$work/lintian.raw" || true; } | tee "$work/lintian.txt"
if [ "$rc" -ne 0 ]; then
  echo "package test: lintian found errors" >&2
  exit 1
fi

step "installing"
dpkg --purge debrief >/dev/null 2>&1 || true
rm -rf /var/lib/debrief
apt-get install -y -qq "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
unit=/lib/systemd/system/debriefd.service
if command -v systemd-analyze >/dev/null 2>&1; then
  step "systemd-analyze verify"
  systemd-analyze verify "$unit" 2>&1 | tee "$work/verify.txt"
  if grep -qi "debriefd.service" "$work/verify.txt"; then
    echo "package test: systemd-analyze has something to say about the unit" >&2
    exit 1
  fi
fi

# What systemd would do for the unit: a user of its own (DynamicUser=), its state directory
# (StateDirectory=, 0700), the working directory, then ExecStart as that user.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
state=/var/lib/$(sed -n 's/^StateDirectory=//p' "$unit")
[ "$exec_start" = "/usr/bin/debriefd --config /etc/debrief/debrief.yaml" ] ||
  { echo "package test: unexpected ExecStart=$exec_start" >&2; exit 1; }
for port in 8080 9090; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "package test: port $port is taken; the installed config listens there" >&2
    exit 1
  fi
done
useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
install -d -o "$user" -g "$user" -m 0700 "$state"
step "starting the unit's command line as $user (systemd is not running here): $exec_start"
(cd "$workdir" && exec setpriv --reuid="$user" --regid="$user" --clear-groups --no-new-privs \
   $exec_start) >"$work/debriefd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/debriefd.log"; echo "package test: debriefd exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS http://127.0.0.1:8080/readyz >/dev/null || { cat "$work/debriefd.log"; exit 1; }
if su -s /bin/sh "$user" -c "touch /etc/debrief/written-by-debriefd" 2>/dev/null; then
  echo "package test: /etc is writable to debriefd's user" >&2
  exit 1
fi
[ -s "$state/webhook-secret" ] || { echo "package test: no webhook secret in $state" >&2; exit 1; }
[ "$(stat -c %a "$state/webhook-secret")" = 600 ] || { echo "package test: the secret is not 0600" >&2; exit 1; }

step "replaying the installed samples with the installed debriefctl"
/usr/bin/debriefctl replay --config /etc/debrief/debrief.yaml --helpdesk support \
  /usr/share/debrief/samples >"$work/replay.log" 2>&1 || { cat "$work/replay.log"; exit 1; }
found=""
for _ in $(seq 1 150); do
  # Read whole, then searched: grep -q stopping early would end debriefctl by SIGPIPE.
  if listed=$(/usr/bin/debriefctl tasks list 2>/dev/null) && grep -q '"external_id"' <<<"$listed"; then
    found=1
    break
  fi
  sleep 0.2
done
[ -n "$found" ] || { /usr/bin/debriefctl tasks list; cat "$work/debriefd.log"; echo "package test: no task" >&2; exit 1; }
step "a task: $(/usr/bin/debriefctl tasks list | awk '/"title"/ && !n++ { sub(/^ */, ""); print }')"

step "stopping with SIGTERM"
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=""
[ "$status" = 0 ] || { cat "$work/debriefd.log"; echo "package test: debriefd exited with $status" >&2; exit 1; }

step "purging"
dpkg --purge debrief >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; exit 1; }
for gone in /usr/bin/debriefd /etc/debrief/debrief.yaml /lib/systemd/system/debriefd.service "$state"; do
  [ ! -e "$gone" ] || { echo "package test: $gone is still there after purge" >&2; exit 1; }
done
step "ok"
