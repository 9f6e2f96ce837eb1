#!/usr/bin/env bash
# Installs Debrief into a Request Tracker 5 (Debian's request-tracker5 package):
#   * the ticket custom field "Root cause", applied to the queue;
#   * the webhook scrip (deploy/apps/rt/debrief_webhook.pl) on the queue, stage TransactionBatch;
#   * RT_SiteConfig.d/60-debrief.pm with Debrief's webhook URL and the HMAC key.
# Re-runnable: the field is kept, the scrip is replaced.
#
#   sudo DEBRIEF_URL=http://127.0.0.1:8080/webhooks/rt DEBRIEF_SECRET_FILE=/etc/debrief/rt.key \
#        RT_QUEUE=General deploy/apps/rt/install.sh
# Then restart RT (settings are read at start).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${DEBRIEF_URL:?the URL debriefd receives this helpdesk's webhooks on, e.g. http://127.0.0.1:8080/webhooks/rt}"
: "${DEBRIEF_SECRET_FILE:?a file holding the HMAC key (the same key as the adapter's webhook_secret)}"
RT_QUEUE=${RT_QUEUE:-General}
RT_FIELD=${RT_FIELD:-Root cause}
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

RT_QUEUE=$RT_QUEUE RT_FIELD=$RT_FIELD perl -I"$RT_LIB" -MRT -e '
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
' "$here/debrief_webhook.pl"
echo "Debrief: settings in $conf; restart RT to load them"
