#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster (Debian's postgresql package) for the tests of the
# PostgreSQL store: listening on a Unix socket only, so any number of build trees and runs sit
# side by side without a port to clash on.
#
#   cluster.sh start DIR   stops and removes any cluster left in DIR, makes a fresh one
#                          (initdb), starts it, waits until it accepts connections and writes
#                          DIR/pg.env: DEBRIEF_TEST_PG=<libpq conninfo of the database postgres>
#   cluster.sh stop DIR    stops it and removes its data; nothing running is fine
#   cluster.sh restart DIR a fast shutdown and a start of its server (every connection drops)
#   cluster.sh halt DIR    stops its server and keeps the data (an outage; restart ends it)
#
# With DEBRIEF_PG_OWNER_PID set (tests/pg/test_postgres.cc, for the cluster of a test process of
# its own in a temporary DIR), start also leaves a watchdog that stops the cluster and removes DIR
# once that process is gone, however it ended (a timeout's kill runs no atexit handler).
#
# The role `debrief` is the cluster's superuser (it creates a database per test), with trust
# authentication on the socket. fsync stays on: the store's durability is under test.
#
# initdb refuses to run as root: as root the server runs as Debian's `postgres` system user,
# which then owns DIR. The socket is DIR/.s.PGSQL.5432; when that path would be too long for a
# Unix socket (about 107 bytes), holds characters a conninfo would have to quote, or `postgres`
# cannot reach DIR, the cluster lives in a short directory under /tmp instead, named in DIR/home.
set -euo pipefail

usage() {
  echo "usage: tests/pg/cluster.sh start DIR | stop DIR | restart DIR | halt DIR" >&2
  exit 2
}
cmd=${1:-}
case "$cmd $#" in "start 2" | "stop 2" | "restart 2" | "halt 2" | "watch 3") ;; *) usage ;; esac
self=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")

# A process is alive (this container's PID 1 does not reap: a zombie is dead, though kill -0
# would still reach it).
proc_alive() { [ -e "/proc/$1/status" ] && ! grep -q '^State:.*Z' "/proc/$1/status"; }

if [ "$cmd" = watch ]; then  # the watchdog (see above): cluster.sh watch PID DIR
  while proc_alive "$2"; do sleep 1; done
  if [ -d "$3" ]; then
    bash "$self" stop "$3" >/dev/null 2>&1 || true
    rm -rf "$3"
  fi
  exit 0
fi

