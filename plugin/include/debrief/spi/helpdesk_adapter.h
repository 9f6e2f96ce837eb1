#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "debrief/v1/model.pb.h"

namespace debrief::spi {

// A webhook delivery as it arrived. Header names are lower-cased.
struct InboundDelivery {
  std::map<std::string, std::string> headers;
  absl::string_view body;
  absl::Time received_at;
};

// What the ingress learns from a delivery before acknowledging it.
struct AcceptedDelivery {
  // The vendor's delivery id, or a digest of the body where the vendor sends none. Two
  // deliveries with the same key are the same delivery: the second is acknowledged and dropped.
  std::string delivery_key;
  // Where the signature covers a timestamp, so that every sending is signed anew: a digest of
  // the signed message (timestamp and body). The same signed message seen again within the
  // replay window is a replay, whatever delivery id it comes with, and is answered as a
  // duplicate. Empty where the vendor signs no timestamp (a resend could not be told apart).
  std::string replay_key;
};

// Normalising a delivery gives an event, or a reason to ignore it.
struct NormalizeResult {
  std::optional<v1::TicketEvent> event;
  std::string ignored_reason;  // set when event is empty
};

// A note or reply Debrief adds to a ticket when closing the loop.
struct TicketNote {
  std::string idempotency_key;  // the same key never posts twice
  std::string body;
  bool is_public = false;  // a reply the customer sees; internal notes are never public
  std::vector<std::string> add_tags;
};

// A ticket listed from the helpdesk's API, in the form the adapter's Normalize reads. The
// adapter marks such deliveries with the header kListedHeader so Normalize knows the shape.
struct ListedDelivery {
  std::string delivery_key;  // the ticket and its update time: a re-listing is a duplicate
  std::map<std::string, std::string> headers;
  std::string body;
};

inline constexpr char kListedHeader[] = "x-debrief-listed";

// One page of tickets updated since a watermark, oldest first.
struct TicketPage {
  std::vector<ListedDelivery> deliveries;
  // Where to continue: pass it to the next ListTickets call. Opaque to the core, which stores
  // it after the page's deliveries are durable, so an interrupted listing resumes here.
  std::string next_cursor;
  bool more = false;   // false: caught up; next_cursor is the watermark for the next poll
  int64_t total = -1;  // tickets the whole listing holds, where the helpdesk says (progress)
};

// An agent's sign-in as the helpdesk's sidebar sends it: the fields of the form it POSTs to
// debriefd's /app/signin/{helpdesk}, as the helpdesk adapter defines them (a signed URL's
// `token`, a JWT; an extension's `user`, `ticket`, `expires` and `signature`).
struct AgentProof {
  std::map<std::string, std::string> fields;
  absl::Time now;
};

// Who the helpdesk says is signed in.
struct VerifiedAgent {
  std::string name;       // the agent (e-mail, login or the helpdesk's user id)
  std::string ticket_id;  // the ticket the proof was made for, where it names one
  // The proof names the helpdesk's installation, not a person (reading, correcting and
  // linking; not opening tasks).
  bool installation_only = false;
};

// The helpdesk side of Debrief: turns webhooks into tickets and writes results back.
// Implementations are final, built only by their factory, and thread-safe: the methods are
// called concurrently from these threads (their names as `top -H` shows them):
//   Accept               http-N, on the hot path of every webhook: no I/O, no blocking
//   Normalize            pipeline and pipeline-ahead, at once: pure
//   WriteBack, PostNote  executor
//   ListTickets          reconciler, and backfill (one per running backfill)
//   Check                the API's threads (gRPC callbacks, HTTP)
//   VerifyAgent          api-N, on every sidebar sign-in: no I/O
//   SignDelivery         debriefctl replay and tests
// Status codes: spi::IsRetryable ones (status.h) delay the work and it is tried again,
// honouring spi::RetryAfter; any other failure is final for that action (a dead letter).
class HelpdeskAdapter {
 public:
  virtual ~HelpdeskAdapter() = default;

  virtual const std::string& id() const = 0;
  virtual const std::string& type() const = 0;

  // Verifies the signature (in constant time) and that the body is well formed, and returns
  // the delivery key. Errors become the HTTP answer, and the delivery is not stored:
  //   UNAUTHENTICATED   -> 401 (missing, wrong or stale signature)
  //   INVALID_ARGUMENT  -> 400 (malformed body, missing ticket id)
  virtual absl::StatusOr<AcceptedDelivery> Accept(const InboundDelivery& delivery) const = 0;

  // Turns a stored, accepted delivery into a ticket event. Pure: no I/O, no state, since the
  // pipeline calls it from two threads at once (a batch and the read-ahead of the next).
  // INVALID_ARGUMENT dead-letters the delivery; an event type the adapter does not handle is
  // not an error but an ignored_reason.
  virtual absl::StatusOr<NormalizeResult> Normalize(const InboundDelivery& delivery) const = 0;

  // Writes the classification (and the linked task, if any) back to the ticket: the
  // helpdesk's native tag or field, and an internal note. Never public. Must be idempotent.
  virtual absl::Status WriteBack(const v1::Ticket& ticket, const v1::Classification& c,
                                 const v1::ImprovementTask* task) = 0;

  // Adds an internal note (or, with is_public, a reply to the customer) and tags to the
  // ticket. Idempotent by note.idempotency_key; errors as for WriteBack.
  virtual absl::Status PostNote(const v1::Ticket& ticket, const TicketNote& note) = 0;

  // The headers the helpdesk itself would send with this body, signed with the configured
  // secret. Used by `debriefctl replay` and by tests. UNIMPLEMENTED for vendors whose
  // deliveries cannot be reproduced.
  virtual absl::StatusOr<std::map<std::string, std::string>> SignDelivery(absl::string_view body,
                                                                          absl::Time now) const = 0;

  // Checks configuration and connectivity, with a message an admin can act on.
  virtual absl::Status Check() = 0;

  // Verifies the helpdesk's proof of its signed-in agent (in constant time where a secret is
  // compared): UNAUTHENTICATED with the reason when it does not hold (bad signature, expired,
  // made for another installation or place), UNIMPLEMENTED where the helpdesk signs none or
  // its adapter has no sign-in configured.
  virtual absl::StatusOr<VerifiedAgent> VerifyAgent(const AgentProof& proof) const {
    (void)proof;
    return absl::UnimplementedError(
        absl::StrCat("helpdesk type ", type(), " signs in no agents here; use an API token"));
  }
  // The origins whose pages show Debrief's sidebar in a frame ("https://support.example.com"):
  // the Content-Security-Policy's frame-ancestors. Empty where the helpdesk frames nothing.
  virtual std::vector<std::string> FrameOrigins() const { return {}; }

  // Lists tickets updated at or after `since` (an empty cursor) or from where a previous page
  // left off. Used to reconcile webhooks lost while Debrief was down, and to import history.
  // Errors as for WriteBack. UNIMPLEMENTED where the helpdesk has no listing API.
  virtual absl::StatusOr<TicketPage> ListTickets(const std::string& cursor, absl::Time since) {
    (void)cursor;
    (void)since;
    return absl::UnimplementedError(
        absl::StrCat("helpdesk type ", type(), " cannot list tickets; reconciliation is off"));
  }
};

}  // namespace debrief::spi
