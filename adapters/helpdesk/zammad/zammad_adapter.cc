#include "helpdesk/zammad/zammad_adapter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/text_clean.h"
#include "base/time_util.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/signature.h"
#include "helpdesk/zammad/zammad.pb.h"
#include "settings/settings.h"

namespace debrief::adapters::zammad {
namespace {

namespace v1 = ::debrief::v1;

constexpr char kSignature[] = "x-hub-signature";
constexpr char kDelivery[] = "x-zammad-delivery";
const HmacScheme kScheme{Digest::kSha1, /*base64=*/false, "sha1="};

bool Solved(const std::string& state) {
  return state == "closed" || state == "merged" || absl::StartsWith(state, "closed");
}

std::string ArticleText(const json& a) {
  std::string body = Text(a, "body");
  if (absl::StrContains(Text(a, "content_type"), "html")) body = base::HtmlToText(body);
  return base::StripQuotedReply(body);
}

class Zammad final : public spi::HelpdeskAdapter {
 public:
  Zammad(std::string id, ZammadConfig cfg, std::string token, std::string secret,
         const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        token_(std::move(token)),
        secret_(std::move(secret)),
        http_(ctx.http),
        clock_(ctx.clock) {
    base_ = std::string(absl::StripSuffix(cfg_.url(), "/"));
    prefix_ = cfg_.tag_prefix().empty() ? "rc_" : cfg_.tag_prefix();
    page_size_ = cfg_.page_size() > 0 ? static_cast<int>(cfg_.page_size()) : 100;
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::AcceptedDelivery> Accept(const spi::InboundDelivery& d) const override {
    auto sig = d.headers.find(kSignature);
    if (sig == d.headers.end())
      return absl::UnauthenticatedError(
          "missing X-Hub-Signature: set the webhook's HMAC SHA1 Signature Token in Zammad");
    // Zammad signs nothing but the body (no timestamp): replays are caught by the delivery id.
    if (auto s = VerifyHmac(kScheme, secret_, d.body, sig->second); !s.ok()) return s;
    auto id = ObjectTexts(d.body, {"/ticket/id"}, "the body", IdText);
    if (!id.ok()) return id.status();
    if ((*id)[0].empty()) return absl::InvalidArgumentError("the body has no ticket.id");
    spi::AcceptedDelivery out;
    auto h = d.headers.find(kDelivery);
    out.delivery_key =
        h != d.headers.end() && !h->second.empty() ? h->second : HexEncode(Sha256(d.body));
    return out;
  }

  absl::StatusOr<spi::NormalizeResult> Normalize(const spi::InboundDelivery& d) const override {
    auto doc = ParseObject(d.body, "the body");
    if (!doc.ok()) return doc.status();
    const json* ticket = Member(*doc, "ticket");
    if (ticket == nullptr || !ticket->is_object())
      return absl::InvalidArgumentError("the body has no ticket");
    const json* article = Member(*doc, "article");
    v1::Ticket t = FromTicket(*ticket);
    if (d.headers.count(spi::kListedHeader)) {
      if (article) t.set_body(ArticleText(*article));
      return TicketEventOf(Solved(t.status()) ? v1::TICKET_SOLVED : v1::TICKET_UPDATED,
                           std::move(t));
    }
    spi::NormalizeResult r;
    // Zammad's payload names no event: the article tells. The ticket's first article is its
    // creation; a later one from the customer is a reply; internal ones are agents' notes.
    if (article && article->is_object() && !article->empty()) {
      const bool internal = Text(*article, "internal") == "true";
      const json* ids = Member(*ticket, "article_ids");
      const bool first =
          Text(*ticket, "article_count") == "1" ||
          (ids && ids->is_array() && !ids->empty() && TextOf((*ids)[0]) == Text(*article, "id"));
      if (first && !internal) {
        t.set_body(ArticleText(*article));
        return TicketEventOf(v1::TICKET_CREATED, std::move(t));
      }
      if (internal) {
        r.ignored_reason = "internal note (Debrief's own notes are internal too)";
        return r;
      }
      return TicketEventOf(v1::TICKET_COMMENTED, std::move(t));
    }
    if (Solved(t.status())) return TicketEventOf(v1::TICKET_SOLVED, std::move(t));
    if (Text(*ticket, "state").empty()) {
      r.ignored_reason = "the ticket has neither an article nor a state";
      return r;
    }
    return TicketEventOf(v1::TICKET_UPDATED, std::move(t));
  }

  absl::Status WriteBack(const v1::Ticket& ticket, const v1::Classification& c,
                         const v1::ImprovementTask* task) override {
    if (!c.needs_review()) {
      if (auto s = AddTags(ticket, {CauseTag(prefix_, c.category_id())}); !s.ok()) return s;
      if (!cfg_.root_cause_attribute().empty()) {
        spi::HttpRequest req = Request("PUT", absl::StrCat("/api/v1/tickets/", ticket.ticket_id()));
        req.body = json{{cfg_.root_cause_attribute(), c.category_id()}}.dump();
        auto res =
            Call(http_, req,
                 What("set ", cfg_.root_cause_attribute(), " on ticket ", ticket.ticket_id()),
                 clock_.Now());
        if (!res.ok()) return res.status();
      }
    }
    return Article(ticket, WriteBackNote(c, task), WriteBackKey(ticket, c, task), false);
  }

  absl::Status PostNote(const v1::Ticket& ticket, const spi::TicketNote& note) override {
    if (auto s = AddTags(ticket, note.add_tags); !s.ok()) return s;
    return Article(ticket, note.body, note.idempotency_key, note.is_public);
  }

  absl::StatusOr<std::map<std::string, std::string>> SignDelivery(absl::string_view body,
                                                                  absl::Time) const override {
    return std::map<std::string, std::string>{{"content-type", "application/json"},
                                              {kSignature, SignHmac(kScheme, secret_, body)},
                                              {kDelivery, HexEncode(Sha256(body)).substr(0, 32)}};
  }

  absl::Status Check() override {
    auto me = Call(http_, Request("GET", "/api/v1/users/me"), What("check"), clock_.Now());
    return me.status();
  }

  // Search by updated_at, keyset-paged (see KeysetCursor). Needs Zammad's search index.
  absl::StatusOr<spi::TicketPage> ListTickets(const std::string& cursor,
                                              absl::Time since) override {
    auto at = ParseKeysetCursor(cursor, since);
    if (!at.ok()) return at.status();
    std::string query =
        absl::StrCat("updated_at:>=",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", at->watermark, absl::UTCTimeZone()));
    auto res =
        Call(http_,
             Request("GET", absl::StrCat("/api/v1/tickets/search?query=", UrlEncode(query),
                                         "&sort_by=updated_at&order_by=asc&expand=true&limit=",
                                         page_size_, "&page=", at->page)),
             What("search tickets"), clock_.Now());
    if (!res.ok()) return res.status();
    json list = json::parse(res->body, nullptr, false);
    if (!list.is_array()) return absl::InvalidArgumentError("Zammad's search answer is not a list");
    spi::TicketPage page;
    absl::Time newest = at->watermark;
    for (const json& t : list) {
      newest = std::max(newest, ParseTime(Text(t, "updated_at")).value_or(newest));
      json doc = {{"ticket", t}};
      // Tickets created before the watermark were seen already; newer ones need their words.
      if (ParseTime(Text(t, "created_at")).value_or(absl::InfinitePast()) >= at->watermark) {
        auto first = FirstArticle(Text(t, "id"));
        if (!first.ok()) return first.status();
        doc["article"] = std::move(*first);
      }
      page.deliveries.push_back(ListedTicket(Text(t, "id"), Text(t, "updated_at"), doc.dump()));
    }
    page.next_cursor =
        NextKeysetCursor(*at, newest, static_cast<int>(list.size()) >= page_size_, &page.more);
    return page;
  }

 private:
  template <typename... Args>
  std::string What(const Args&... args) const {
    return absl::StrCat("Zammad ", id_, ": ", args...);
  }

  spi::HttpRequest Request(const char* method, const std::string& path) const {
    return JsonRequest(method, absl::StrCat(base_, path), absl::StrCat("Token token=", token_));
  }

  v1::Ticket FromTicket(const json& j) const {
    v1::Ticket t;
    t.set_ticket_id(Text(j, "id"));
    t.set_subject(Text(j, "title"));
    t.set_status(absl::AsciiStrToLower(Text(j, "state")));
    if (const json* c = Member(j, "customer"); c && c->is_object()) {
      t.mutable_requester()->set_id(Text(*c, "id"));
      t.mutable_requester()->set_email(Text(*c, "email"));
      t.mutable_requester()->set_name(std::string(absl::StripAsciiWhitespace(
          absl::StrCat(Text(*c, "firstname"), " ", Text(*c, "lastname")))));
    } else {
      t.mutable_requester()->set_id(Text(j, "customer_id"));
    }
    if (const json* o = Member(j, "owner"); o && o->is_object())
      t.mutable_assignee()->set_name(std::string(absl::StripAsciiWhitespace(
          absl::StrCat(Text(*o, "firstname"), " ", Text(*o, "lastname")))));
    t.set_channel(Text(j, "create_article_type"));
    if (const json* tags = Member(j, "tags"); tags && tags->is_array())
      for (const auto& tag : *tags)
        if (tag.is_string()) t.add_tags(tag.get<std::string>());
    t.set_url(absl::StrCat(base_, "/#ticket/zoom/", t.ticket_id()));
    SetTime(Text(j, "created_at"), t.mutable_created_at());
    SetTime(Text(j, "updated_at"), t.mutable_updated_at());
    return t;
  }

  absl::StatusOr<json> Articles(const std::string& ticket_id) {
    auto res =
        Call(http_, Request("GET", absl::StrCat("/api/v1/ticket_articles/by_ticket/", ticket_id)),
             What("articles of ticket ", ticket_id), clock_.Now());
    if (!res.ok()) return res.status();
    json list = json::parse(res->body, nullptr, false);
    if (!list.is_array()) return absl::InvalidArgumentError("Zammad's articles are not a list");
    return list;
  }

  absl::StatusOr<json> FirstArticle(const std::string& ticket_id) {
    auto list = Articles(ticket_id);
    if (!list.ok()) return list.status();
    for (const json& a : *list)
      if (Text(a, "internal") != "true") return a;
    return json::object();
  }

  absl::Status AddTags(const v1::Ticket& ticket, const std::vector<std::string>& tags) {
    for (const auto& tag : tags) {  // adding a tag twice is harmless in Zammad
      spi::HttpRequest req = Request("POST", "/api/v1/tags/add");
      req.body = json{{"item", tag}, {"object", "Ticket"}, {"o_id", ticket.ticket_id()}}.dump();
      auto res = Call(http_, req, What("tag ticket ", ticket.ticket_id()), clock_.Now());
      if (!res.ok()) return res.status();
    }
    return absl::OkStatus();
  }

  // An article written once: its marker is looked for among the ticket's articles first.
  absl::Status Article(const v1::Ticket& ticket, const std::string& body, const std::string& key,
                       bool is_public) {
    auto list = Articles(ticket.ticket_id());
    if (!list.ok()) return list.status();
    const std::string note_id = NoteId(key);
    for (const json& a : *list)
      if (absl::StrContains(Text(a, "body"), note_id)) return absl::OkStatus();
    json article = {{"ticket_id", ticket.ticket_id()},
                    {"body", NoteHtml(body, key)},
                    {"content_type", "text/html"},
                    {"internal", !is_public}};
    if (is_public && !ticket.requester().email().empty()) {
      article["type"] = "email";
      article["to"] = ticket.requester().email();
    } else {
      article["type"] = "note";
    }
    spi::HttpRequest req = Request("POST", "/api/v1/ticket_articles");
    req.body = article.dump();
    return Call(http_, req, What("article on ticket ", ticket.ticket_id()), clock_.Now()).status();
  }

  std::string id_;
  std::string type_ = "zammad";
  ZammadConfig cfg_;
  std::string token_, secret_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string base_, prefix_;
  int page_size_ = 100;
};

class Factory final : public spi::HelpdeskAdapterFactory {
 public:
  std::string type() const override { return "zammad"; }
  const google::protobuf::Descriptor* settings() const override {
    return ZammadConfig::descriptor();
  }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    ZammadConfig cfg;
    if (!settings::ParseSettings(config.settings(), &cfg, config.id()).ok()) cfg.Clear();
    const v1::SecretRef& secret = cfg.hmac_secret();
    std::string held = WhereKept(secret);  // never the secret itself
    std::vector<spi::SetupStep> steps;
    steps.push_back(
        {"Create a webhook in Zammad",
         absl::StrCat("Settings > Webhook > New: this URL as the endpoint, payload default, and as "
                      "its HMAC SHA1 Signature Token the HMAC secret you saved in Debrief",
                      held, ". Debrief refuses deliveries without a valid X-Hub-Signature."),
         where.webhook_url});
    steps.push_back({"Add a trigger that calls it",
                     "Make a Trigger with this condition and, as its action, perform: Webhook "
                     "(the one above).",
                     "Action is created or updated"});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::HelpdeskAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    ZammadConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!absl::StartsWith(cfg.url(), "http"))
      return absl::InvalidArgumentError("settings.url: Zammad's URL (https://zammad.example.com)");
    if (!cfg.has_token()) return absl::InvalidArgumentError("settings.token is required");
    if (!cfg.has_hmac_secret())
      return absl::InvalidArgumentError(
          "settings.hmac_secret is required (the webhook's HMAC SHA1 Signature Token); unsigned "
          "webhooks are refused");
    auto token = settings::ResolveSecret(cfg.token(), ctx);
    if (!token.ok()) return token.status();
    auto secret = settings::ResolveSecret(cfg.hmac_secret(), ctx);
    if (!secret.ok()) return secret.status();
    return std::make_unique<Zammad>(config.id(), std::move(cfg), std::move(*token),
                                    std::move(*secret), ctx);
  }
};

}  // namespace

void RegisterZammad(spi::AdapterRegistry& registry) { registry.Add(std::make_unique<Factory>()); }

}  // namespace debrief::adapters::zammad
