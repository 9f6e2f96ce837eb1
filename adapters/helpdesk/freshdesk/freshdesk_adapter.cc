#include "helpdesk/freshdesk/freshdesk_adapter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/text_clean.h"
#include "base/time_util.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/signature.h"
#include "helpdesk/freshdesk/freshdesk.pb.h"
#include "settings/settings.h"

namespace debrief::adapters::freshdesk {
namespace {

namespace v1 = ::debrief::v1;

// Freshdesk's numeric statuses (API v2).
std::string StatusName(const std::string& s) {
  if (s == "2") return "open";
  if (s == "3") return "pending";
  if (s == "4") return "resolved";
  if (s == "5") return "closed";
  return absl::AsciiStrToLower(s);
}

bool Solved(const std::string& status) { return status == "resolved" || status == "closed"; }

// The event an automation rule names ("created", "Ticket is Created", "note added", ...).
v1::TicketEventType EventOf(const std::string& name) {
  std::string n = absl::AsciiStrToLower(name);
  if (absl::StrContains(n, "creat") || absl::StrContains(n, "new")) return v1::TICKET_CREATED;
  if (absl::StrContains(n, "repl") || absl::StrContains(n, "comment") ||
      absl::StrContains(n, "conversation"))
    return v1::TICKET_COMMENTED;
  if (absl::StrContains(n, "resolv") || absl::StrContains(n, "clos")) return v1::TICKET_SOLVED;
  if (absl::StrContains(n, "updat") || absl::StrContains(n, "status") ||
      absl::StrContains(n, "chang"))
    return v1::TICKET_UPDATED;
  return v1::TICKET_EVENT_TYPE_UNSPECIFIED;
}

class Freshdesk final : public spi::HelpdeskAdapter {
 public:
  Freshdesk(std::string id, FreshdeskConfig cfg, std::string key, std::string secret,
            const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        auth_(BasicAuth(key, "X")),
        secret_(std::move(secret)),
        http_(ctx.http),
        clock_(ctx.clock) {
    base_ = cfg_.url().empty() ? absl::StrCat("https://", cfg_.domain(), ".freshdesk.com")
                               : std::string(absl::StripSuffix(cfg_.url(), "/"));
    header_ = absl::AsciiStrToLower(cfg_.webhook_header().empty() ? "X-Debrief-Token"
                                                                  : cfg_.webhook_header());
    prefix_ = cfg_.tag_prefix().empty() ? "rc_" : cfg_.tag_prefix();
    page_size_ = cfg_.page_size() > 0 ? static_cast<int>(std::min(cfg_.page_size(), 100u)) : 100;
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::AcceptedDelivery> Accept(const spi::InboundDelivery& d) const override {
    auto h = d.headers.find(header_);
    if (h == d.headers.end())
      return absl::UnauthenticatedError(absl::StrCat(
          "missing ", header_, ": Freshdesk signs nothing, so the rule must send the secret"));
    std::string given = h->second;
    if (header_ == "authorization") {
      absl::string_view v = h->second;
      auto raw =
          absl::ConsumePrefix(&v, "Basic ") ? Base64Decode(v) : absl::StatusOr<std::string>("");
      std::pair<std::string, std::string> up =
          absl::StrSplit(raw.ok() ? *raw : std::string(), absl::MaxSplits(':', 1));
      given = up.second;
    }
    if (!ConstantTimeEquals(Sha256(given), Sha256(secret_)))  // equal lengths: no length leak
      return absl::UnauthenticatedError(absl::StrCat("the secret in ", header_, " is wrong"));
    auto id = ObjectTexts(d.body, {"/freshdesk_webhook/ticket_id"}, "the body", IdText);
    if (!id.ok()) return id.status();
    if ((*id)[0].empty())
      return absl::InvalidArgumentError("the body has no freshdesk_webhook.ticket_id");
    // Freshdesk sends no delivery id; a retry repeats the same body.
    return spi::AcceptedDelivery{.delivery_key = HexEncode(Sha256(d.body))};
  }

  absl::StatusOr<spi::NormalizeResult> Normalize(const spi::InboundDelivery& d) const override {
    auto doc = ParseObject(d.body, "the body");
    if (!doc.ok()) return doc.status();
    if (d.headers.count(spi::kListedHeader)) {
      v1::Ticket t = FromApi(*doc);
      return TicketEventOf(Solved(t.status()) ? v1::TICKET_SOLVED : v1::TICKET_UPDATED,
                           std::move(t));
    }
    const json* hook = Member(*doc, "freshdesk_webhook");
    if (hook == nullptr) return absl::InvalidArgumentError("the body has no freshdesk_webhook");
    spi::NormalizeResult r;
    std::string event = Text(*hook, "event");
    if (event.empty()) event = Text(*hook, "triggered_event");
    v1::TicketEventType type = event.empty() ? v1::TICKET_UPDATED : EventOf(event);
    if (type == v1::TICKET_EVENT_TYPE_UNSPECIFIED) {
      r.ignored_reason = absl::StrCat("unknown event \"", event, "\"");
      return r;
    }
    v1::Ticket t;
    t.set_ticket_id(Text(*hook, "ticket_id"));
    t.set_subject(Text(*hook, "ticket_subject"));
    if (type != v1::TICKET_COMMENTED)
      t.set_body(base::StripQuotedReply(base::HtmlToText(Text(*hook, "ticket_description"))));
    t.set_status(StatusName(Text(*hook, "ticket_status")));
    t.mutable_requester()->set_id(Text(*hook, "ticket_requester_id").empty()
                                      ? Text(*hook, "ticket_requester_email")
                                      : Text(*hook, "ticket_requester_id"));
    t.mutable_requester()->set_email(Text(*hook, "ticket_requester_email"));
    t.mutable_requester()->set_name(Text(*hook, "ticket_requester_name"));
    t.mutable_assignee()->set_name(Text(*hook, "ticket_agent_name"));
    t.set_channel(absl::AsciiStrToLower(Text(*hook, "ticket_source")));
    for (absl::string_view tag :
         absl::StrSplit(Text(*hook, "ticket_tags"), ',', absl::SkipWhitespace()))
      t.add_tags(std::string(absl::StripAsciiWhitespace(tag)));
    t.set_url(Text(*hook, "ticket_url").empty() ? TicketUrl(t.ticket_id())
                                                : Text(*hook, "ticket_url"));
    if (type != v1::TICKET_SOLVED && Solved(t.status())) type = v1::TICKET_SOLVED;
    return TicketEventOf(type, std::move(t));
  }

  absl::Status WriteBack(const v1::Ticket& ticket, const v1::Classification& c,
                         const v1::ImprovementTask* task) override {
    if (!c.needs_review()) {
      json fields = json::object();
      if (!cfg_.root_cause_field().empty()) fields[cfg_.root_cause_field()] = c.category_id();
      if (auto s = UpdateTicket(ticket, {CauseTag(prefix_, c.category_id())}, fields); !s.ok())
        return s;
    }
    return Conversation(ticket, WriteBackNote(c, task), WriteBackKey(ticket, c, task), false);
  }

  absl::Status PostNote(const v1::Ticket& ticket, const spi::TicketNote& note) override {
    if (!note.add_tags.empty())
      if (auto s = UpdateTicket(ticket, note.add_tags, json::object()); !s.ok()) return s;
    return Conversation(ticket, note.body, note.idempotency_key, note.is_public);
  }

  absl::StatusOr<std::map<std::string, std::string>> SignDelivery(absl::string_view,
                                                                  absl::Time) const override {
    std::map<std::string, std::string> h{{"content-type", "application/json"}};
    h[header_] = header_ == "authorization" ? BasicAuth("freshdesk", secret_) : secret_;
    return h;
  }

  absl::Status Check() override {
    return Call(http_, Request("GET", "/api/v2/agents/me"), What("check"), clock_.Now()).status();
  }

  // updated_since, keyset-paged (see KeysetCursor); Freshdesk serves at most 300 pages of one
  // query, which keyset paging never reaches.
  absl::StatusOr<spi::TicketPage> ListTickets(const std::string& cursor,
                                              absl::Time since) override {
    auto at = ParseKeysetCursor(cursor, since);
    if (!at.ok()) return at.status();
    std::string path = absl::StrCat(
        "/api/v2/tickets?updated_since=",
        UrlEncode(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", at->watermark, absl::UTCTimeZone())),
        "&order_by=updated_at&order_type=asc&include=description,requester&per_page=", page_size_,
        "&page=", at->page);
    auto res = Call(http_, Request("GET", path), What("list tickets"), clock_.Now());
    if (!res.ok()) return res.status();
    json list = json::parse(res->body, nullptr, false);
    if (!list.is_array())
      return absl::InvalidArgumentError("Freshdesk's ticket list is not a list");
    spi::TicketPage page;
    absl::Time newest = at->watermark;
    for (const json& t : list) {
      newest = std::max(newest, ParseTime(Text(t, "updated_at")).value_or(newest));
      page.deliveries.push_back(ListedTicket(Text(t, "id"), Text(t, "updated_at"), t.dump()));
    }
    page.next_cursor =
        NextKeysetCursor(*at, newest, static_cast<int>(list.size()) >= page_size_, &page.more);
    return page;
  }

 private:
  template <typename... Args>
  std::string What(const Args&... args) const {
    return absl::StrCat("Freshdesk ", id_, ": ", args...);
  }

  spi::HttpRequest Request(const char* method, const std::string& path) const {
    return JsonRequest(method, absl::StrCat(base_, path), auth_);
  }

  std::string TicketUrl(const std::string& id) const {
    return absl::StrCat(base_, "/a/tickets/", id);
  }

  v1::Ticket FromApi(const json& j) const {
    v1::Ticket t;
    t.set_ticket_id(Text(j, "id"));
    t.set_subject(Text(j, "subject"));
    std::string text = Text(j, "description_text");
    if (text.empty()) text = base::HtmlToText(Text(j, "description"));
    t.set_body(base::StripQuotedReply(text));
    t.set_status(StatusName(Text(j, "status")));
    t.mutable_requester()->set_id(Text(j, "requester_id"));
    if (const json* r = Member(j, "requester")) {
      t.mutable_requester()->set_email(Text(*r, "email"));
      t.mutable_requester()->set_name(Text(*r, "name"));
    }
    if (const json* tags = Member(j, "tags"); tags && tags->is_array())
      for (const auto& tag : *tags)
        if (tag.is_string()) t.add_tags(tag.get<std::string>());
    t.set_channel("freshdesk");
    t.set_url(TicketUrl(t.ticket_id()));
    SetTime(Text(j, "created_at"), t.mutable_created_at());
    SetTime(Text(j, "updated_at"), t.mutable_updated_at());
    return t;
  }

  // Freshdesk replaces a ticket's tags on update, so the current ones are read and kept.
  absl::Status UpdateTicket(const v1::Ticket& ticket, const std::vector<std::string>& add_tags,
                            const json& custom_fields) {
    const std::string path = absl::StrCat("/api/v2/tickets/", ticket.ticket_id());
    auto cur =
        Call(http_, Request("GET", path), What("read ticket ", ticket.ticket_id()), clock_.Now());
    if (!cur.ok()) return cur.status();
    json t = json::parse(cur->body, nullptr, false);
    json tags = json::array();
    if (const json* have = Member(t, "tags"); have && have->is_array()) tags = *have;
    bool changed = !custom_fields.empty();
    for (const auto& tag : add_tags)
      if (std::find(tags.begin(), tags.end(), json(tag)) == tags.end()) {
        tags.push_back(tag);
        changed = true;
      }
    if (!changed) return absl::OkStatus();
    json update = {{"tags", tags}};
    if (!custom_fields.empty()) update["custom_fields"] = custom_fields;
    spi::HttpRequest req = Request("PUT", path);
    req.body = update.dump();
    return Call(http_, req, What("update ticket ", ticket.ticket_id()), clock_.Now()).status();
  }

  // A private note or a reply, written once: its marker is looked for in the conversation.
  absl::Status Conversation(const v1::Ticket& ticket, const std::string& body,
                            const std::string& key, bool is_public) {
    const std::string base = absl::StrCat("/api/v2/tickets/", ticket.ticket_id());
    auto convo = Call(http_, Request("GET", absl::StrCat(base, "/conversations?per_page=100")),
                      What("conversation of ticket ", ticket.ticket_id()), clock_.Now());
    if (!convo.ok()) return convo.status();
    if (absl::StrContains(convo->body, NoteId(key))) return absl::OkStatus();
    spi::HttpRequest req = Request("POST", absl::StrCat(base, is_public ? "/reply" : "/notes"));
    json note = {{"body", NoteHtml(body, key)}};
    if (!is_public) note["private"] = true;
    req.body = note.dump();
    return Call(http_, req,
                What(is_public ? "reply on ticket " : "note on ticket ", ticket.ticket_id()),
                clock_.Now())
        .status();
  }

  std::string id_;
  std::string type_ = "freshdesk";
  FreshdeskConfig cfg_;
  std::string auth_, secret_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string base_, header_, prefix_;
  int page_size_ = 100;
};

class Factory final : public spi::HelpdeskAdapterFactory {
 public:
  std::string type() const override { return "freshdesk"; }
  const google::protobuf::Descriptor* settings() const override {
    return FreshdeskConfig::descriptor();
  }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    FreshdeskConfig cfg;
    if (!settings::ParseSettings(config.settings(), &cfg, config.id()).ok()) cfg.Clear();
    const v1::SecretRef& secret = cfg.webhook_secret();
    std::string held = WhereKept(secret);  // never the secret itself
    const std::string header =
        cfg.webhook_header().empty() ? "X-Debrief-Token" : cfg.webhook_header();
    std::vector<spi::SetupStep> steps;
    steps.push_back({"Create a ticket creation rule in Freshdesk",
                     "Admin > Automations > Ticket creation: make a rule whose action is Trigger "
                     "webhook, request type POST, to this URL.",
                     where.webhook_url});
    if (absl::EqualsIgnoreCase(header, "Authorization")) {
      steps.push_back({"Authenticate the webhook",
                       absl::StrCat("In the same action, choose authentication Basic with any user "
                                    "name and, as the password, the webhook secret you saved in "
                                    "Debrief",
                                    held,
                                    ". Freshdesk signs nothing, so Debrief refuses deliveries "
                                    "without it."),
                       ""});
    } else {
      steps.push_back({"Add the secret header",
                       absl::StrCat("In the same action, add a custom header with this name and, "
                                    "as its value, the webhook secret you saved in Debrief",
                                    held,
                                    ". Freshdesk signs nothing, so Debrief refuses deliveries "
                                    "without it."),
                       header});
    }
    steps.push_back(
        {"Send the ticket as JSON",
         "In the same action, content JSON, advanced, with this body (\"event\": \"created\" in "
         "the creation rule).",
         R"({"freshdesk_webhook": {"event": "created", "ticket_id": "{{ticket.id}}",)"
         R"( "ticket_subject": "{{ticket.subject}}",)"
         R"( "ticket_description": "{{ticket.description}}",)"
         R"( "ticket_status": "{{ticket.status}}", "ticket_source": "{{ticket.source}}",)"
         R"( "ticket_tags": "{{ticket.tags}}", "ticket_url": "{{ticket.url}}",)"
         R"( "ticket_requester_name": "{{ticket.requester.name}}",)"
         R"( "ticket_requester_email": "{{ticket.requester.email}}",)"
         R"( "ticket_agent_name": "{{ticket.agent.name}}"}})"});
    steps.push_back({"Add ticket update rules",
                     "Admin > Automations > Ticket updates: rules with the same Trigger webhook "
                     "action (URL, secret and body), with the body's \"event\" set to \"replied\" "
                     "in a rule for replies and \"resolved\" in one for resolved tickets.",
                     "replied, resolved"});
    // The app's host: the public address's, when Freshworks can reach it over https.
    std::string host = "<the host name Freshworks' servers reach Debrief at over HTTPS, port 443>";
    absl::string_view rest = where.webhook_url;
    if (where.public_url_known && absl::ConsumePrefix(&rest, "https://"))
      host = std::string(rest.substr(0, rest.find('/')));
    steps.push_back(
        {"Install the Debrief app (optional)",
         "For Debrief's panel in the ticket sidebar, upload "
         "/usr/share/debrief/apps/debrief-freshdesk-app.zip as a custom app in Freshdesk and fill "
         "in its installation parameters as below.",
         absl::StrCat("Debrief host: ", host,
                      "; Debrief API token: the token printed by debriefctl tokens create "
                      "freshdesk-app --role agent --helpdesk ",
                      config.id(), " --installation")});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::HelpdeskAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    FreshdeskConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (cfg.domain().empty() == cfg.url().empty())
      return absl::InvalidArgumentError("settings: give domain (acme) or url, not both");
    if (!cfg.has_api_key()) return absl::InvalidArgumentError("settings.api_key is required");
    if (!cfg.has_webhook_secret())
      return absl::InvalidArgumentError(
          "settings.webhook_secret is required: Freshdesk signs nothing, so without a shared "
          "secret anyone could post tickets");
    auto key = settings::ResolveSecret(cfg.api_key(), ctx);
    if (!key.ok()) return key.status();
    auto secret = settings::ResolveSecret(cfg.webhook_secret(), ctx);
    if (!secret.ok()) return secret.status();
    if (secret->size() < 16)
      return absl::InvalidArgumentError("settings.webhook_secret: use at least 16 characters");
    return std::make_unique<Freshdesk>(config.id(), std::move(cfg), std::move(*key),
                                       std::move(*secret), ctx);
  }
};

}  // namespace

void RegisterFreshdesk(spi::AdapterRegistry& registry) {
  registry.Add(std::make_unique<Factory>());
}

}  // namespace debrief::adapters::freshdesk
