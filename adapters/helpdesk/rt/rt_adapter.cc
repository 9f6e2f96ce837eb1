#include "helpdesk/rt/rt_adapter.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "base/text_clean.h"
#include "base/time_util.h"
#include "base/utf8.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/signature.h"
#include "helpdesk/rt/rt.pb.h"
#include "settings/settings.h"

namespace debrief::adapters::rt {
namespace {

namespace v1 = ::debrief::v1;

constexpr char kSignature[] = "x-debrief-signature";
constexpr char kTimestamp[] = "x-debrief-timestamp";
constexpr char kDelivery[] = "x-debrief-delivery";
const HmacScheme kScheme{Digest::kSha256, /*base64=*/false, "sha256="};

// RT's TicketSQL reads dates as 'YYYY-MM-DD HH:MM:SS' in the API user's time zone (UTC).
std::string SqlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
}

bool Solved(const std::string& status) { return status == "resolved" || status == "rejected"; }

// RT transaction types that carry nothing Debrief reads, ignored with this reason.
std::string IgnoredReason(const std::string& type) {
  if (type == "Comment" || type == "CommentEmailRecord")
    return "internal comment (Debrief's own notes are comments too)";
  if (type == "CustomField" || type == "Set" || type == "AddWatcher" || type == "DelWatcher" ||
      type == "AddLink" || type == "DeleteLink" || type == "Told" || type == "Give" ||
      type == "Take" || type == "Steal" || type == "Untake" || type == "SetWatcher" ||
      type == "EmailRecord" || type == "SystemError" || type == "Force" || type == "AddReminder" ||
      type == "OpenReminder" || type == "ResolveReminder" || type == "SetTimeWorked" ||
      type == "Timer" || type == "Subject")
    return absl::StrCat("RT transaction ", type,
                        " changes neither the customer's words nor the "
                        "status");
  return absl::StrCat("unknown RT transaction type \"", type, "\"");
}

class RequestTracker final : public spi::HelpdeskAdapter {
 public:
  RequestTracker(std::string id, RequestTrackerConfig cfg, std::string token, std::string secret,
                 std::string sidebar_key, const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        token_(std::move(token)),
        secret_(std::move(secret)),
        sidebar_key_(std::move(sidebar_key)),
        http_(ctx.http),
        clock_(ctx.clock) {
    base_ = std::string(absl::StripSuffix(cfg_.url(), "/"));
    api_ = absl::StrCat(base_, "/REST/2.0");
    field_ = cfg_.root_cause_field().empty() ? "Root cause" : cfg_.root_cause_field();
    window_ = settings::ToDuration(cfg_.replay_window(), absl::Minutes(5));
    page_size_ = cfg_.page_size() > 0 ? static_cast<int>(cfg_.page_size()) : 100;
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  // RT-Extension-Debrief's sign-in: the RT user, the ticket and an expiry (Unix seconds),
  // signed HMAC-SHA256("user\nticket\nexpires") in hex with the sidebar key, for a few minutes.
  absl::StatusOr<spi::VerifiedAgent> VerifyAgent(const spi::AgentProof& proof) const override {
    if (sidebar_key_.empty())
      return absl::UnimplementedError(
          absl::StrCat("helpdesk ", id_, " has no settings.sidebar_key: RT sign-in is off"));
    auto field = [&](const char* name) -> std::string {
      auto it = proof.fields.find(name);
      return it == proof.fields.end() ? "" : it->second;
    };
    const std::string user = field("user"), ticket = field("ticket"), expires = field("expires");
    if (user.empty() || ticket.empty() || expires.empty() || field("signature").empty())
      return absl::UnauthenticatedError(
          "RT's sign-in needs user, ticket, expires and signature (is RT-Extension-Debrief "
          "installed?)");
    if (auto s = VerifyHmac(HmacScheme{Digest::kSha256, false, ""}, sidebar_key_,
                            absl::StrCat(user, "\n", ticket, "\n", expires), field("signature"));
        !s.ok())
      return absl::UnauthenticatedError(
          "RT's sign-in is refused: its signature does not match the sidebar key");
    int64_t until = 0;
    if (!absl::SimpleAtoi(expires, &until))
      return absl::UnauthenticatedError("RT's sign-in is refused: expires is not a number");
    const absl::Time at = absl::FromUnixSeconds(until);
    if (at <= proof.now)
      return absl::UnauthenticatedError("RT's sign-in is refused: it has expired");
    if (at > proof.now + absl::Hours(1))
      return absl::UnauthenticatedError(
          "RT's sign-in is refused: it is valid for longer than an hour");
    if (!base::IsValidUtf8(user) || !base::IsValidUtf8(ticket))
      return absl::UnauthenticatedError("RT's sign-in is refused: it is not UTF-8 text");
    spi::VerifiedAgent agent;
    agent.name = user;
    agent.ticket_id = ticket;
    return agent;
  }

  std::vector<std::string> FrameOrigins() const override {
    if (sidebar_key_.empty()) return {};
    return {base_.substr(0, base_.find('/', base_.find("//") + 2))};
  }

  absl::StatusOr<spi::AcceptedDelivery> Accept(const spi::InboundDelivery& d) const override {
    auto sig = d.headers.find(kSignature);
    auto ts = d.headers.find(kTimestamp);
    if (sig == d.headers.end() || ts == d.headers.end())
      return absl::UnauthenticatedError(
          "missing X-Debrief-Signature or X-Debrief-Timestamp: is the Debrief scrip installed "
          "(deploy/apps/rt)?");
    int64_t unix = 0;
    if (!absl::SimpleAtoi(ts->second, &unix))
      return absl::UnauthenticatedError("X-Debrief-Timestamp is not Unix seconds");
    if (auto s = VerifyHmac(kScheme, secret_, absl::StrCat(ts->second, ".", d.body), sig->second);
        !s.ok())
      return s;
    if (auto s = CheckFreshness(absl::FromUnixSeconds(unix), d.received_at, window_); !s.ok())
      return s;
    auto ids = ObjectTexts(d.body, {"/ticket_id", "/transaction_id"}, "the body", IdText);
    if (!ids.ok()) return ids.status();
    if ((*ids)[0].empty()) return absl::InvalidArgumentError("the body has no ticket_id");
    spi::AcceptedDelivery out;
    out.replay_key = ReplayKey(absl::StrCat(ts->second, ".", d.body));
    auto h = d.headers.find(kDelivery);
    out.delivery_key =
        h != d.headers.end() && !h->second.empty() ? h->second : absl::StrCat("rt-", (*ids)[1]);
    return out;
  }

  absl::StatusOr<spi::NormalizeResult> Normalize(const spi::InboundDelivery& d) const override {
    auto doc = ParseObject(d.body, "the body");
    if (!doc.ok()) return doc.status();
    if (d.headers.count(spi::kListedHeader)) return NormalizeListed(*doc);
    spi::NormalizeResult r;
    const std::string event = Text(*doc, "event");
    v1::TicketEventType type;
    if (event == "Create") {
      type = v1::TICKET_CREATED;
    } else if (event == "Correspond") {
      type = v1::TICKET_COMMENTED;
    } else if (event == "Status") {
      type = Solved(absl::AsciiStrToLower(Text(*doc, "new_value"))) ? v1::TICKET_SOLVED
                                                                    : v1::TICKET_UPDATED;
    } else {
      r.ignored_reason = IgnoredReason(event);
      return r;
    }
    v1::Ticket t;
    t.set_ticket_id(Text(*doc, "ticket_id"));
    if (t.ticket_id().empty()) return absl::InvalidArgumentError("the body has no ticket_id");
    t.set_subject(Text(*doc, "subject"));
    // The customer's words are the ticket's first message; replies keep it (an empty body
    // leaves the stored one).
    if (type == v1::TICKET_CREATED)
      t.set_body(Words(Text(*doc, "content"), Text(*doc, "content_type")));
    t.set_status(absl::AsciiStrToLower(Text(*doc, "status")));
    if (const json* req = Member(*doc, "requestors"); req && req->is_array() && !req->empty())
      SetRequester((*req)[0], &t);
    if (const json* owner = Member(*doc, "owner"))
      t.mutable_assignee()->set_name(Text(*owner, "real_name").empty() ? Text(*owner, "name")
                                                                       : Text(*owner, "real_name"));
    t.set_channel("rt");
    t.set_url(TicketUrl(t.ticket_id()));
    if (const json* q = Member(*doc, "queue"); q && q->is_string())
      t.add_tags(q->get<std::string>());
    SetTime(Text(*doc, "ticket_created"), t.mutable_created_at());
    SetTime(Text(*doc, "last_updated").empty() ? Text(*doc, "created") : Text(*doc, "last_updated"),
            t.mutable_updated_at());
    if (type != v1::TICKET_SOLVED && Solved(t.status())) type = v1::TICKET_SOLVED;
    r.event.emplace();
    r.event->set_type(type);
    *r.event->mutable_ticket() = std::move(t);
    return r;
  }

  absl::Status WriteBack(const v1::Ticket& ticket, const v1::Classification& c,
                         const v1::ImprovementTask* task) override {
    // One request sets the field and writes the note (REST2 takes CustomFields with a
    // comment): RT spends a bcrypt of the token on every call.
    json fields = json::object();
    if (!c.needs_review()) fields[field_] = c.category_id();
    auto written =
        Note(ticket, WriteBackNote(c, task), WriteBackKey(ticket, c, task), false, fields);
    if (!written.ok()) return written.status();
    if (c.needs_review()) return absl::OkStatus();
    json msgs = *written ? **written : json();
    if (!*written) {
      // The note was there already (an earlier try's answer was lost): set the field alone.
      spi::HttpRequest req = Request("PUT", absl::StrCat("/ticket/", ticket.ticket_id()));
      req.body = json{{"CustomFields", fields}}.dump();
      auto res =
          Call(http_, req, What("set ", field_, " on ticket ", ticket.ticket_id()), clock_.Now());
      if (!res.ok()) return res.status();
      msgs = json::parse(res->body, nullptr, false);
    }
    return ConfirmField(ticket.ticket_id(), c.category_id(), msgs);
  }

  absl::Status PostNote(const v1::Ticket& ticket, const spi::TicketNote& note) override {
    // RT has no tags: the note itself says the fix shipped.
    return Note(ticket, note.body, note.idempotency_key, note.is_public, json::object()).status();
  }

  absl::StatusOr<std::map<std::string, std::string>> SignDelivery(absl::string_view body,
                                                                  absl::Time now) const override {
    std::string ts = std::to_string(absl::ToUnixSeconds(now));
    auto doc = ParseObject(body, "the body");
    return std::map<std::string, std::string>{
        {"content-type", "application/json"},
        {kTimestamp, ts},
        {kSignature, SignHmac(kScheme, secret_, absl::StrCat(ts, ".", body))},
        {kDelivery,
         doc.ok() ? absl::StrCat("rt-", Text(*doc, "transaction_id")) : HexEncode(Sha256(body))}};
  }

  absl::Status Check() override {
    auto res = Call(http_, Request("GET", "/rt"), What("check"), clock_.Now());
    if (!res.ok()) return res.status();
    auto cf = Call(
        http_,
        Request(
            "GET",
            absl::StrCat("/customfields?query=",
                         UrlEncode(json::array({{{"field", "Name"}, {"value", field_}}}).dump()))),
        What("look up custom field"), clock_.Now());
    if (!cf.ok()) return cf.status();
    json list = json::parse(cf->body, nullptr, false);
    if (!list.is_object() || Text(list, "total") == "0" || Text(list, "count") == "0")
      return absl::FailedPreconditionError(
          What("custom field \"", field_, "\" does not exist; deploy/apps/rt/install creates it"));
    return absl::OkStatus();
  }

  // Keyset paging over LastUpdated (see KeysetCursor).
  absl::StatusOr<spi::TicketPage> ListTickets(const std::string& cursor,
                                              absl::Time since) override {
    auto at = ParseKeysetCursor(cursor, since);
    if (!at.ok()) return at.status();
    const absl::Time w = at->watermark;
    const int page = at->page;
    std::string sql = absl::StrCat("LastUpdated >= '", SqlTime(w), "'");
    if (!cfg_.queue().empty()) absl::StrAppend(&sql, " AND Queue = '", cfg_.queue(), "'");
    std::string path = absl::StrCat(
        "/tickets?query=", UrlEncode(sql), "&orderby=LastUpdated&order=ASC&per_page=", page_size_,
        "&page=", page,
        "&fields=Subject,Status,Created,LastUpdated,Requestor,Owner,Queue&fields%5BRequestor%5D="
        "EmailAddress,RealName,Name&fields%5BOwner%5D=RealName,Name&fields%5BQueue%5D=Name");
    auto res = Call(http_, Request("GET", path), What("list tickets"), clock_.Now());
    if (!res.ok()) return res.status();
    auto doc = ParseObject(res->body, "RT's ticket list");
    if (!doc.ok()) return doc.status();
    const json* items = Member(*doc, "items");
    if (items == nullptr || !items->is_array())
      return absl::InvalidArgumentError("RT's ticket list has no items");

    spi::TicketPage out;
    int64_t total = 0;
    if (absl::SimpleAtoi(Text(*doc, "total"), &total)) out.total = total;
    absl::Time newest = w;
    for (const json& item : *items) {
      json ticket = item;
      absl::Time updated = ParseTime(Text(item, "LastUpdated")).value_or(w);
      newest = std::max(newest, updated);
      // Tickets created before the watermark were seen by an earlier listing or webhook; only
      // newer ones need their first message (two more calls).
      if (ParseTime(Text(item, "Created")).value_or(absl::InfinitePast()) >= w) {
        auto content = FirstMessage(Text(item, "id"));
        if (!content.ok()) return content.status();
        ticket["content"] = *content;
      }
      out.deliveries.push_back(
          ListedTicket(Text(item, "id"), Text(item, "LastUpdated"), ticket.dump()));
    }
    out.next_cursor =
        NextKeysetCursor(*at, newest, static_cast<int>(items->size()) >= page_size_, &out.more);
    return out;
  }

 private:
  template <typename... Args>
  std::string What(const Args&... args) const {
    return absl::StrCat("Request Tracker ", id_, ": ", args...);
  }

  spi::HttpRequest Request(const char* method, const std::string& path) const {
    return JsonRequest(method, absl::StrCat(api_, path), absl::StrCat("token ", token_));
  }

  std::string TicketUrl(const std::string& ticket_id) const {
    return absl::StrCat(base_, "/Ticket/Display.html?id=", ticket_id);
  }

  static std::string Words(const std::string& content, const std::string& content_type) {
    std::string text =
        absl::StrContains(content_type, "html") ? base::HtmlToText(content) : content;
    return base::StripQuotedReply(text);
  }

  static void SetRequester(const json& r, v1::Ticket* t) {
    std::string email = Text(r, "email").empty() ? Text(r, "EmailAddress") : Text(r, "email");
    std::string name = Text(r, "real_name").empty() ? Text(r, "RealName") : Text(r, "real_name");
    std::string login = Text(r, "name").empty() ? Text(r, "Name") : Text(r, "name");
    t->mutable_requester()->set_id(email.empty() ? login : email);
    t->mutable_requester()->set_email(email);
    t->mutable_requester()->set_name(name);
  }

  spi::NormalizeResult NormalizeListed(const json& item) const {
    v1::Ticket t;
    t.set_ticket_id(Text(item, "id"));
    t.set_subject(Text(item, "Subject"));
    t.set_body(Words(Text(item, "content"), "text/plain"));
    t.set_status(absl::AsciiStrToLower(Text(item, "Status")));
    if (const json* req = Member(item, "Requestor"); req && req->is_array() && !req->empty())
      SetRequester((*req)[0], &t);
    if (const json* owner = Member(item, "Owner"); owner && Text(*owner, "id") != "Nobody")
      t.mutable_assignee()->set_name(Text(*owner, "RealName").empty() ? Text(*owner, "id")
                                                                      : Text(*owner, "RealName"));
    if (const json* q = Member(item, "Queue"); q && !Text(*q, "Name").empty())
      t.add_tags(Text(*q, "Name"));
    t.set_channel("rt");
    t.set_url(TicketUrl(t.ticket_id()));
    SetTime(Text(item, "Created"), t.mutable_created_at());
    SetTime(Text(item, "LastUpdated"), t.mutable_updated_at());
    spi::NormalizeResult r;
    r.event.emplace();
    r.event->set_type(Solved(t.status()) ? v1::TICKET_SOLVED : v1::TICKET_UPDATED);
    *r.event->mutable_ticket() = std::move(t);
    return r;
  }

  // The content of the ticket's Create transaction (its first message), as plain text.
  absl::StatusOr<std::string> FirstMessage(const std::string& ticket_id) {
    std::string q = json::array({{{"field", "Type"}, {"value", "Create"}}}).dump();
    auto hist = Call(http_,
                     Request("GET", absl::StrCat("/ticket/", ticket_id,
                                                 "/history?query=", UrlEncode(q), "&fields=Type")),
                     What("history of ticket ", ticket_id), clock_.Now());
    if (!hist.ok()) return hist.status();
    json h = json::parse(hist->body, nullptr, false);
    const json* items = Member(h, "items");
    if (items == nullptr || !items->is_array() || items->empty()) return std::string();
    auto att = Call(http_,
                    Request("GET", absl::StrCat("/transaction/", Text((*items)[0], "id"),
                                                "/attachments?fields=Content,ContentType")),
                    What("first message of ticket ", ticket_id), clock_.Now());
    if (!att.ok()) return att.status();
    json a = json::parse(att->body, nullptr, false);
    const json* parts = Member(a, "items");
    if (parts == nullptr || !parts->is_array()) return std::string();
    for (const char* want : {"text/plain", "text/html"})
      for (const auto& part : *parts)
        if (absl::StartsWith(Text(part, "ContentType"), want) && !Text(part, "Content").empty())
          return Words(Text(part, "Content"), want);
    return std::string();
  }

  // RT answers a field change with a message naming the field ("Root cause x added", "... a
  // changed to b") and says nothing of a field it does not know on the queue, or may not set,
  // or that has the value already: without the message, the ticket itself is read.
  absl::Status ConfirmField(const std::string& ticket_id, const std::string& value,
                            const json& msgs) {
    if (!msgs.is_array()) return absl::OkStatus();  // not RT's list of messages: nothing to read
    for (const json& m : msgs)
      if (m.is_string() && absl::StartsWith(m.get<std::string>(), field_ + " "))
        return absl::OkStatus();
    auto res = Call(http_, Request("GET", absl::StrCat("/ticket/", ticket_id)),
                    What("read ticket ", ticket_id), clock_.Now());
    if (!res.ok()) return res.status();
    json t = json::parse(res->body, nullptr, false);
    if (const json* cfs = Member(t, "CustomFields"); cfs && cfs->is_array())
      for (const json& cf : *cfs)
        if (Text(cf, "name") == field_ && cf.contains("values") && cf["values"].is_array() &&
            !cf["values"].empty() && cf["values"][0] == value)
          return absl::OkStatus();
    return absl::FailedPreconditionError(What(
        "custom field \"", field_, "\" was not set on ticket ", ticket_id,
        ": RT ignores a field that is not applied to the ticket's queue or that the token's user "
        "may not modify (deploy/apps/rt/install.sh applies it and grants ModifyCustomField)"));
  }

  // A comment (internal) or correspondence (the customer sees it), written once: the note's id
  // is in its subject, looked up before writing. `fields` are set in the same request. Answers
  // RT's messages, or nullopt when the note was written before.
  absl::StatusOr<std::optional<json>> Note(const v1::Ticket& ticket, const std::string& body,
                                           const std::string& key, bool is_public,
                                           const json& fields) {
    const std::string note_id = NoteId(key);
    std::string q =
        json::array({{{"field", "Data"}, {"operator", "LIKE"}, {"value", note_id}}}).dump();
    auto found = Call(http_,
                      Request("GET", absl::StrCat("/ticket/", ticket.ticket_id(),
                                                  "/history?query=", UrlEncode(q), "&fields=Type")),
                      What("look for note on ticket ", ticket.ticket_id()), clock_.Now());
    if (!found.ok()) return found.status();
    json f = json::parse(found->body, nullptr, false);
    if (f.is_object() && !Text(f, "count").empty() && Text(f, "count") != "0")
      return std::optional<json>();  // written before an unknown outcome
    spi::HttpRequest req = Request("POST", absl::StrCat("/ticket/", ticket.ticket_id(),
                                                        is_public ? "/correspond" : "/comment"));
    json note = {{"Subject", absl::StrCat(is_public ? "Update" : "Debrief", " [", note_id, "]")},
                 {"Content", NoteHtml(body, key)},
                 {"ContentType", "text/html"}};
    if (!fields.empty()) note["CustomFields"] = fields;
    req.body = note.dump();
    auto res = Call(http_, req,
                    What(is_public ? "reply on ticket " : "comment on ticket ", ticket.ticket_id()),
                    clock_.Now());
    if (!res.ok()) return res.status();
    return std::optional<json>(json::parse(res->body, nullptr, false));
  }

  std::string id_;
  std::string type_ = "rt";
  RequestTrackerConfig cfg_;
  std::string token_, secret_, sidebar_key_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string base_, api_, field_;
  absl::Duration window_;
  int page_size_ = 100;
};

class Factory final : public spi::HelpdeskAdapterFactory {
 public:
  std::string type() const override { return "rt"; }
  const google::protobuf::Descriptor* settings() const override {
    return RequestTrackerConfig::descriptor();
  }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    RequestTrackerConfig cfg;
    if (!settings::ParseSettings(config.settings(), &cfg, config.id()).ok()) cfg.Clear();
    // A shell word: as is when plain, else single-quoted.
    auto word = [](const std::string& s) {
      if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_./:@%+,=-") == std::string::npos)
        return s;
      return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
    };
    // The path of a secret kept in a file, when absolute (install.sh runs outside data_dir).
    auto file_of = [](const v1::SecretRef& r) {
      return r.has_file() && absl::StartsWith(r.file(), "/") ? r.file() : std::string();
    };
    const v1::SecretRef& secret = cfg.webhook_secret();
    std::string key_file = file_of(secret);
    std::string held = WhereKept(secret);  // never the secret itself

    std::vector<spi::SetupStep> steps;
    if (key_file.empty()) {
      key_file = "/etc/debrief/rt.key";
      steps.push_back(
          {"Put the webhook key in a file on RT's host",
           absl::StrCat("install.sh reads the scrip's HMAC key from a file: write the webhook "
                        "secret you saved in Debrief",
                        held,
                        " to this file, on one line, readable by root only. It must be at least "
                        "16 characters."),
           key_file});
    } else {
      steps.push_back({"Have the webhook key on RT's host",
                       "install.sh reads the scrip's HMAC key from this file, the one this "
                       "adapter's webhook secret is kept in: run it where the file is, or copy "
                       "the file to the same path on RT's host.",
                       key_file});
    }
    std::string cmd = absl::StrCat("sudo DEBRIEF_URL=", word(where.webhook_url),
                                   " DEBRIEF_SECRET_FILE=", word(key_file));
    if (std::string token = file_of(cfg.token()); !token.empty())
      absl::StrAppend(&cmd, " DEBRIEF_TOKEN_FILE=", word(token));
    absl::StrAppend(&cmd, " RT_QUEUE=", word(cfg.queue().empty() ? "General" : cfg.queue()));
    if (!cfg.root_cause_field().empty() && cfg.root_cause_field() != "Root cause")
      absl::StrAppend(&cmd, " RT_FIELD=", word(cfg.root_cause_field()));
    if (std::string key = file_of(cfg.sidebar_key()); !key.empty())
      absl::StrAppend(&cmd, " DEBRIEF_SIDEBAR_KEY_FILE=", word(key));
    absl::StrAppend(&cmd, " DEBRIEF_HELPDESK_ID=", word(config.id()),
                    " /usr/share/debrief/apps/rt/install.sh");
    steps.push_back(
        {"Install Debrief's webhook scrip into RT",
         absl::StrCat(
             "Request Tracker has no webhooks of its own: on RT's host, run the installer "
             "Debrief's package ships. It creates the ticket custom field ",
             cfg.root_cause_field().empty() ? "Root cause" : cfg.root_cause_field(),
             " on the queue, installs the scrip and writes RT_SiteConfig.d/60-debrief.pm with "
             "Debrief's URL and the key",
             file_of(cfg.token()).empty()
                 ? "."
                 : "; with DEBRIEF_TOKEN_FILE, also RT's API user debrief and its auth token in "
                   "that file."),
         cmd});
    steps.push_back({"Restart Request Tracker",
                     "RT reads its settings at start, among them $DebriefWebhookURL, which "
                     "install.sh set to this URL. From then on the scrip posts every transaction "
                     "on the queue there, signed with X-Debrief-Signature.",
                     where.webhook_url});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::HelpdeskAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    RequestTrackerConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!absl::StartsWith(cfg.url(), "http"))
      return absl::InvalidArgumentError("settings.url: RT's base URL (https://rt.example.com)");
    if (!cfg.has_token())
      return absl::InvalidArgumentError("settings.token is required (an RT auth token)");
    if (!cfg.has_webhook_secret())
      return absl::InvalidArgumentError(
          "settings.webhook_secret is required (the scrip's key); unsigned webhooks are refused");
    auto token = settings::ResolveSecret(cfg.token(), ctx);
    if (!token.ok()) return token.status();
    auto secret = settings::ResolveSecret(cfg.webhook_secret(), ctx);
    if (!secret.ok()) return secret.status();
    std::string sidebar_key;
    if (cfg.has_sidebar_key()) {
      auto key = settings::ResolveSecret(cfg.sidebar_key(), ctx);
      if (!key.ok()) return key.status();
      if (key->size() < 32)
        return absl::InvalidArgumentError("settings.sidebar_key must be at least 32 bytes");
      sidebar_key = std::move(*key);
    }
    return std::make_unique<RequestTracker>(config.id(), std::move(cfg), std::move(*token),
                                            std::move(*secret), std::move(sidebar_key), ctx);
  }
};

}  // namespace

void RegisterRequestTracker(spi::AdapterRegistry& registry) {
  registry.Add(std::make_unique<Factory>());
}

}  // namespace debrief::adapters::rt
