#!/usr/bin/env bash
# Installs Debrief into a Request Tracker 5 (Debian's request-tracker5 package):
#   * the ticket custom field "Root cause", applied to the queue;
#   * the webhook scrip (deploy/apps/rt/debrief_webhook.pl) on the queue, stage TransactionBatch;
#   * RT_SiteConfig.d/60-debrief.pm with Debrief's webhook URL and the HMAC key;
#   * with DEBRIEF_TOKEN_FILE set: the user "debrief" (RT_USER), privileged, time zone UTC,
#     with only the rights Debrief needs on the queue, and a new auth token of it in that file
#     (mode 0600), for the adapter's settings.token;
#   * with DEBRIEF_SIDEBAR_KEY_FILE set: the agents' panel on each ticket's page, the extension
#     deploy/apps/rt/RT-Extension-Debrief copied to RT's local plugins dir (RT_PLUGIN_DIR),
#     Mason's compiled pages cleared, and in 60-debrief.pm Plugin('RT::Extension::Debrief') with
#     $DebriefURL (DEBRIEF_PANEL_URL: debriefd as agents' browsers reach it; default DEBRIEF_URL
#     less /webhooks/<id>), $DebriefHelpdeskId (DEBRIEF_HELPDESK_ID; default that <id>, else rt)
#     and $DebriefSidebarKey (the file's key, the adapter's settings.sidebar_key: 32 bytes or
#     more; a trailing newline is not part of it, as for debriefd).
# Re-runnable: the field and the user are kept, the scrip and the extension are replaced, a
# token file that still works is kept (else the old Debrief tokens are revoked and a new one
# written).
#
#   sudo DEBRIEF_URL=http://127.0.0.1:8080/webhooks/rt DEBRIEF_SECRET_FILE=/etc/debrief/rt.key \
#        DEBRIEF_TOKEN_FILE=/etc/debrief/rt.token RT_QUEUE=General \
#        DEBRIEF_SIDEBAR_KEY_FILE=/var/lib/debrief/rt-sidebar-key \
#        DEBRIEF_PANEL_URL=https://debrief.example.com deploy/apps/rt/install.sh
# Then restart RT (settings are read at start).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${DEBRIEF_URL:?the URL debriefd receives this helpdesk's webhooks on, e.g. http://127.0.0.1:8080/webhooks/rt}"
: "${DEBRIEF_SECRET_FILE:?a file holding the HMAC key (the same key as the adapter's webhook_secret)}"
RT_QUEUE=${RT_QUEUE:-General}
RT_FIELD=${RT_FIELD:-Root cause}
RT_USER=${RT_USER:-debrief}
DEBRIEF_TOKEN_FILE=${DEBRIEF_TOKEN_FILE:-}
DEBRIEF_SIDEBAR_KEY_FILE=${DEBRIEF_SIDEBAR_KEY_FILE:-}
RT_LIB=${RT_LIB:-/usr/share/request-tracker5/lib}
RT_SITE_DIR=${RT_SITE_DIR:-/etc/request-tracker5/RT_SiteConfig.d}
RT_PLUGIN_DIR=${RT_PLUGIN_DIR:-/usr/local/share/request-tracker5/plugins}
RT_MASON_DATA=${RT_MASON_DATA:-/var/cache/request-tracker5/mason_data}

[ -s "$DEBRIEF_SECRET_FILE" ] || { echo "install.sh: $DEBRIEF_SECRET_FILE is empty or missing" >&2; exit 1; }
secret=$(tr -d '\n' < "$DEBRIEF_SECRET_FILE")
[ "${#secret}" -ge 16 ] || { echo "install.sh: use a key of at least 16 characters" >&2; exit 1; }

