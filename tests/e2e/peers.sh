#!/usr/bin/env bash
# The real peers of the end-to-end tests: Request Tracker 5 (helpdesk) and Redmine 5 (tracker),
# Debian 12's own packages, SQLite, on 127.0.0.1 only. Written from the notes in
# shared/reference/realpeers (the pitfalls are named where they are worked around).
#
#   peers.sh install     apt-get install both (idempotent; tests/run.sh calls it)
#   peers.sh start DIR   configure and start both, make a fresh RT queue and Redmine project for
#                        this run, install Debrief into RT the way an admin does
#                        (deploy/apps/rt/install.sh, with the panel's RT-Extension-Debrief), add
#                        the RT agent "alice" who may see the queue's tickets, write DIR/peers.env
#   peers.sh stop DIR    stop both
#
# Ports (loopback): E2E_RT_PORT (18081), E2E_REDMINE_PORT (13000); RT's scrip posts to debriefd
# on E2E_DEBRIEF_PORT (18080).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cmd=${1:?usage: peers.sh install | start DIR | stop DIR}
RT_PORT=${E2E_RT_PORT:-18081}
RM_PORT=${E2E_REDMINE_PORT:-13000}
DEBRIEF_PORT=${E2E_DEBRIEF_PORT:-18080}
RT_URL=http://127.0.0.1:$RT_PORT
RM_URL=http://127.0.0.1:$RM_PORT
RT_LIB=/usr/share/request-tracker5/lib
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
t0=$(date +%s)
say() { echo "[peers +$(($(date +%s) - t0))s] $*"; }
# A pid file's process is alive (this container's PID 1 does not reap: a zombie is dead).
alive() { [ -s "$1" ] && [ -e "/proc/$(cat "$1")/status" ] && ! grep -q '^State:.*Z' "/proc/$(cat "$1")/status"; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
bundler_version() { dpkg-query -W -f='${Version}' ruby-bundler | sed 's/-.*//'; }

install() {
  local need_rt=0 need_rm=0
  installed request-tracker5 && installed rt5-db-sqlite && installed rt5-standalone || need_rt=1
  installed redmine && installed redmine-sqlite || need_rm=1
  if [ $need_rt = 0 ] && [ $need_rm = 0 ]; then
    echo "peers: Request Tracker 5 and Redmine 5 present"
    return
  fi
  # No daemon may start during apt (nullmailer, RT's web server): there is no init here.
  [ -e /usr/sbin/policy-rc.d ] || $SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d'
  $SUDO debconf-set-selections <<'SEL'
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/initial-root-password password e2e-root-password
request-tracker5 request-tracker5/rtname string debrief-e2e
request-tracker5 request-tracker5/organization string debrief-e2e
request-tracker5 request-tracker5/correspondaddress string rt@localhost
request-tracker5 request-tracker5/commentaddress string rt-comment@localhost
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/webpath string /rt
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean true
redmine redmine/current-instances string default
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/default-language select en
SEL
  $SUDO apt-get update -qq
  if [ $need_rt = 1 ]; then
    say "installing Request Tracker 5"
    # nullmailer only satisfies RT's MTA dependency: RT writes its mail to an mbox file here.
    $SUDO apt-get install -y -qq --no-install-recommends request-tracker5 rt5-db-sqlite \
      rt5-standalone nullmailer sqlite3 >/dev/null
  fi
  if [ $need_rm = 1 ]; then
    say "installing Redmine 5"
    $SUDO apt-get install -y -qq --no-install-recommends ruby-bundler ruby-webrick >/dev/null
    # Pitfall: bookworm-security's libruby3.1 brings a default bundler (2.3.27) that does not
    # count Debian's packaged gems as installed, and redmine's postinst fails with
    # "Could not find racc-1.6.2.gem". Debian's own ruby-bundler works: pin it.
    local pin
    pin=BUNDLER_VERSION=$(bundler_version)
    $SUDO env "$pin" apt-get install -y -qq --no-install-recommends redmine redmine-sqlite \
      >/dev/null 2>&1 || $SUDO env "$pin" dpkg --configure -a
    installed redmine || { echo "peers: redmine did not install" >&2; exit 1; }
  fi
  say "installed"
}

# Runs Perl against RT's own API (RT has no CLI for tokens, queues or users).
rt_perl() { perl -I"$RT_LIB" -MRT -e 'RT::LoadConfig(); RT::Init();'"$1" "${@:2}"; }

start_rt() {
  local dir=$1 queue=$2
  # Settings of this test instance. RT reads RT_SiteConfig.d in lexical order, so 99 wins over
  # the package's and deploy/apps/rt's 60-debrief.pm.
  $SUDO tee /etc/request-tracker5/RT_SiteConfig.d/99-debrief-e2e.pm >/dev/null <<EOF
Set(\$WebPath, "");
Set(\$WebDomain, "127.0.0.1");
Set(\$WebPort, $RT_PORT);
Set(\$WebBaseURL, "$RT_URL");
Set(\$CanonicalizeRedirectURLs, 1);
Set(\$LogToSyslog, undef);
Set(\$LogToSTDERR, "info");
Set(\$MailCommand, "mbox");
1;
EOF
  # A fresh queue per run, so an earlier run's tickets stay out of this one.
  rt_perl 'my $q = RT::Queue->new(RT->SystemUser);
    my ($ok, $msg) = $q->Create(Name => $ARGV[0], Description => "Debrief end-to-end");
    die "queue: $msg\n" unless $ok;' "$queue"
  # Debrief into RT exactly as the guide tells an admin: field, scrip, key, least-privileged
  # user, and the panel on ticket pages (its key is the rt adapter's settings.sidebar_key; the
  # panel's address is the webhook's less /webhooks/rt).
  [ -s "$dir/rt.key" ] || { head -c 32 /dev/urandom | base64 >"$dir/rt.key"; chmod 600 "$dir/rt.key"; }
  [ -s "$dir/rt-sidebar.key" ] ||
    { head -c 32 /dev/urandom | base64 >"$dir/rt-sidebar.key"; chmod 600 "$dir/rt-sidebar.key"; }
  DEBRIEF_URL=http://127.0.0.1:$DEBRIEF_PORT/webhooks/rt DEBRIEF_SECRET_FILE=$dir/rt.key \
    DEBRIEF_TOKEN_FILE=$dir/rt.debrief-token RT_QUEUE=$queue \
    DEBRIEF_SIDEBAR_KEY_FILE=$dir/rt-sidebar.key bash "$root/deploy/apps/rt/install.sh"
  # An agent who signs in through RT's login page and sees this queue's tickets (the rights of
  # an ordinary agent, nothing of Debrief's). A new password at each start.
  head -c 12 /dev/urandom | base64 | tr -d '/+=' >"$dir/rt.agent-password"
  chmod 600 "$dir/rt.agent-password"
  rt_perl 'my ($queue, $file) = @ARGV;
    my $pass = do { local $/; open my $f, "<", $file or die "$file: $!"; <$f> }; chomp $pass;
    my $q = RT::Queue->new(RT->SystemUser); $q->Load($queue) or die "no queue $queue\n";
    my $u = RT::User->new(RT->SystemUser); $u->Load("alice");
    unless ($u->Id) {
      my ($ok, $msg) = $u->Create(Name => "alice", RealName => "Alice Agent", Privileged => 1);
      die "user alice: $msg\n" unless $ok;
    }
    my ($ok, $msg) = $u->SetPassword($pass); die "password of alice: $msg\n" unless $ok;
    for my $right (qw(SeeQueue ShowTicket ShowTicketComments SeeCustomField)) {
      my ($ok, $msg) = $u->PrincipalObj->GrantRight(Right => $right, Object => $q);
      die "grant $right: $msg\n" unless $ok;
    }' "$queue" "$dir/rt.agent-password"
  # The test's own token (root) creates tickets as a customer's mail would. Made afresh at each
  # start, since a start from another build directory replaces root's token. (One token: RT
  # tries each token of a user per request, one bcrypt each.)
  rt_perl 'my $u = RT::User->new(RT->SystemUser); $u->Load("root");
    my $old = RT::AuthTokens->new(RT->SystemUser); $old->LimitOwner(VALUE => $u->Id);
    $_->Description eq "debrief e2e" and $_->Delete for @{ $old->ItemsArrayRef };
    my ($id, $msg, $auth) = RT::AuthToken->new(RT::CurrentUser->new($u))->Create(
      Owner => $u->Id, Description => "debrief e2e");
    die "token: $msg\n" unless $id; print $auth;' >"$dir/rt.root-token"
  # Settings are read at start: restart.
  stop_pid "$dir/rt.pid"
  pkill -f "rt-server --host 127.0.0.1 --port $RT_PORT" 2>/dev/null || true
  # --max-workers 2: each Starlet worker is about 215 MB resident.
  nohup /usr/share/request-tracker5/libexec/rt-server --host 127.0.0.1 --port "$RT_PORT" \
    --max-workers 2 >"$dir/rt.log" 2>&1 &
  echo $! >"$dir/rt.pid"
  wait_for "$dir/rt.pid" "$dir/rt.log" "Request Tracker" \
    curl -fs -o /dev/null -H "Authorization: token $(cat "$dir/rt.root-token")" "$RT_URL/REST/2.0/rt"
}

start_redmine() {
  local dir=$1 project=$2
  export BUNDLER_VERSION
  BUNDLER_VERSION=$(bundler_version)  # every bundle exec needs the pin (see install)
  local as_www=(setpriv --reuid www-data --regid www-data --init-groups env HOME=/var/lib/redmine
    BUNDLER_VERSION="$BUNDLER_VERSION" REDMINE_INSTANCE=default RAILS_ENV=production)
  if [ ! -s "$dir/redmine.admin-key" ] || [ ! -s "$dir/redmine.debrief-key" ]; then
    # There is no CLI to turn the REST API on: rails runner, before the server caches settings.
    chmod 777 "$dir"
    (cd /usr/share/redmine && "${as_www[@]}" OUT="$dir" bundle exec rails runner '
      Setting.rest_api_enabled = "1"
      admin = User.find_by_login("admin")
      admin.update_columns(must_change_passwd: false)
      bot = User.find_by_login("debrief") || User.create!(login: "debrief", firstname: "Debrief",
        lastname: "Bot", mail: "debrief@example.invalid", password: SecureRandom.hex(16))
      File.write(ENV["OUT"] + "/redmine.admin-key", admin.api_key)
      File.write(ENV["OUT"] + "/redmine.debrief-key", bot.api_key)' 2>"$dir/redmine-runner.log") ||
      { cat "$dir/redmine-runner.log" >&2; exit 1; }
    chmod 755 "$dir"
  fi
  if ! alive "$dir/redmine.pid" || ! curl -fs -o /dev/null "$RM_URL/users/current.json" \
    -H "X-Redmine-API-Key: $(cat "$dir/redmine.admin-key")"; then
    stop_pid "$dir/redmine.pid"
    pkill -f "rackup -E production -o 127.0.0.1 -p $RM_PORT" 2>/dev/null || true
    # Pitfall: webrick is not in Redmine's Gemfile, so `rails server` and the rackup of
    # README.Debian find no handler; loading it before Bundler works.
    (cd /usr/share/redmine && exec "${as_www[@]}" RUBYOPT=-rwebrick nohup rackup -E production \
      -o 127.0.0.1 -p "$RM_PORT" >"$dir/redmine.log" 2>&1) &
    echo $! >"$dir/redmine.pid"
    wait_for "$dir/redmine.pid" "$dir/redmine.log" Redmine \
      curl -fs -o /dev/null -H "X-Redmine-API-Key: $(cat "$dir/redmine.admin-key")" "$RM_URL/users/current.json"
  fi
  # A fresh project per run; the bot is a Developer in it (adds and edits issues, no admin).
  local admin=(-fsS -H "X-Redmine-API-Key: $(cat "$dir/redmine.admin-key")" -H 'Content-Type: application/json')
  curl "${admin[@]}" -o /dev/null -X POST "$RM_URL/projects.json" \
    -d "{\"project\":{\"name\":\"Support improvements $project\",\"identifier\":\"$project\",\"is_public\":false,\"enabled_module_names\":[\"issue_tracking\"]}}"
  local bot role
  bot=$(curl "${admin[@]}" "$RM_URL/users.json?name=debrief" | python3 -c 'import json,sys; print(json.load(sys.stdin)["users"][0]["id"])')
  role=$(curl "${admin[@]}" "$RM_URL/roles.json" | python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin)["roles"] if r["name"]=="Developer"][0])')
  curl "${admin[@]}" -o /dev/null -X POST "$RM_URL/projects/$project/memberships.json" \
    -d "{\"membership\":{\"user_id\":$bot,\"role_ids\":[$role]}}"
}

