#!/usr/bin/env bash
# Installs Debrief into a Request Tracker 5 (Debian's request-tracker5 package):
#   * the ticket custom field "Root cause", applied to the queue;
#   * the webhook scrip (deploy/apps/rt/debrief_webhook.pl) on the queue, stage TransactionBatch;
#   * RT_SiteConfig.d/60-debrief.pm with Debrief's webhook URL and the HMAC key;
#   * with DEBRIEF_TOKEN_FILE set: the user "debrief" (RT_USER), privileged, time zone UTC,
#     with only the rights Debrief needs on the queue, and a new auth token of it in that file
#     (mode 0600), for the adapter's settings.token.
# Re-runnable: the field and the user are kept, the scrip is replaced, a token file that still
# works is kept (else the old Debrief tokens are revoked and a new one written).
#
#   sudo DEBRIEF_URL=http://127.0.0.1:8080/webhooks/rt DEBRIEF_SECRET_FILE=/etc/debrief/rt.key \
#        DEBRIEF_TOKEN_FILE=/etc/debrief/rt.token RT_QUEUE=General deploy/apps/rt/install.sh
# Then restart RT (settings are read at start).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${DEBRIEF_URL:?the URL debriefd receives this helpdesk's webhooks on, e.g. http://127.0.0.1:8080/webhooks/rt}"
: "${DEBRIEF_SECRET_FILE:?a file holding the HMAC key (the same key as the adapter's webhook_secret)}"
RT_QUEUE=${RT_QUEUE:-General}
RT_FIELD=${RT_FIELD:-Root cause}
RT_USER=${RT_USER:-debrief}
DEBRIEF_TOKEN_FILE=${DEBRIEF_TOKEN_FILE:-}
RT_LIB=${RT_LIB:-/usr/share/request-tracker5/lib}
RT_SITE_DIR=${RT_SITE_DIR:-/etc/request-tracker5/RT_SiteConfig.d}

[ -s "$DEBRIEF_SECRET_FILE" ] || { echo "install.sh: $DEBRIEF_SECRET_FILE is empty or missing" >&2; exit 1; }
secret=$(tr -d '\n' < "$DEBRIEF_SECRET_FILE")
[ "${#secret}" -ge 16 ] || { echo "install.sh: use a key of at least 16 characters" >&2; exit 1; }

# The key is stored for RT only (root:www-data 0640), never printed.
conf="$RT_SITE_DIR/60-debrief.pm"
umask 027
perl -e 'my ($u, $s) = @ARGV; $s =~ s/([\\"\$\@])/\\$1/g; $u =~ s/([\\"\$\@])/\\$1/g;
  print "Set(\$DebriefWebhookURL, \"$u\");\nSet(\$DebriefWebhookSecret, \"$s\");\n1;\n"' \
  "$DEBRIEF_URL" "$secret" > "$conf"
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