sidebar_key=""
if [ -n "$DEBRIEF_SIDEBAR_KEY_FILE" ]; then
  [ -s "$DEBRIEF_SIDEBAR_KEY_FILE" ] ||
    { echo "install.sh: $DEBRIEF_SIDEBAR_KEY_FILE is empty or missing" >&2; exit 1; }
  # As debriefd reads a {file: ...} secret: trailing newlines are not part of the key.
  sidebar_key=$(cat "$DEBRIEF_SIDEBAR_KEY_FILE")
  while [[ $sidebar_key == *[$'\r\n'] ]]; do sidebar_key=${sidebar_key%?}; done
  [ "${#sidebar_key}" -ge 32 ] ||
    { echo "install.sh: use a sidebar key of at least 32 characters (as debriefd does)" >&2; exit 1; }
  if [[ $DEBRIEF_URL =~ ^(https?://.+)/webhooks/([^/?#]+)/?$ ]]; then
    DEBRIEF_PANEL_URL=${DEBRIEF_PANEL_URL:-${BASH_REMATCH[1]}}
    DEBRIEF_HELPDESK_ID=${DEBRIEF_HELPDESK_ID:-${BASH_REMATCH[2]}}
  fi
  : "${DEBRIEF_PANEL_URL:?debriefd as the browsers of agents reach it, e.g. https://debrief.example.com}"
  DEBRIEF_HELPDESK_ID=${DEBRIEF_HELPDESK_ID:-rt}
  # The extension, replaced as a whole; readable by RT's web server. Mason keeps compiled pages
  # across restarts (static_source): cleared, so a changed callback is read again.
  ext="$RT_PLUGIN_DIR/RT-Extension-Debrief"
  install -d -m 0755 "$RT_PLUGIN_DIR"
  rm -rf "$ext.new"
  cp -R "$here/RT-Extension-Debrief" "$ext.new"
  chmod -R u=rwX,go=rX "$ext.new"
  rm -rf "$ext"
  mv "$ext.new" "$ext"
  rm -rf "$RT_MASON_DATA/obj"
fi

# The keys are stored for RT only (root:www-data 0640), never printed nor put on a command line.
conf="$RT_SITE_DIR/60-debrief.pm"
umask 027
DEBRIEF_URL=$DEBRIEF_URL secret=$secret sidebar_key=$sidebar_key \
  DEBRIEF_PANEL_URL=${DEBRIEF_PANEL_URL:-} DEBRIEF_HELPDESK_ID=${DEBRIEF_HELPDESK_ID:-} perl -e '
  sub str { my $s = shift; $s =~ s/([\\"\$\@])/\\$1/g; "\"$s\"" }
  print "Set(\$DebriefWebhookURL, ", str($ENV{DEBRIEF_URL}), ");\n",
        "Set(\$DebriefWebhookSecret, ", str($ENV{secret}), ");\n";
  print "Plugin(\"RT::Extension::Debrief\");\n",
        "Set(\$DebriefURL, ", str($ENV{DEBRIEF_PANEL_URL}), ");\n",
        "Set(\$DebriefHelpdeskId, ", str($ENV{DEBRIEF_HELPDESK_ID}), ");\n",
        "Set(\$DebriefSidebarKey, ", str($ENV{sidebar_key}), ");\n" if length $ENV{sidebar_key};
  print "1;\n";' > "$conf"
chgrp www-data "$conf" 2>/dev/null || true
chmod 0640 "$conf"

if [ -n "$DEBRIEF_TOKEN_FILE" ] && [ ! -e "$DEBRIEF_TOKEN_FILE" ]; then
  (umask 077; : >"$DEBRIEF_TOKEN_FILE")
fi
RT_QUEUE=$RT_QUEUE RT_FIELD=$RT_FIELD RT_USER=$RT_USER DEBRIEF_TOKEN_FILE=$DEBRIEF_TOKEN_FILE perl -I"$RT_LIB" -MRT -e '
  RT::LoadConfig(); RT::Init();
  my $code = do { local $/; open my $f, "<", $ARGV[0] or die "$ARGV[0]: $!"; <$f> };
  my $q = RT::Queue->new(RT->SystemUser);
  $q->Load($ENV{RT_QUEUE}) or die "no queue $ENV{RT_QUEUE}\n";
  my $cf = RT::CustomField->new(RT->SystemUser);
  $cf->LoadByName(Name => $ENV{RT_FIELD}, LookupType => RT::Ticket->CustomFieldLookupType);
  unless ($cf->Id) {
    my ($ok, $msg) = $cf->Create(Name => $ENV{RT_FIELD}, Type => "FreeformSingle",
      LookupType => RT::Ticket->CustomFieldLookupType,
      Description => "Root cause, set by Debrief");
    die "custom field: $msg\n" unless $ok;
  }
  unless ($cf->IsAdded($q->Id)) {
    my ($ok, $msg) = $cf->AddToObject($q);
    die "apply custom field: $msg\n" unless $ok;
  }
  my $scrips = RT::Scrips->new(RT->SystemUser);
  $scrips->Limit(FIELD => "Description", VALUE => "Debrief webhook");
  $_->Delete for @{ $scrips->ItemsArrayRef };
  my $s = RT::Scrip->new(RT->SystemUser);
  my ($ok, $msg) = $s->Create(Description => "Debrief webhook", Queue => $q->Id,
    Stage => "TransactionBatch", ScripCondition => "On Transaction",
    ScripAction => "User Defined", Template => "Blank", CustomIsApplicableCode => "",
    CustomPrepareCode => "return 1;", CustomCommitCode => $code);
  die "scrip: $msg\n" unless $ok;
  print "Debrief: field \"$ENV{RT_FIELD}\" on queue $ENV{RT_QUEUE}, webhook scrip #", $s->Id, "\n";
  if (RT->Config->Get("DebriefSidebarKey")) {  # RT::Init loaded the extension: it compiles
    my $form = RT::Extension::Debrief->SignInForm(User => "root", Ticket => 1)
      or die "the Debrief panel is not configured (see the warning above)\n";
    print "Debrief: the panel on ticket pages (RT::Extension::Debrief ",
          $RT::Extension::Debrief::VERSION, "), signing in at $form->{action}\n";
  }
  exit 0 unless $ENV{DEBRIEF_TOKEN_FILE};
  # The API user: reads tickets and their history, sets the field, comments (and replies when
  # the close-the-loop policy answers customers). Nothing else.
  my $u = RT::User->new(RT->SystemUser);
  $u->Load($ENV{RT_USER});
  unless ($u->Id) {
    my ($ok, $msg) = $u->Create(Name => $ENV{RT_USER}, RealName => "Debrief",
      Privileged => 1, Comments => "Debrief (root-cause tagging); deploy/apps/rt/install.sh");
    die "user $ENV{RT_USER}: $msg\n" unless $ok;
  }
  $u->SetPrivileged(1) unless $u->Privileged;
  # TicketSQL reads dates in the time zone of the API user; Debrief sends UTC.
  $u->SetTimezone("UTC") unless ($u->Timezone // "") eq "UTC";
  for my $right (qw(SeeQueue ShowTicket ShowTicketComments SeeCustomField ModifyCustomField
                    CommentOnTicket ReplyToTicket)) {
    next if $u->PrincipalObj->HasRight(Right => $right, Object => $q);
    my ($ok, $msg) = $u->PrincipalObj->GrantRight(Right => $right, Object => $q);
    die "grant $right: $msg\n" unless $ok;
  }
  # One token: RT checks a request against each token of the user in turn, one bcrypt
  # (about 0.2 s of CPU) each, so a re-run keeps a token file that still works and otherwise
  # replaces the old Debrief tokens instead of piling up new ones.
  my $have = do { local $/; open my $f, "<", $ENV{DEBRIEF_TOKEN_FILE}; <$f> } // "";
  $have =~ s/\s+//g;
  my ($owner, $clear) = length $have ? RT::AuthToken->ParseAuthString($have) : ();
  my ($kept, $dropped) = (0, 0);
  my $tokens = RT::AuthTokens->new(RT->SystemUser);
  $tokens->LimitOwner(VALUE => $u->Id);
  for my $t (@{ $tokens->ItemsArrayRef }) {
    if (!$kept && $owner && $owner == $u->Id && $t->IsToken($clear)) { $kept = 1; next; }
    next unless $t->Description eq "Debrief";
    my ($ok, $msg) = $t->Delete;
    die "revoke an old Debrief token: $msg\n" unless $ok;
    ++$dropped;
  }
  if ($kept) {
    print "Debrief: user $ENV{RT_USER} with its rights on queue $ENV{RT_QUEUE}; its token in ",
          "$ENV{DEBRIEF_TOKEN_FILE} still works", ($dropped ? " ($dropped old ones revoked)" : ""), "\n";
    exit 0;
  }
  my $tok = RT::AuthToken->new(RT->SystemUser);  # no ManageAuthTokens right for the user
  my ($id, $msg, $secret) = $tok->Create(Owner => $u->Id, Description => "Debrief");
  die "auth token: $msg\n" unless $id;
  open my $out, ">", $ENV{DEBRIEF_TOKEN_FILE} or die "$ENV{DEBRIEF_TOKEN_FILE}: $!\n";
  print $out $secret;
  close $out;
  print "Debrief: user $ENV{RT_USER} with its rights on queue $ENV{RT_QUEUE}; a new token in ",
        "$ENV{DEBRIEF_TOKEN_FILE}", ($dropped ? " ($dropped old ones revoked)" : ""), "\n";
' "$here/debrief_webhook.pl"
echo "Debrief: settings in $conf; restart RT to load them"