# wait_for PIDFILE LOG NAME CHECK...: up to 60 s for CHECK to pass while the process lives.
wait_for() {
  local pidfile=$1 log=$2 name=$3
  shift 3
  for _ in $(seq 1 240); do
    "$@" && { say "$name is up"; return; }
    alive "$pidfile" || { echo "peers: $name exited:" >&2; tail -30 "$log" >&2; exit 1; }
    sleep 0.25
  done
  echo "peers: $name did not answer in 60 s" >&2
  tail -30 "$log" >&2
  exit 1
}

stop_pid() {
  alive "$1" || return 0
  local pid
  pid=$(cat "$1")
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do alive "$1" || return 0; sleep 0.25; done
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
  install) install ;;
  start)
    dir=$(mkdir -p "$2" && cd "$2" && pwd)
    if ! installed request-tracker5 || ! installed redmine; then
      echo "peers: Request Tracker or Redmine is not installed; run tests/e2e/peers.sh install (tests/run.sh does)" >&2
      exit 1
    fi
    run=$(date +%s)
    start_rt "$dir" "Support-e2e-$run"
    start_redmine "$dir" "e2e-$run"
    cat >"$dir/peers.env" <<EOF
RT_URL=$RT_URL
RT_QUEUE=Support-e2e-$run
RT_ROOT_TOKEN_FILE=$dir/rt.root-token
RT_DEBRIEF_TOKEN_FILE=$dir/rt.debrief-token
RT_WEBHOOK_KEY_FILE=$dir/rt.key
RT_SIDEBAR_KEY_FILE=$dir/rt-sidebar.key
RT_AGENT=alice
RT_AGENT_PASSWORD_FILE=$dir/rt.agent-password
RT_LOG=$dir/rt.log
REDMINE_URL=$RM_URL
REDMINE_PROJECT=e2e-$run
REDMINE_ADMIN_KEY_FILE=$dir/redmine.admin-key
REDMINE_DEBRIEF_KEY_FILE=$dir/redmine.debrief-key
DEBRIEF_PORT=$DEBRIEF_PORT
EOF
    say "peers ready: $dir/peers.env"
    ;;
  stop)
    stop_pid "$2/rt.pid"
    stop_pid "$2/redmine.pid"
    ;;
  *) echo "usage: peers.sh install | start DIR | stop DIR" >&2; exit 2 ;;
esac
