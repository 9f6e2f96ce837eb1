#include "helpdesk/generic/generic_adapter.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/text_clean.h"
#include "base/time_util.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/signature.h"
#include "helpdesk/generic/generic.pb.h"
#include "settings/settings.h"

namespace debrief::adapters::generic {
namespace {

using json = nlohmann::json;
namespace v1 = ::debrief::v1;
using v1config = GenericHelpdeskConfig;

std::string Or(const std::string& v, const char* fallback) { return v.empty() ? fallback : v; }

// A value as text (numbers too, floats as JSON spells them); empty for null and containers.
std::string ValueText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return "";
}

// A value at a JSON pointer, as text (ValueText); empty when absent.
std::string TextAt(const json& doc, const std::string& pointer) {
  const json* v = At(doc, pointer);
  return v == nullptr ? "" : ValueText(*v);
}

v1::TicketEventType EventTypeOf(const std::string& name) {
  std::string n = absl::AsciiStrToLower(name);
  if (absl::StrContains(n, "creat") || absl::StrContains(n, "new")) return v1::TICKET_CREATED;
  if (absl::StrContains(n, "comment") || absl::StrContains(n, "repl") ||
      absl::StrContains(n, "message"))
    return v1::TICKET_COMMENTED;
  if (absl::StrContains(n, "solv") || absl::StrContains(n, "resolv") ||
      absl::StrContains(n, "clos"))
    return v1::TICKET_SOLVED;
  if (absl::StrContains(n, "updat") || absl::StrContains(n, "chang")) return v1::TICKET_UPDATED;
  return v1::TICKET_EVENT_TYPE_UNSPECIFIED;
}

class GenericHelpdesk final : public spi::HelpdeskAdapter {
 public:
  GenericHelpdesk(std::string id, v1config cfg, std::string secret, std::string bearer,
                  const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        secret_(std::move(secret)),
        bearer_(std::move(bearer)),
        http_(ctx.http),
        clock_(ctx.clock) {
    sig_header_ = absl::AsciiStrToLower(Or(cfg_.signature_header(), "X-Debrief-Signature"));
    ts_header_ = absl::AsciiStrToLower(cfg_.timestamp_header());
    id_header_ = absl::AsciiStrToLower(cfg_.delivery_id_header());
    scheme_.base64 = absl::AsciiStrToLower(cfg_.signature_encoding()) == "base64";
    scheme_.prefix = cfg_.signature_prefix();
    window_ = settings::ToDuration(cfg_.replay_window(), absl::Minutes(5));
    auto& f = *cfg_.mutable_fields();
    auto def = [](std::string* field, const char* v) {
      if (field->empty()) *field = v;
    };
    def(f.mutable_ticket_id(), "/ticket/id");
    def(f.mutable_subject(), "/ticket/subject");
    def(f.mutable_body(), "/ticket/description");
    def(f.mutable_requester_id(), "/ticket/requester/id");
    def(f.mutable_requester_name(), "/ticket/requester/name");
    def(f.mutable_requester_email(), "/ticket/requester/email");
    def(f.mutable_status(), "/ticket/status");
    def(f.mutable_channel(), "/ticket/channel");
    def(f.mutable_tags(), "/ticket/tags");
    def(f.mutable_created_at(), "/ticket/created_at");
    def(f.mutable_updated_at(), "/ticket/updated_at");
    def(f.mutable_event(), "/event");
    def(f.mutable_url(), "/ticket/url");
    def(f.mutable_assignee_name(), "/ticket/assignee/name");
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  // spi::HelpdeskAdapter
  absl::StatusOr<spi::AcceptedDelivery> Accept(const spi::InboundDelivery& d) const override {
    auto sig = d.headers.find(sig_header_);
    if (sig == d.headers.end() || sig->second.empty())
      return absl::UnauthenticatedError(absl::StrCat("missing signature header ", sig_header_));
    std::string message;
    if (!ts_header_.empty()) {
      auto ts = d.headers.find(ts_header_);
      if (ts == d.headers.end())
        return absl::UnauthenticatedError(absl::StrCat("missing timestamp header ", ts_header_));
      auto when = base::ParseTimestamp(ts->second);
      if (!when.ok())
        return absl::UnauthenticatedError(absl::StrCat("bad timestamp header ", ts_header_));
      if (absl::Status s = CheckFreshness(*when, d.received_at, window_); !s.ok()) return s;
      message = absl::StrCat(ts->second, ".", d.body);
    }
    if (absl::Status s =
            VerifyHmac(scheme_, secret_, ts_header_.empty() ? d.body : absl::string_view(message),
                       sig->second);
        !s.ok())
      return s;

    auto id = ObjectTexts(d.body, {cfg_.fields().ticket_id()}, "the body", IdText);
    if (!id.ok()) return absl::InvalidArgumentError("body is not a JSON object");
    if ((*id)[0].empty())
      return absl::InvalidArgumentError(
          absl::StrCat("no ticket id at ", cfg_.fields().ticket_id(),
                       " (an id is text, or the digits of an integer of up to 64 bits)"));

    spi::AcceptedDelivery out;
    if (!ts_header_.empty()) out.replay_key = ReplayKey(message);
    if (!id_header_.empty()) {
      auto h = d.headers.find(id_header_);
      if (h != d.headers.end() && !h->second.empty()) out.delivery_key = h->second;
    }
    if (out.delivery_key.empty()) out.delivery_key = HexEncode(Sha256(d.body));
    return out;
  }

  absl::StatusOr<spi::NormalizeResult> Normalize(const spi::InboundDelivery& d) const override {
    json doc = json::parse(d.body.begin(), d.body.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return absl::InvalidArgumentError("body is not a JSON object");
    const auto& f = cfg_.fields();
    spi::NormalizeResult r;
    std::string event = TextAt(doc, f.event());
    v1::TicketEventType type = v1::TICKET_UPDATED;
    if (!event.empty()) {
      auto mapped = cfg_.events().find(event);
      if (mapped != cfg_.events().end()) {
        if (mapped->second == "ignore") {
          r.ignored_reason = absl::StrCat("event ", event, " is ignored by configuration");
          return r;
        }
        type = EventTypeOf(mapped->second);
      } else {
        type = EventTypeOf(event);
      }
      if (type == v1::TICKET_EVENT_TYPE_UNSPECIFIED) {
        r.ignored_reason = absl::StrCat("unknown event type \"", event, "\"");
        return r;
      }
    }
    v1::Ticket t;
    if (const json* id = At(doc, f.ticket_id()); id != nullptr) t.set_ticket_id(IdText(*id));
    if (t.ticket_id().empty())
      return absl::InvalidArgumentError(absl::StrCat("no ticket id at ", f.ticket_id()));
    t.set_subject(TextAt(doc, f.subject()));
    t.set_body(base::StripQuotedReply(base::HtmlToText(TextAt(doc, f.body()))));
    t.mutable_requester()->set_id(TextAt(doc, f.requester_id()));
    t.mutable_requester()->set_name(TextAt(doc, f.requester_name()));
    t.mutable_requester()->set_email(TextAt(doc, f.requester_email()));
    t.set_status(absl::AsciiStrToLower(TextAt(doc, f.status())));
    t.set_channel(TextAt(doc, f.channel()));
    t.set_url(TextAt(doc, f.url()));
    t.mutable_assignee()->set_name(TextAt(doc, f.assignee_name()));
    if (const json* tags = At(doc, f.tags()); tags != nullptr && tags->is_array())
      for (const auto& tag : *tags)
        if (tag.is_string()) t.add_tags(tag.get<std::string>());
    if (auto c = base::ParseTimestamp(TextAt(doc, f.created_at())); c.ok())
      base::SetTimestamp(t.mutable_created_at(), *c);
    if (auto u = base::ParseTimestamp(TextAt(doc, f.updated_at())); u.ok())
      base::SetTimestamp(t.mutable_updated_at(), *u);
    if (type != v1::TICKET_SOLVED &&
        (t.status() == "solved" || t.status() == "closed" || t.status() == "resolved"))
      type = v1::TICKET_SOLVED;
    r.event.emplace();
    r.event->set_type(type);
    *r.event->mutable_ticket() = std::move(t);
    return r;
  }

  absl::Status WriteBack(const v1::Ticket& ticket, const v1::Classification& c,
                         const v1::ImprovementTask* task) override {
    if (cfg_.write_back().url().empty()) return absl::OkStatus();  // configured: none
    json body = {{"ticket_id", ticket.ticket_id()},
                 {"category", c.category_id()},
                 {"confidence", c.confidence()},
                 {"needs_review", c.needs_review()},
                 {"internal", true}};
    if (task != nullptr) {
      body["task"] = {{"id", task->id()},
                      {"title", task->title()},
                      {"url", task->url()},
                      {"key", task->external_key()}};
    }
    body["note"] = WriteBackNote(c, task);
    return Post(ticket, body, WriteBackKey(ticket, c, task));
  }

  absl::Status PostNote(const v1::Ticket& ticket, const spi::TicketNote& note) override {
    if (cfg_.write_back().url().empty()) return absl::OkStatus();  // configured: none
    json body = {{"ticket_id", ticket.ticket_id()},
                 {"note", note.body},
                 {"internal", !note.is_public},
                 {"public", note.is_public},
                 {"tags", note.add_tags}};
    return Post(ticket, body, note.idempotency_key);
  }

  // One call to the write-back URL; 429 and 5xx are retried (honouring Retry-After).
  absl::Status Post(const v1::Ticket& ticket, const json& body, const std::string& key) {
    spi::HttpRequest req;
    req.method = Or(cfg_.write_back().method(), "POST");
    req.url = absl::StrReplaceAll(cfg_.write_back().url(), {{"{ticket_id}", ticket.ticket_id()}});
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Idempotency-Key", key);
    if (!bearer_.empty())
      req.headers.emplace_back("Authorization", absl::StrCat("Bearer ", bearer_));
    for (const auto& [k, v] : cfg_.write_back().headers()) req.headers.emplace_back(k, v);
    req.body = body.dump();
    return Call(http_, req, absl::StrCat("write-back for ticket ", ticket.ticket_id()),
                clock_.Now())
        .status();
  }

  absl::StatusOr<std::map<std::string, std::string>> SignDelivery(absl::string_view body,
                                                                  absl::Time now) const override {
    std::map<std::string, std::string> h;
    h["content-type"] = "application/json";
    std::string message(body);
    if (!ts_header_.empty()) {
      std::string ts = std::to_string(absl::ToUnixSeconds(now));
      h[ts_header_] = ts;
      message = absl::StrCat(ts, ".", body);
    }
    h[sig_header_] = SignHmac(scheme_, secret_, message);
    if (!id_header_.empty()) h[id_header_] = HexEncode(Sha256(body)).substr(0, 32);
    return h;
  }

  absl::Status Check() override {
    if (cfg_.write_back().url().empty()) return absl::OkStatus();
    spi::HttpRequest req;
    req.method = "HEAD";
    req.url = absl::StrReplaceAll(cfg_.write_back().url(), {{"{ticket_id}", "0"}});
    req.timeout = absl::Seconds(10);
    auto res = http_.Send(req);
    if (!res.ok())
      return absl::UnavailableError(
          absl::StrCat("write-back endpoint unreachable: ", res.status().message()));
    return absl::OkStatus();
  }

 private:
  std::string id_;
  std::string type_ = "generic";
  v1config cfg_;
  std::string secret_;
  std::string bearer_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string sig_header_, ts_header_, id_header_;
  HmacScheme scheme_;
  absl::Duration window_;
};

class GenericFactory final : public spi::HelpdeskAdapterFactory {
 public:
  std::string type() const override { return "generic"; }
  const google::protobuf::Descriptor* settings() const override { return v1config::descriptor(); }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    v1config cfg;
    if (!settings::ParseSettings(config.settings(), &cfg, config.id()).ok()) cfg.Clear();
    std::string held = WhereKept(cfg.secret());  // never the secret itself
    std::vector<spi::SetupStep> steps;
    steps.push_back({"Point the helpdesk's webhook at Debrief",
                     "In the helpdesk, make a webhook that POSTs every ticket event to this URL "
                     "with a JSON body.",
                     where.webhook_url});
    const bool base64 = absl::AsciiStrToLower(cfg.signature_encoding()) == "base64";
    std::string headers =
        absl::StrCat(Or(cfg.signature_header(), "X-Debrief-Signature"), ": ",
                     cfg.signature_prefix(), base64 ? "<base64" : "<hex", " HMAC-SHA256 of ",
                     cfg.timestamp_header().empty() ? "the body>" : "\"<timestamp>.<body>\">");
    if (!cfg.timestamp_header().empty())
      absl::StrAppend(&headers, "; ", cfg.timestamp_header(), ": <Unix seconds or RFC 3339>");
    if (!cfg.delivery_id_header().empty())
      absl::StrAppend(&headers, "; ", cfg.delivery_id_header(), ": <the delivery's id>");
    steps.push_back(
        {"Sign every delivery",
         absl::StrCat("Have the helpdesk sign each delivery with HMAC-SHA256 keyed with "
                      "the shared secret you saved in Debrief",
                      held,
                      " and send the headers below. Unsigned or wrongly signed "
                      "deliveries are refused with 401."),
         headers});
    steps.push_back(
        {"Put the ticket and its event in the body",
         "Each delivery must hold the ticket's id and the event's name at these JSON pointers. "
         "Event names are understood by their words (\"ticket.created\" or \"new\" is created; "
         "\"comment\", \"reply\" or \"message\" commented; \"solved\", \"resolved\" or "
         "\"closed\" solved; \"updated\" or \"changed\" updated); settings.events names "
         "others.",
         absl::StrCat("ticket id: ", Or(cfg.fields().ticket_id(), "/ticket/id"),
                      "; event: ", Or(cfg.fields().event(), "/event"))});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::HelpdeskAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    v1config cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!cfg.has_secret())
      return absl::InvalidArgumentError(
          "settings.secret is required (env: NAME or file: PATH); unsigned webhooks are refused");
    auto secret = settings::ResolveSecret(cfg.secret(), ctx);
    if (!secret.ok()) return secret.status();
    const auto* fields = cfg.fields().GetDescriptor();
    for (int i = 0; i < fields->field_count(); ++i) {
      std::string p = cfg.fields().GetReflection()->GetString(cfg.fields(), fields->field(i));
      if (p.empty()) continue;
      try {
        json::json_pointer check(p);
      } catch (const json::exception&) {
        return absl::InvalidArgumentError(absl::StrCat("settings.fields.", fields->field(i)->name(),
                                                       ": \"", p,
                                                       "\" is not a JSON pointer (/a/b)"));
      }
    }
    std::string enc = absl::AsciiStrToLower(cfg.signature_encoding());
    if (!enc.empty() && enc != "hex" && enc != "base64")
      return absl::InvalidArgumentError("settings.signature_encoding: hex or base64");
    std::string bearer;
    if (cfg.write_back().has_bearer_token()) {
      auto b = settings::ResolveSecret(cfg.write_back().bearer_token(), ctx);
      if (!b.ok()) return b.status();
      bearer = *b;
    }
    if (!cfg.write_back().url().empty() && !absl::StartsWith(cfg.write_back().url(), "http"))
      return absl::InvalidArgumentError("settings.write_back.url must be an http(s) URL");
    return std::make_unique<GenericHelpdesk>(config.id(), std::move(cfg), std::move(*secret),
                                             std::move(bearer), ctx);
  }
};

}  // namespace

void RegisterGenericHelpdesk(spi::AdapterRegistry& registry) {
  registry.Add(std::make_unique<GenericFactory>());
}

}  // namespace debrief::adapters::generic
