use strict;
use warnings;

package RT::Extension::Debrief;

our $VERSION = '0.1.0';

use Digest::SHA qw(hmac_sha256_hex);
use Encode ();
use URI::Escape ();

=head1 NAME

RT::Extension::Debrief - Debrief's agents' panel on Request Tracker's ticket page

=head1 DESCRIPTION

Adds a box titled "Debrief" at the top of the right column of each ticket's page
(F<Ticket/Display.html>), for agents who may see the ticket (the ShowTicket right). The box
holds a frame with Debrief's panel: the ticket's root cause, the improvement task it is linked
to, the customer's journey and similar open tickets.

Debrief has no access to RT's sessions, so the page signs the agent in: it holds a hidden form
with the agent's RT user name, the ticket's id and an expiry five minutes ahead, signed with
HMAC-SHA256 under a key that RT and Debrief share, and a few lines of JavaScript post it into
the frame (C<POST $DebriefURL/app/signin/$DebriefHelpdeskId>). Debrief checks the signature
and the expiry, and the page it answers with keeps its own short session in memory. The
signature is never part of a URL.

Debrief must list RT's origin in its C<Content-Security-Policy: frame-ancestors>: it does for
the C<rt> helpdesk whose C<settings.url> is RT's address and whose C<settings.sidebar_key> is
set.

=head1 INSTALLATION

F<deploy/apps/rt/install.sh> in Debrief's repository copies this directory to RT's local
plugins directory (F</usr/local/share/request-tracker5/plugins/RT-Extension-Debrief> with
Debian's C<request-tracker5>), writes the settings below to
F<RT_SiteConfig.d/60-debrief.pm> and clears Mason's cache: run it with
C<DEBRIEF_SIDEBAR_KEY_FILE> set, then restart RT. By hand, do the same three things.

=head1 CONFIGURATION

    Plugin('RT::Extension::Debrief');
    Set($DebriefURL, 'https://debrief.example.com');   # as agents' browsers reach debriefd
    Set($DebriefHelpdeskId, 'rt');                      # the helpdesk's id in debrief.yaml
    Set($DebriefSidebarKey, '...');                     # settings.sidebar_key, 32 bytes or more

=over

=item C<$DebriefURL>

Debrief's address as agents' browsers reach it (not necessarily the address RT's webhook
scrip posts to). With RT on https, Debrief must be on https too, or browsers block the frame.

=item C<$DebriefHelpdeskId>

The C<id> of this RT in Debrief's C<helpdesks:> list. Default C<rt>.

=item C<$DebriefSidebarKey>

The key of the C<rt> helpdesk's C<settings.sidebar_key> in F<debrief.yaml>, byte for byte
(a trailing newline of the file is not part of it). With C<{file: rt-sidebar-key, create:
true}> debriefd makes it in its data_dir at its first start. It is not shown on RT's
configuration pages.

=back

Without C<$DebriefURL> or C<$DebriefSidebarKey> (or with a key shorter than 32 bytes, which
Debrief would refuse) the box is not shown, and each RT process logs one warning.

=head1 AUTHOR

Debrief contributors

=head1 LICENSE

GPL version 2, as Request Tracker.

=cut

# How long a signed form is good for: enough for a slow page, short enough that a form copied
# out of a page is soon worthless. Debrief accepts at most an hour.
our $SignInLifetime = 300;

# Keep the keys off RT's configuration pages (Admin > Tools > System Configuration) and out of
# its web editor.
for my $name (qw(DebriefSidebarKey DebriefWebhookSecret)) {
    no warnings 'once';
    my $meta = $RT::Config::META{$name} ||= {};
    $meta->{Immutable} = 1;
    $meta->{Invisible} = 1;
    $meta->{Obfuscate} = sub {
        my ($config, $value, $user) = @_;
        return $user->loc('Password not printed');
    };
}

my %warned;

sub _WarnOnce {
    my $what = shift;
    return if $warned{$what}++;
    RT->Logger->warning("RT::Extension::Debrief: $what; the Debrief panel is not shown");
}

# The settings, checked; undef (with a warning, once per process) when the panel cannot work.
sub Settings {
    my $url = RT->Config->Get('DebriefURL');
    my $key = RT->Config->Get('DebriefSidebarKey');
    my $helpdesk = RT->Config->Get('DebriefHelpdeskId');
    $helpdesk = 'rt' unless defined $helpdesk && length $helpdesk;
    unless (defined $url && $url =~ m{^https?://[^/]}i) {
        _WarnOnce('$DebriefURL is not set to an http(s) URL');
        return;
    }
    $key = Encode::encode('UTF-8', $key) if defined $key && utf8::is_utf8($key);
    unless (defined $key && length $key >= 32) {
        _WarnOnce('$DebriefSidebarKey is not set or shorter than 32 bytes');
        return;
    }
    $url =~ s{/+\z}{};
    return { url => $url, key => $key, helpdesk => $helpdesk };
}

=head1 METHODS

=head2 SignInForm(User => $name, Ticket => $id)

The sign-in for one agent and ticket: a hash reference with C<action> (the URL to post to)
and C<fields> (an array reference of name/value pairs: C<user>, C<ticket>, C<expires>,
C<signature>), or nothing when the extension is not configured. C<signature> is the
lowercase hex HMAC-SHA256 of C<"user\nticket\nexpires"> (UTF-8) under C<$DebriefSidebarKey>.

=cut

sub SignInForm {
    my ($class, %args) = @_;
    my $settings = $class->Settings or return;
    my $expires = int($args{Now} // time) + $SignInLifetime;
    my $message = join "\n", $args{User}, $args{Ticket}, $expires;
    return {
        action => "$settings->{url}/app/signin/"
            . URI::Escape::uri_escape_utf8($settings->{helpdesk}),
        fields => [
            user      => $args{User},
            ticket    => $args{Ticket},
            expires   => $expires,
            signature => hmac_sha256_hex(Encode::encode('UTF-8', $message), $settings->{key}),
        ],
    };
}

1;
