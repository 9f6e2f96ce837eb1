# Debrief webhook scrip for Request Tracker 5 (the scrip's "Custom action commit code").
# Condition "On Transaction", action "User Defined", template "Blank", stage TransactionBatch:
# it runs once per request, after RT has committed the ticket, and POSTs one signed JSON
# document per transaction to Debrief. Installed by deploy/apps/rt/install.sh.
#
# Signature: X-Debrief-Signature: sha256=<hex HMAC-SHA256(key, "<X-Debrief-Timestamp>.<body>")>
# A failed POST is logged and dropped by RT (it has no retry queue); Debrief's reconciliation
# (TicketSQL LastUpdated >= watermark) catches those tickets up.
use HTTP::Tiny;
use JSON ();
use Digest::SHA qw(hmac_sha256_hex);

my $url = RT->Config->Get('DebriefWebhookURL') or return 1;
my $secret = RT->Config->Get('DebriefWebhookSecret');
unless (defined $secret && length $secret) {
  RT->Logger->error('Debrief webhook: $DebriefWebhookSecret is not set; nothing sent');
  return 1;
}
my $t = $self->TicketObj;
my @txns = $self->ScripObj->Stage(TicketObj => $t) eq 'TransactionBatch'
         ? @{ $t->TransactionBatch || [] } : ($self->TransactionObj);
my @requestors = map { { email => $_->EmailAddress // '', name => $_->Name // '',
                         real_name => $_->RealName // '' } }
                 @{ $t->Requestors->UserMembersObj->ItemsArrayRef };
my $owner = $t->OwnerObj;
my $http = HTTP::Tiny->new(timeout => 5);
my $json = JSON->new->utf8->canonical;
for my $txn (@txns) {
  next if $txn->Type eq 'EmailRecord' || $txn->Type eq 'CommentEmailRecord';
  my %p = (
    source => 'rt', event => $txn->Type, ticket_id => $t->Id + 0,
    transaction_id => $txn->Id + 0, queue => $t->QueueObj->Name, subject => $t->Subject,
    status => $t->Status, field => $txn->Field, old_value => $txn->OldValue,
    new_value => $txn->NewValue, creator => $txn->CreatorObj->Name,
    created => $txn->CreatedObj->W3CDTF, ticket_created => $t->CreatedObj->W3CDTF,
    last_updated => $t->LastUpdatedObj->W3CDTF, requestors => \@requestors,
    owner => { name => $owner->Name, real_name => $owner->RealName // '' },
  );
  if ($txn->Type eq 'CustomField') {
    my $cf = RT::CustomField->new(RT->SystemUser);
    $cf->Load($txn->Field);
    $p{custom_field} = $cf->Name;
  }
  if ($txn->Type =~ /^(?:Create|Correspond|Comment)$/) {
    my $c = $txn->Content;
    if (defined $c && $c ne 'This transaction appears to have no content') {
      $p{content} = $c;
      $p{content_type} = 'text/plain';
    }
  }
  my $body = $json->encode(\%p);
  my $ts = time;
  my $res = $http->post($url, {
    headers => {
      'Content-Type' => 'application/json',
      'X-RT-Event' => $txn->Type,
      'X-Debrief-Timestamp' => $ts,
      'X-Debrief-Delivery' => 'rt-' . $txn->Id,
      'X-Debrief-Signature' => 'sha256=' . hmac_sha256_hex("$ts.$body", $secret),
    },
    content => $body,
  });
  RT->Logger->warning('Debrief webhook: ticket ' . $t->Id . ' transaction ' . $txn->Id
                      . " -> $res->{status}; Debrief's reconciliation will catch it up")
    unless $res->{success};
}
return 1;
