#include "helpdesk/zendesk/zendesk_adapter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/text_clean.h"
#include "base/time_util.h"
#include "base/utf8.h"
#include "common/json_util.h"
#include "common/jwt.h"
#include "common/rest.h"
#include "common/signature.h"
#include "helpdesk/zendesk/zendesk.pb.h"
#include "settings/settings.h"

namespace debrief::adapters::zendesk {
namespace {

namespace v1 = ::debrief::v1;

constexpr char kSignature[] = "x-zendesk-webhook-signature";
constexpr char kTimestamp[] = "x-zendesk-webhook-signature-timestamp";
const HmacScheme kScheme{Digest::kSha256, /*base64=*/true, ""};
constexpr char kEventPrefix[] = "zen:event-type:ticket.";

bool Solved(const std::string& status) { return status == "solved" || status == "closed"; }

class Zendesk final : public spi::HelpdeskAdapter {
 public:
  Zendesk(std::string id, ZendeskConfig cfg, std::string token, std::string secret,
          std::optional<RsaPublicKey> app_key, const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        app_key_(std::move(app_key)),
        auth_(BasicAuth(absl::StrCat(cfg_.email(), "/token"), token)),
        secret_(std::move(secret)),
        http_(ctx.http),
        clock_(ctx.clock) {
    base_ = cfg_.url().empty() ? absl::StrCat("https://", cfg_.subdomain(), ".zendesk.com")
                               : std::string(absl::StripSuffix(cfg_.url(), "/"));
    prefix_ = cfg_.tag_prefix().empty() ? "rc_" : cfg_.tag_prefix();
    window_ = settings::ToDuration(cfg_.replay_window(), absl::Minutes(5));
    host_ = std::string(absl::StripPrefix(absl::StripPrefix(base_, "https://"), "http://"));
    host_ = host_.substr(0, host_.find('/'));
  }

  // Zendesk's signed URL: on the app's first load it POSTs `token`, a JWT signed RS256 with
  // the installation's key, naming the account (iss), the installation (aud), the agent (sub)
  // and where the app opened (context).
  absl::StatusOr<spi::VerifiedAgent> VerifyAgent(const spi::AgentProof& proof) const override {
    if (!app_key_)
      return absl::UnimplementedError(absl::StrCat(
          "helpdesk ", id_, " has no settings.app_public_key: Zendesk sign-in is off"));
    auto token = proof.fields.find("token");
    if (token == proof.fields.end())
      return absl::UnauthenticatedError("Zendesk sent no token (enable signedUrls in the app)");
    auto claims = VerifyRs256Jwt(token->second, *app_key_, proof.now);
    if (!claims.ok()) return claims.status();
    const std::string aud =
        absl::StrCat(base_, "/api/v2/apps/installations/", cfg_.app_installation_id(), ".json");
    if (claims->value("iss", nlohmann::json()) != host_)
      return absl::UnauthenticatedError(
          absl::StrCat("the helpdesk's token is refused: it was issued by another account (iss "
                       "is not ",
                       host_, ")"));
    if (!JwtAudienceHas(*claims, aud))
      return absl::UnauthenticatedError(
          "the helpdesk's token is refused: it is for another app installation (aud)");
    const nlohmann::json context = claims->value("context", nlohmann::json::object());
    if (!context.is_object() || context.value("product", nlohmann::json()) != "support" ||
        context.value("location", nlohmann::json()) != "ticket_sidebar")
      return absl::UnauthenticatedError(
          "the helpdesk's token is refused: it was made for another place than the ticket "
          "sidebar of Zendesk Support (context)");
    auto sub = claims->find("sub");
    if (sub == claims->end() || !(sub->is_string() || sub->is_number_integer()))
      return absl::UnauthenticatedError("the helpdesk's token is refused: it names no agent");
    spi::VerifiedAgent agent;
    // "https://acme.zendesk.com/api/v2/users/123.json" or "123": the agent's user id.
    std::string who = sub->is_string() ? sub->get<std::string>() : sub->dump();
    absl::string_view user = who;
    if (absl::ConsumeSuffix(&user, ".json")) user = user.substr(user.rfind('/') + 1);
    agent.name = base::ToValidUtf8(absl::StrCat("zendesk user ", user));
    return agent;
  }

  std::vector<std::string> FrameOrigins() const override {
    if (!app_key_) return {};
    return {base_.substr(0, base_.find('/', base_.find("//") + 2))};
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::AcceptedDelivery> Accept(const spi::InboundDelivery& d) const override {
    auto sig = d.headers.find(kSignature);
    auto ts = d.headers.find(kTimestamp);
    if (sig == d.headers.end() || ts == d.headers.end())
      return absl::UnauthenticatedError(
          "missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp");
    // Zendesk signs the timestamp header's text followed by the body.
    if (auto s = VerifyHmac(kScheme, secret_, absl::StrCat(ts->second, d.body), sig->second);
        !s.ok())
      return s;
    auto when = base::ParseTimestamp(ts->second);
    if (!when.ok()) return absl::UnauthenticatedError("the signature timestamp is not ISO 8601");
    if (auto s = CheckFreshness(*when, d.received_at, window_); !s.ok()) return s;
    auto ids = ObjectTexts(d.body, {"/detail/id", "/id"}, "the body", IdText);
    if (!ids.ok()) return ids.status();
    if ((*ids)[0].empty())
      return absl::InvalidArgumentError("the body has no detail.id (the ticket)");
    spi::AcceptedDelivery out;
    out.delivery_key = (*ids)[1];  // the event's id: the same on every redelivery
    out.replay_key = ReplayKey(absl::StrCat(ts->second, d.body));
    if (out.delivery_key.empty()) out.delivery_key = HexEncode(Sha256(d.body));
    return out;
  }

  absl::StatusOr<spi::NormalizeResult> Normalize(const spi::InboundDelivery& d) const override {
    auto doc = ParseObject(d.body, "the body");
    if (!doc.ok()) return doc.status();
    if (d.headers.count(spi::kListedHeader)) {
      v1::Ticket t = FromTicket(*doc);
      return TicketEventOf(Solved(t.status()) ? v1::TICKET_SOLVED : v1::TICKET_UPDATED,
                           std::move(t));
    }
    spi::NormalizeResult r;
    const std::string full_type = Text(*doc, "type");
    absl::string_view type_view = full_type;
    const bool ticket_event = absl::ConsumePrefix(&type_view, kEventPrefix);
    const std::string type(type_view);
    if (!ticket_event) {
      r.ignored_reason =
          absl::StrCat("event type \"", Text(*doc, "type"), "\" is not a ticket event");
      return r;
    }
    const json* detail = Member(*doc, "detail");
    if (detail == nullptr) return absl::InvalidArgumentError("the body has no detail");
    v1::Ticket t = FromTicket(*detail);
    if (type == "created") return TicketEventOf(v1::TICKET_CREATED, std::move(t));
    if (type == "comment_added") {
      const json* event = Member(*doc, "event");
      const json* comment = event ? Member(*event, "comment") : nullptr;
      if (comment && Text(*comment, "is_public") == "false") {
        r.ignored_reason = "internal note (Debrief's own notes are internal too)";
        return r;
      }
      t.clear_body();  // a reply keeps the customer's first message as the ticket's words
      return TicketEventOf(v1::TICKET_COMMENTED, std::move(t));
    }
    if (type == "status_changed")
      return TicketEventOf(Solved(t.status()) ? v1::TICKET_SOLVED : v1::TICKET_UPDATED,
                           std::move(t));
    if (type == "subject_changed" || type == "description_changed")
      return TicketEventOf(v1::TICKET_UPDATED, std::move(t));
    r.ignored_reason = absl::StrCat("ticket event \"", type,
                                    "\" changes neither the customer's words nor the status");
    return r;
  }

  absl::Status WriteBack(const v1::Ticket& ticket, const v1::Classification& c,
                         const v1::ImprovementTask* task) override {
    json update = json::object();
    if (!c.needs_review()) {
      update["additional_tags"] = {CauseTag(prefix_, c.category_id())};
      if (cfg_.root_cause_field_id() != 0)
        update["custom_fields"] = {
            {{"id", cfg_.root_cause_field_id()}, {"value", c.category_id()}}};
    }
    return Update(ticket, std::move(update), WriteBackNote(c, task), WriteBackKey(ticket, c, task),
                  false);
  }

  absl::Status PostNote(const v1::Ticket& ticket, const spi::TicketNote& note) override {
    json update = json::object();
    if (!note.add_tags.empty()) update["additional_tags"] = note.add_tags;
    return Update(ticket, std::move(update), note.body, note.idempotency_key, note.is_public);
  }

  absl::StatusOr<std::map<std::string, std::string>> SignDelivery(absl::string_view body,
                                                                  absl::Time now) const override {
    std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone());
    return std::map<std::string, std::string>{
        {"content-type", "application/json"},
        {kTimestamp, ts},
        {kSignature, SignHmac(kScheme, secret_, absl::StrCat(ts, body))}};
  }

  absl::Status Check() override {
    auto me = Call(http_, Request("GET", "/api/v2/users/me.json"), What("check"), clock_.Now());
    if (!me.ok()) return me.status();
    json j = json::parse(me->body, nullptr, false);
    const json* user = Member(j, "user");
    if (user == nullptr || Text(*user, "id").empty() || Text(*user, "role") == "end-user")
      return absl::PermissionDeniedError(
          What("the API token does not sign in as an agent (check email and api_token)"));
    if (cfg_.root_cause_field_id() != 0) {
      auto f = Call(http_,
                    Request("GET", absl::StrCat("/api/v2/ticket_fields/",
                                                cfg_.root_cause_field_id(), ".json")),
                    What("ticket field ", cfg_.root_cause_field_id()), clock_.Now());
      if (!f.ok()) return f.status();
    }
    return absl::OkStatus();
  }

  // Incremental export (cursor-based): resumable by Zendesk's own cursor.
  absl::StatusOr<spi::TicketPage> ListTickets(const std::string& cursor,
                                              absl::Time since) override {
    std::string path =
        cursor.empty()
            ? absl::StrCat("/api/v2/incremental/tickets/cursor.json?start_time=",
                           absl::ToUnixSeconds(since))
            : absl::StrCat("/api/v2/incremental/tickets/cursor.json?cursor=", UrlEncode(cursor));
    auto res = Call(http_, Request("GET", path), What("incremental export"), clock_.Now());
    if (!res.ok()) return res.status();
    auto doc = ParseObject(res->body, "Zendesk's incremental export");
    if (!doc.ok()) return doc.status();
    const json* tickets = Member(*doc, "tickets");
    if (tickets == nullptr || !tickets->is_array())
      return absl::InvalidArgumentError("Zendesk's incremental export has no tickets");
    spi::TicketPage page;
    for (const json& t : *tickets) {
      if (Text(t, "status") == "deleted") continue;
      page.deliveries.push_back(ListedTicket(Text(t, "id"), Text(t, "updated_at"), t.dump()));
    }
    page.next_cursor = Text(*doc, "after_cursor");
    if (page.next_cursor.empty()) page.next_cursor = cursor;
    page.more = Text(*doc, "end_of_stream") != "true";
    return page;
  }

 private:
  template <typename... Args>
  std::string What(const Args&... args) const {
    return absl::StrCat("Zendesk ", id_, ": ", args...);
  }

  spi::HttpRequest Request(const char* method, const std::string& path) const {
    return JsonRequest(method, absl::StrCat(base_, path), auth_);
  }

  // A ticket from an event's detail or the API (the same field names).
  v1::Ticket FromTicket(const json& j) const {
    v1::Ticket t;
    t.set_ticket_id(Text(j, "id"));
    t.set_subject(Text(j, "subject"));
    t.set_body(base::StripQuotedReply(Text(j, "description")));
    t.set_status(absl::AsciiStrToLower(Text(j, "status")));
    t.mutable_requester()->set_id(Text(j, "requester_id"));
    if (const json* via = Member(j, "via")) t.set_channel(Text(*via, "channel"));
    if (const json* tags = Member(j, "tags"); tags && tags->is_array())
      for (const auto& tag : *tags)
        if (tag.is_string()) t.add_tags(tag.get<std::string>());
    t.set_url(absl::StrCat(base_, "/agent/tickets/", t.ticket_id()));
    SetTime(Text(j, "created_at"), t.mutable_created_at());
    SetTime(Text(j, "updated_at"), t.mutable_updated_at());
    return t;
  }

  // One ticket update carrying the note (and tags/field); the note is looked for first, so a
  // retry after an unknown outcome does not write it twice.
  absl::Status Update(const v1::Ticket& ticket, json update, const std::string& note,
                      const std::string& key, bool is_public) {
    auto comments = Call(http_,
                         Request("GET", absl::StrCat("/api/v2/tickets/", ticket.ticket_id(),
                                                     "/comments.json?sort_order=desc")),
                         What("comments of ticket ", ticket.ticket_id()), clock_.Now());
    if (!comments.ok()) return comments.status();
    if (!absl::StrContains(comments->body, NoteId(key)))
      update["comment"] = {{"html_body", NoteHtml(note, key)}, {"public", is_public}};
    else if (update.empty())
      return absl::OkStatus();
    spi::HttpRequest req =
        Request("PUT", absl::StrCat("/api/v2/tickets/", ticket.ticket_id(), ".json"));
    req.body = json{{"ticket", std::move(update)}}.dump();
    return Call(http_, req, What("update ticket ", ticket.ticket_id()), clock_.Now()).status();
  }

  std::string id_;
  std::string type_ = "zendesk";
  ZendeskConfig cfg_;
  std::optional<RsaPublicKey> app_key_;
  std::string auth_, secret_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string base_, prefix_, host_;
  absl::Duration window_;
};

class Factory final : public spi::HelpdeskAdapterFactory {
 public:
  std::string type() const override { return "zendesk"; }
  const google::protobuf::Descriptor* settings() const override {
    return ZendeskConfig::descriptor();
  }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    ZendeskConfig cfg;
    if (!settings::ParseSettings(config.settings(), &cfg, config.id()).ok()) cfg.Clear();
    const v1::SecretRef& secret = cfg.signing_secret();
    std::string held = WhereKept(secret);  // never the secret itself
    std::vector<spi::SetupStep> steps;
    steps.push_back({"Create a webhook in Zendesk",
                     "Admin Center > Apps and integrations > Webhooks > Create webhook > Zendesk "
                     "events. Subscribe it to these events (others are accepted and ignored).",
                     "Ticket created, Comment added, Status changed"});
    steps.push_back({"Point the webhook at Debrief",
                     "Endpoint URL: this URL, request method POST, request format JSON.",
                     where.webhook_url});
    steps.push_back(
        {"Give Debrief the webhook's signing secret",
         absl::StrCat("Once the webhook is created, reveal its signing secret in "
                      "Zendesk and give it to Debrief as this adapter's signing "
                      "secret: Edit in the admin console, or the command below (it "
                      "applies at once; a file edited by hand needs a reload). "
                      "Debrief refuses deliveries whose X-Zendesk-Webhook-Signature "
                      "it cannot verify."),
         absl::StrCat("debriefctl adapters edit ", config.id(), " --secret signing_secret=-")});
    // The app's Debrief URL: the public address, as agents' browsers reach it over https.
    std::string app_url = "<the https:// address agents' browsers reach Debrief at>";
    absl::string_view base = where.webhook_url;
    if (where.public_url_known && absl::StartsWith(base, "https://") &&
        absl::ConsumeSuffix(&base, absl::StrCat("/webhooks/", config.id())))
      app_url = std::string(base);
    steps.push_back(
        {"Install the Debrief app (optional)",
         "For Debrief's panel in the ticket sidebar, upload "
         "/usr/share/debrief/apps/debrief-zendesk-app.zip in Admin Center > Apps and integrations "
         "> Zendesk Support apps > Upload private app, with these settings. Then set this "
         "adapter's app_installation_id and app_public_key (the PEM from Zendesk's GET "
         "/api/v2/apps/{app_id}/public_key.pem) so agents are signed in.",
         absl::StrCat("Debrief URL: ", app_url, "; Helpdesk id: ", config.id())});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::HelpdeskAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    ZendeskConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (cfg.subdomain().empty() == cfg.url().empty())
      return absl::InvalidArgumentError("settings: give subdomain (acme) or url, not both");
    if (!cfg.url().empty() && !absl::StartsWith(cfg.url(), "http"))
      return absl::InvalidArgumentError("settings.url must be an http(s) URL");
    if (cfg.email().empty() || !cfg.has_api_token())
      return absl::InvalidArgumentError("settings.email and settings.api_token are required");
    if (!cfg.has_signing_secret())
      return absl::InvalidArgumentError(
          "settings.signing_secret is required (the webhook's signing secret); unsigned "
          "webhooks are refused");
    auto token = settings::ResolveSecret(cfg.api_token(), ctx);
    if (!token.ok()) return token.status();
    auto secret = settings::ResolveSecret(cfg.signing_secret(), ctx);
    if (!secret.ok()) return secret.status();
    std::optional<RsaPublicKey> app_key;
    if (cfg.has_app_public_key() != (cfg.app_installation_id() != 0))
      return absl::InvalidArgumentError(
          "settings.app_public_key and settings.app_installation_id go together (the sidebar "
          "app's sign-in)");
    if (cfg.has_app_public_key()) {
      auto pem = settings::ResolveSecret(cfg.app_public_key(), ctx);
      if (!pem.ok()) return pem.status();
      auto key = RsaPublicKey::FromPem(*pem);
      if (!key.ok())
        return absl::InvalidArgumentError(
            absl::StrCat("settings.app_public_key: ", key.status().message()));
      app_key = std::move(*key);
    }
    return std::make_unique<Zendesk>(config.id(), std::move(cfg), std::move(*token),
                                     std::move(*secret), std::move(app_key), ctx);
  }
};

}  // namespace

void RegisterZendesk(spi::AdapterRegistry& registry) { registry.Add(std::make_unique<Factory>()); }

}  // namespace debrief::adapters::zendesk
