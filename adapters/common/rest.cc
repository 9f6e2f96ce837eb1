#include "common/rest.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/text_clean.h"
#include "base/time_util.h"
#include "common/json_util.h"
#include "common/signature.h"
#include "debrief/spi/adapter_factory.h"
#include "settings/settings.h"

namespace debrief::adapters {

std::optional<absl::Duration> RetryDelay(const spi::HttpResponse& r, absl::Time now) {
  std::string ra(absl::StripAsciiWhitespace(r.Header("retry-after")));
  int64_t n = 0;
  if (!ra.empty()) {
    if (absl::SimpleAtoi(ra, &n)) return absl::Seconds(std::max<int64_t>(n, 0));
    absl::Time when;
    std::string err;
    if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", ra, absl::UTCTimeZone(), &when, &err))
      return std::max(when - now, absl::ZeroDuration());
  }
  if (absl::SimpleAtoi(r.Header("ratelimit-reset"), &n)) return absl::Seconds(n);
  if (absl::SimpleAtoi(r.Header("x-ratelimit-reset"), &n)) {
    // Unix time at some vendors, seconds to wait at others: a small number is a delay.
    if (n < 1000000000) return absl::Seconds(n);
    return std::max(absl::FromUnixSeconds(n) - now, absl::ZeroDuration());
  }
  return std::nullopt;
}

namespace {

// "scheme://host[:port]" of a URL.
std::string Origin(absl::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return "";
  size_t end = url.find('/', scheme + 3);
  return std::string(url.substr(0, end));
}

}  // namespace

absl::StatusOr<spi::HttpResponse> Call(spi::HttpClient& http, const spi::HttpRequest& request,
                                       absl::string_view what, absl::Time now) {
  spi::HttpRequest req = request;
  auto res = http.Send(req);
  // A renamed repository or moved issue answers with a redirect: followed (credentials kept)
  // only within the same origin, at most three times.
  for (int hops = 0; res.ok() && hops < 3; ++hops) {
    const int st = res->status;
    if (st != 301 && st != 302 && st != 307 && st != 308) break;
    const std::string to = res->Header("location");
    if (to.empty() || Origin(to) != Origin(req.url)) break;
    req.url = to;
    if (st == 302 && req.method != "GET") break;  // only 307/308 keep a write's method
    res = http.Send(req);
  }
  if (!res.ok())
    return absl::Status(res.status().code(), absl::StrCat(what, ": ", res.status().message()));
  if (absl::Status s = AnswerStatus(*res, what, now); !s.ok()) return s;
  return res;
}

absl::Status AnswerStatus(const spi::HttpResponse& answer, absl::string_view what, absl::Time now) {
  if (answer.status >= 200 && answer.status < 300) return absl::OkStatus();
  std::string excerpt = answer.body.substr(0, 300);
  absl::StrReplaceAll({{"\n", " "}, {"\r", " "}}, &excerpt);
  std::string msg = absl::StrCat(what, ": HTTP ", answer.status);
  // GitHub (and others) answer an exceeded rate limit with 403 plus Retry-After or a spent
  // X-RateLimit-Remaining: that is a wait, not a permission problem.
  const bool limited_403 = answer.status == 403 && (!answer.Header("retry-after").empty() ||
                                                    answer.Header("x-ratelimit-remaining") == "0");
  if (answer.status == 429 || limited_403) {
    absl::Status s = absl::ResourceExhaustedError(absl::StrCat(msg, " (rate limited)"));
    return spi::WithRetryAfter(s, RetryDelay(answer, now).value_or(absl::Minutes(1)));
  }
  if (answer.status >= 500) {
    absl::Status s = absl::UnavailableError(msg);
    if (auto d = RetryDelay(answer, now)) return spi::WithRetryAfter(s, *d);
    return s;
  }
  if (answer.status == 401 || answer.status == 403)
    return absl::PermissionDeniedError(
        absl::StrCat(msg, ": the API credential is wrong or lacks permission",
                     excerpt.empty() ? "" : absl::StrCat(" (", excerpt, ")")));
  if (answer.status == 404) return absl::NotFoundError(msg);
  return absl::FailedPreconditionError(absl::StrCat(msg, ": ", excerpt));
}

absl::StatusOr<nlohmann::json> CallJson(spi::HttpClient& http, const spi::HttpRequest& request,
                                        absl::string_view what, absl::Time now) {
  auto res = Call(http, request, what, now);
  if (!res.ok()) return res.status();
  if (absl::StripAsciiWhitespace(res->body).empty()) return nlohmann::json::object();
  return ParseObject(res->body, absl::StrCat(what, ": the answer"));
}

absl::StatusOr<nlohmann::json> CallJsonList(spi::HttpClient& http, const spi::HttpRequest& request,
                                            absl::string_view what, absl::Time now) {
  auto res = Call(http, request, what, now);
  if (!res.ok()) return res.status();
  nlohmann::json doc = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array()) return absl::InternalError(absl::StrCat(what, ": not a JSON list"));
  return doc;
}

absl::StatusOr<std::string> SecretIfSet(bool set, const v1::SecretRef& ref,
                                        const spi::AdapterContext& ctx) {
  if (!set) return std::string();
  return settings::ResolveSecret(ref, ctx);
}

