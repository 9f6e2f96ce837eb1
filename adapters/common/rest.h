#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/form.h"
#include "debrief/spi/adapter_factory.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/http_client.h"
#include "debrief/v1/config.pb.h"
#include "debrief/v1/model.pb.h"
#include "nlohmann/json.hpp"

// What every vendor adapter does with HTTP: call an API and read its answer the same way.
namespace debrief::adapters {

// Sends a request to a vendor API and turns the answer into a status the core acts on:
//   2xx                       -> the response
//   429, 403 with Retry-After
//   or X-RateLimit-Remaining 0 -> RESOURCE_EXHAUSTED, retried after Retry-After / rate-limit
//                                reset (a minute when neither is sent)
//   5xx, no answer            -> UNAVAILABLE, retried (Retry-After honoured when sent)
//   401, 403                  -> PERMISSION_DENIED naming the credential to check
//   404                       -> NOT_FOUND
//   other 4xx                 -> FAILED_PRECONDITION with the vendor's message
// `what` names the operation in errors ("Zendesk: update ticket 12"). Errors never carry
// request headers (credentials).
absl::StatusOr<spi::HttpResponse> Call(spi::HttpClient& http, const spi::HttpRequest& request,
                                       absl::string_view what, absl::Time now);

// A client-side write budget: at most `limit` writes per `window` for each key (one key for
// GitHub's 80 content-creating requests a minute; one per issue for Jira's per-issue write
// limits). Take() answers RESOURCE_EXHAUSTED carrying the wait when the window is spent, so
// the executor retries later instead of earning the vendor's secondary rate limit.
class WriteBudget {
 public:
  WriteBudget(int limit, absl::Duration window) : limit_(limit), window_(window) {}
  absl::Status Take(const std::string& key, absl::Time now, absl::string_view what);

 private:
  const int limit_;
  const absl::Duration window_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::deque<absl::Time>> spent_;
};

// A vendor's answer per key (a repository's releases), read again once older than `fresh`: the
// reads of one poll share it. Thread-safe; a failed read is not kept.
class FreshCache {
 public:
  explicit FreshCache(absl::Duration fresh) : fresh_(fresh) {}
  absl::StatusOr<nlohmann::json> Get(const std::string& key, absl::Time now,
                                     const std::function<absl::StatusOr<nlohmann::json>()>& read);

 private:
  const absl::Duration fresh_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::pair<absl::Time, nlohmann::json>> kept_;
};

// How Call() reads an answer already received: OK for 2xx, else the status described above.
absl::Status AnswerStatus(const spi::HttpResponse& answer, absl::string_view what, absl::Time now);

// Call() for a JSON API: the answer as an object (an empty answer, as to many writes, is an
// empty object), or as a list.
absl::StatusOr<nlohmann::json> CallJson(spi::HttpClient& http, const spi::HttpRequest& request,
                                        absl::string_view what, absl::Time now);
absl::StatusOr<nlohmann::json> CallJsonList(spi::HttpClient& http, const spi::HttpRequest& request,
                                            absl::string_view what, absl::Time now);

// The secret a ref names, or empty when the setting is absent (optional secrets such as a
// tracker's webhook secret; without it the adapter refuses that tracker's webhooks).
absl::StatusOr<std::string> SecretIfSet(bool set, const v1::SecretRef& ref,
                                        const spi::AdapterContext& ctx);

// Retry-After as delta-seconds or an HTTP-date; RateLimit-Reset (seconds) and
// X-RateLimit-Reset (Unix time) where Retry-After is absent.
std::optional<absl::Duration> RetryDelay(const spi::HttpResponse& response, absl::Time now);

// Paging a listing ordered by update time without losing tickets that move while it runs
// (offset paging skips them): each page asks for tickets updated at or after the watermark,
// which moves to the newest ticket on the page; tickets in that second are listed again and
// deduplicated by their delivery keys. Only when a whole page shares one second does the page
// number grow. Cursor text: "<unix seconds>|<page>".
struct KeysetCursor {
  absl::Time watermark;
  int page = 1;
};
absl::StatusOr<KeysetCursor> ParseKeysetCursor(const std::string& cursor, absl::Time since);
// The cursor after a page whose newest ticket was updated at `newest`; sets *more.
std::string NextKeysetCursor(const KeysetCursor& at, absl::Time newest, bool full_page, bool* more);

// A request to a vendor's JSON API: Accept (and, with a body, Content-Type) JSON, the given
// Authorization (none when empty: the caller adds its vendor's own header), a 20 s time-out.
spi::HttpRequest JsonRequest(absl::string_view method, std::string url,
                             const std::string& authorization);

// A normalised event of this type for this ticket.
spi::NormalizeResult TicketEventOf(v1::TicketEventType type, v1::Ticket ticket);

// An ISO 8601 / RFC 3339 time, or nothing when empty or unreadable.
std::optional<absl::Time> ParseTime(const std::string& text);
// A calendar day ("2026-12-10", a release date) as its midnight UTC, or nothing.
std::optional<absl::Time> ParseDay(const std::string& text);
// Sets *out from such a time; leaves it unset when the text is empty or unreadable.
void SetTime(const std::string& text, google::protobuf::Timestamp* out);

// A ticket listed from a helpdesk's API, keyed by its id and update time (a re-listing of
// the same state is a duplicate), with its JSON as the body.
spi::ListedDelivery ListedTicket(const std::string& ticket_id, const std::string& updated_at,
                                 std::string body);

std::string UrlEncode(absl::string_view s);
// Form-encoded bodies (base/form.h).
using base::FormField;
using base::UrlDecode;
std::string BasicAuth(absl::string_view user, absl::string_view password);

// Notes Debrief writes carry an invisible marker (an HTML comment) derived from their
// idempotency key, so a retry after an unknown outcome finds the note it already wrote.
std::string NoteId(absl::string_view idempotency_key);      // 24 hex characters
std::string NoteMarker(absl::string_view idempotency_key);  // <!-- debrief-note:ID -->
// Plain text as HTML (escaped, line breaks kept), with the marker appended.
std::string NoteHtml(absl::string_view text, absl::string_view idempotency_key);

// The internal note written back with a classification: the root cause and the linked task.
std::string WriteBackNote(const v1::Classification& c, const v1::ImprovementTask* task);
// The key of that note: one per ticket, cause and task.
std::string WriteBackKey(const v1::Ticket& t, const v1::Classification& c,
                         const v1::ImprovementTask* task);
// The tag that carries a root cause in helpdesks with free-form tags: prefix + category id,
// lower-case, characters outside [a-z0-9_-] as '_'.
std::string CauseTag(absl::string_view prefix, absl::string_view category_id);

}  // namespace debrief::adapters