PG_BIN=${DEBRIEF_PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=5432
mkdir -p "$2"
dir=$(cd "$2" && pwd -P)
cd /  # the server's user may not be able to read the caller's working directory

say() { echo "cluster.sh: $*"; }
die() {
  echo "cluster.sh: $*" >&2
  exit 1
}

as_owner=()
owner=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  getent passwd postgres >/dev/null ||
    die "running as root, but there is no 'postgres' system user to run the server as (apt-get install postgresql)"
  as_owner=(runuser -u postgres --)
  owner=postgres
fi
run() { "${as_owner[@]}" "$@"; }

# The postmaster of a data directory is alive.
alive() {
  local pidfile=$1/postmaster.pid pid
  [ -s "$pidfile" ] || return 1
  pid=$(head -1 "$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid"
}

# Where the cluster of DIR lives: DIR itself, or the directory under /tmp that DIR/home names
# (only a name this script makes is believed: stop removes that directory).
home_of() {
  local home
  if [ -s "$dir/home" ]; then
    home=$(cat "$dir/home")
    [[ $home =~ ^/tmp/debrief-pg\.[A-Za-z0-9]+$ ]] || die "$dir/home names $home, not a cluster of this script's"
    echo "$home"
  else
    echo "$dir"
  fi
}

stop_cluster() {
  local home data
  home=$(home_of)
  data=$home/data
  # Immediate shutdown: the data is removed next, so the shutdown checkpoint of a fast one
  # would only fsync files about to go (seconds per run, a second per few databases made).
  if [ -d "$data" ] && alive "$data"; then
    run "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null ||
      die "could not stop the server of $data (pid $(head -1 "$data/postmaster.pid"))"
  fi
  # A killed postmaster leaves its socket's lock file, naming a pid a zombie may still hold.
  rm -rf "$data" "$dir/pg.env" "$home/.s.PGSQL.$PORT" "$home/.s.PGSQL.$PORT.lock"
  if [ "$home" != "$dir" ]; then
    rm -rf "$home"
    rm -f "$dir/home" "$dir/server.log"  # the log was a link into it
  fi
}

# A fast shutdown and a start, as an operator's restart or a failover: every connection is
# dropped, and the clients must connect again.
# `halt` stops the server and keeps its data, as an outage would; `restart` starts it again.
if [ "$cmd" = restart ] || [ "$cmd" = halt ]; then
  home=$(home_of)
  [ -d "$home/data" ] || die "no cluster in $home"
  if [ "$cmd" = halt ]; then
    alive "$home/data" || die "no server runs in $home/data"
    run "$PG_BIN/pg_ctl" -D "$home/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      die "the server of $home/data did not stop"
    say "halted ($dir)"
    exit 0
  fi
  run "$PG_BIN/pg_ctl" -D "$home/data" -l "$home/server.log" -m fast -w -t 60 restart >/dev/null 2>&1 ||
    die "the server of $home/data did not (re)start"
  say "restarted ($dir)"
  exit 0
fi

if [ "$cmd" = stop ]; then
  stop_cluster
  say "stopped ($dir)"
  exit 0
fi

[ -x "$PG_BIN/initdb" ] ||
  die "$PG_BIN/initdb is missing: install Debian's postgresql package (deploy/install-deps.sh test)"

# A stale cluster (an earlier run that was killed, or a start without a stop) goes first.
stop_cluster
rm -f "$dir/server.log"

home=$dir
socket=$dir/.s.PGSQL.$PORT
reason=""
if [ ${#socket} -gt 100 ]; then
  reason="the socket path $socket is too long for a Unix socket"
elif ! [[ $dir =~ ^[A-Za-z0-9/._+-]+$ ]]; then
  reason="$dir has characters a conninfo would have to quote"
elif [ "$owner" != "$(id -un)" ]; then
  chown "$owner:" "$dir"
  run test -w "$dir" -a -x "$dir" || reason="$owner cannot reach $dir"
fi
if [ -n "$reason" ]; then
  home=$(mktemp -d /tmp/debrief-pg.XXXXXX)
  echo "$home" >"$dir/home"
  [ "$owner" = "$(id -un)" ] || chown "$owner:" "$home"
  say "$reason: the cluster lives in $home"
fi
data=$home/data
log=$home/server.log
[ "$home" = "$dir" ] || ln -sfn "$log" "$dir/server.log"

if [ -n "${DEBRIEF_PG_OWNER_PID:-}" ]; then
  [[ $DEBRIEF_PG_OWNER_PID =~ ^[0-9]+$ ]] || die "DEBRIEF_PG_OWNER_PID=$DEBRIEF_PG_OWNER_PID is not a pid"
  # Its own session: a Ctrl-C to the tests' process group must not end the watchdog first.
  setsid -f bash "$self" watch "$DEBRIEF_PG_OWNER_PID" "$dir" </dev/null >/dev/null 2>&1
fi

fail() {
  echo "cluster.sh: $*" >&2
  if [ -s "$log" ]; then
    echo "--- server log ($log) ---" >&2
    tail -50 "$log" >&2
  fi
  exit 1
}

# --no-sync: only initdb's own final flush of the template files; the server keeps fsync on.
if ! out=$(run "$PG_BIN/initdb" -D "$data" --username=debrief --auth=trust --no-locale \
  --encoding=UTF8 --no-sync --no-instructions 2>&1); then
  echo "$out" >&2
  fail "initdb failed"
fi
cat >>"$data/postgresql.conf" <<EOF

# tests/pg/cluster.sh: a throwaway cluster on a Unix socket only.
listen_addresses = ''
unix_socket_directories = '$home'
port = $PORT
shared_buffers = 16MB
max_connections = 100
fsync = on
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
EOF

run "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1 ||
  fail "the server did not start"
"$PG_BIN/pg_isready" -q -h "$home" -p "$PORT" -U debrief -d postgres -t 30 ||
  fail "the server does not accept connections on $home"

echo "DEBRIEF_TEST_PG=host=$home port=$PORT user=debrief dbname=postgres" >"$dir/pg.env"
say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on $home/.s.PGSQL.$PORT ($dir/pg.env)"