absl::StatusOr<nlohmann::json> FreshCache::Get(
    const std::string& key, absl::Time now,
    const std::function<absl::StatusOr<nlohmann::json>()>& read) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = kept_.find(key);
    if (it != kept_.end() && now - it->second.first < fresh_) return it->second.second;
  }
  auto got = read();  // unlocked: a slow vendor holds up no other key
  if (!got.ok()) return got.status();
  std::lock_guard<std::mutex> l(mu_);
  kept_[key] = {now, *got};
  return got;
}

absl::Status WriteBudget::Take(const std::string& key, absl::Time now, absl::string_view what) {
  if (limit_ <= 0) return absl::OkStatus();
  std::lock_guard<std::mutex> l(mu_);
  std::deque<absl::Time>& q = spent_[key];
  while (!q.empty() && q.front() <= now - window_) q.pop_front();
  if (static_cast<int>(q.size()) >= limit_)
    return spi::WithRetryAfter(
        absl::ResourceExhaustedError(absl::StrCat(what, ": holding back to stay within ", limit_,
                                                  " writes per ", absl::FormatDuration(window_))),
        q.front() + window_ - now);
  q.push_back(now);
  return absl::OkStatus();
}

absl::StatusOr<KeysetCursor> ParseKeysetCursor(const std::string& cursor, absl::Time since) {
  KeysetCursor c{since, 1};
  if (cursor.empty()) return c;
  std::vector<std::string> parts = absl::StrSplit(cursor, '|');
  int64_t secs = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &secs) ||
      !absl::SimpleAtoi(parts[1], &c.page) || c.page < 1)
    return absl::InvalidArgumentError(absl::StrCat("bad listing cursor \"", cursor, "\""));
  c.watermark = absl::FromUnixSeconds(secs);
  return c;
}

std::string NextKeysetCursor(const KeysetCursor& at, absl::Time newest, bool full_page,
                             bool* more) {
  *more = full_page;
  const int64_t w = absl::ToUnixSeconds(at.watermark), n = absl::ToUnixSeconds(newest);
  if (full_page && n <= w) return absl::StrCat(w, "|", at.page + 1);
  return absl::StrCat(std::max(n, w), "|1");
}

spi::HttpRequest JsonRequest(absl::string_view method, std::string url,
                             const std::string& authorization) {
  spi::HttpRequest req;
  req.method = std::string(method);
  req.url = std::move(url);
  if (!authorization.empty()) req.headers.emplace_back("Authorization", authorization);
  req.headers.emplace_back("Accept", "application/json");
  if (method != "GET") req.headers.emplace_back("Content-Type", "application/json");
  req.timeout = absl::Seconds(20);
  return req;
}

spi::NormalizeResult TicketEventOf(v1::TicketEventType type, v1::Ticket ticket) {
  spi::NormalizeResult r;
  r.event.emplace();
  r.event->set_type(type);
  *r.event->mutable_ticket() = std::move(ticket);
  return r;
}

std::optional<absl::Time> ParseTime(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto t = base::ParseTimestamp(text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::optional<absl::Time> ParseDay(const std::string& text) {
  absl::Time day;
  std::string err;
  if (text.size() != 10 || !absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &day, &err))
    return std::nullopt;
  return day;
}

void SetTime(const std::string& text, google::protobuf::Timestamp* out) {
  if (auto t = ParseTime(text)) base::SetTimestamp(out, *t);
}

spi::ListedDelivery ListedTicket(const std::string& ticket_id, const std::string& updated_at,
                                 std::string body) {
  spi::ListedDelivery d;
  d.delivery_key = absl::StrCat("list:", ticket_id, ":", updated_at);
  d.headers["content-type"] = "application/json";
  d.body = std::move(body);
  return d;
}

std::string UrlEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string BasicAuth(absl::string_view user, absl::string_view password) {
  return absl::StrCat("Basic ", Base64Encode(absl::StrCat(user, ":", password)));
}

std::string NoteId(absl::string_view key) { return HexEncode(Sha256(key)).substr(0, 24); }

std::string NoteMarker(absl::string_view key) {
  return absl::StrCat("<!-- debrief-note:", NoteId(key), " -->");
}

std::string NoteHtml(absl::string_view text, absl::string_view key) {
  std::string html = absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"\n", "<br>\n"}});
  return absl::StrCat("<p>", html, "</p>", NoteMarker(key));
}

std::string WriteBackNote(const v1::Classification& c, const v1::ImprovementTask* task) {
  std::string note = c.needs_review()
                         ? "Debrief: the root cause needs review by an agent."
                         : absl::StrCat("Debrief: root cause ", c.category_id(), " (confidence ",
                                        static_cast<int>(c.confidence() * 100 + 0.5), "%).");
  if (task != nullptr) {
    absl::StrAppend(
        &note, "\nLinked improvement task: ",
        task->external_key().empty() ? std::to_string(task->id()) : task->external_key(),
        task->title().empty() ? "" : absl::StrCat(" \"", task->title(), "\""),
        task->url().empty() ? "" : absl::StrCat(" ", task->url()));
  }
  return note;
}

std::string WriteBackKey(const v1::Ticket& t, const v1::Classification& c,
                         const v1::ImprovementTask* task) {
  return absl::StrCat(t.ticket_id(), ":", c.category_id(), ":", task ? task->id() : 0);
}

std::string CauseTag(absl::string_view prefix, absl::string_view category_id) {
  std::string tag = absl::AsciiStrToLower(absl::StrCat(prefix, category_id));
  for (char& ch : tag)
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') ch = '_';
  return tag;
}

}  // namespace debrief::adapters
