#include "api/api.h"

#include <functional>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "api/web_assets.h"
#include "base/form.h"
#include "base/log.h"
#include "base/time_util.h"
#include "base/utf8.h"
#include "google/protobuf/util/json_util.h"

namespace debrief::api {
namespace {

namespace v1 = ::debrief::v1;
using ingress::HttpCall;
using ingress::HttpReply;

constexpr absl::string_view kApiPrefix = "/api/v1/";
constexpr absl::string_view kSignInPrefix = "/app/signin/";

// One RPC over HTTP: parses the request, checks the caller may reach what it names, calls the
// service and prints the answer.
// Calls that change something are audited under the caller's name (Service::Audit).
using Method = std::function<absl::StatusOr<std::string>(
    service::Service&, const auth::Caller&, const std::string& name, absl::string_view body)>;

template <typename Req, typename Resp>
Method Unary(absl::StatusOr<Resp> (service::Service::*fn)(const Req&)) {
  return [fn](service::Service& svc, const auth::Caller& caller, const std::string& name,
              absl::string_view body) -> absl::StatusOr<std::string> {
    Req req;
    google::protobuf::util::JsonParseOptions in;
    in.ignore_unknown_fields = false;
    const absl::string_view json = body.empty() ? absl::string_view("{}") : body;
    if (auto s = google::protobuf::util::JsonStringToMessage(
            google::protobuf::StringPiece(json.data(), json.size()), &req, in);
        !s.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("the request body is not a ", Req::descriptor()->name(),
                       " in JSON: ", base::ToValidUtf8(std::string(s.message()))));
    if (auto s = svc.Authorize(name, caller, req); !s.ok()) {
      svc.Audit(caller.name, name, req, s);
      return s;
    }
    absl::StatusOr<Resp> resp = (svc.*fn)(req);
    svc.Audit(caller.name, name, req, resp.status());
    if (!resp.ok()) return resp.status();
    google::protobuf::util::JsonPrintOptions out;
    out.always_print_primitive_fields = true;
    std::string text;
    if (auto s = google::protobuf::util::MessageToJsonString(*resp, &text, out); !s.ok())
      return absl::InternalError("the answer could not be written as JSON");
    return text;
  };
}

const std::map<std::string, Method, std::less<>>& Methods() {
  using S = service::Service;
  static const auto* methods = new std::map<std::string, Method, std::less<>>{
      {"Tagging.Classify", Unary(&S::Classify)},
      {"Tagging.Feedback", Unary(&S::Feedback)},
      {"Tagging.ListCategories", Unary(&S::ListCategories)},
      {"Tagging.ListEmerging", Unary(&S::ListEmerging)},
      {"Tagging.ListReview", Unary(&S::ListReview)},
      {"Tagging.PromoteEmerging", Unary(&S::PromoteEmerging)},
      {"Improvements.ListTasks", Unary(&S::ListTasks)},
      {"Improvements.GetTask", Unary(&S::GetTask)},
      {"Improvements.SearchTasks", Unary(&S::SearchTasks)},
      {"Improvements.LinkTicket", Unary(&S::LinkTicket)},
      {"Improvements.UnlinkTicket", Unary(&S::UnlinkTicket)},
      {"Improvements.RequestTask", Unary(&S::RequestTask)},
      {"Improvements.RefreshTask", Unary(&S::RefreshTask)},
      {"Tickets.GetTicket", Unary(&S::GetTicket)},
      {"Tickets.GetJourney", Unary(&S::GetJourney)},
      {"Tickets.SimilarTickets", Unary(&S::SimilarTickets)},
      {"Insights.CausesOverTime", Unary(&S::CausesOverTime)},
      {"Insights.TasksByImpact", Unary(&S::TasksByImpact)},
      {"Insights.FixOutcomes", Unary(&S::FixOutcomes)},
      {"Insights.CustomersVoice", Unary(&S::CustomersVoice)},
      {"Admin.GetConfig", Unary(&S::GetConfig)},
      {"Admin.Reload", Unary(&S::Reload)},
      {"Admin.ListAdapters", Unary(&S::ListAdapters)},
      {"Admin.CheckAdapter", Unary(&S::CheckAdapter)},
      {"Admin.ListAdapterTypes", Unary(&S::ListAdapterTypes)},
      {"Admin.SaveAdapter", Unary(&S::SaveAdapter)},
      {"Admin.RemoveAdapter", Unary(&S::RemoveAdapter)},
      {"Admin.GetAdapterSetup", Unary(&S::GetAdapterSetup)},
      {"Admin.DiffTaxonomy", Unary(&S::DiffTaxonomy)},
      {"Admin.ApplyTaxonomy", Unary(&S::ApplyTaxonomy)},
      {"Admin.TaxonomyHistory", Unary(&S::TaxonomyHistory)},
      {"Admin.ListDeadLetters", Unary(&S::ListDeadLetters)},
      {"Admin.ReplayDelivery", Unary(&S::ReplayDelivery)},
      {"Admin.DiscardDelivery", Unary(&S::DiscardDelivery)},
      {"Admin.ListDeadActions", Unary(&S::ListDeadActions)},
      {"Admin.RetryDeadAction", Unary(&S::RetryDeadAction)},
      {"Admin.DiscardDeadAction", Unary(&S::DiscardDeadAction)},
      {"Admin.ListAudit", Unary(&S::ListAudit)},
      {"Admin.ShowTrackerTask", Unary(&S::ShowTrackerTask)},
      {"Admin.SetTrackerTaskStatus", Unary(&S::SetTrackerTaskStatus)},
      {"Admin.CreateApiToken", Unary(&S::CreateApiToken)},
      {"Admin.ListApiTokens", Unary(&S::ListApiTokens)},
      {"Admin.RevokeApiToken", Unary(&S::RevokeApiToken)},
      {"Admin.MergePeople", Unary(&S::MergePeople)},
      {"Admin.SplitPerson", Unary(&S::SplitPerson)},
  };
  return *methods;
}

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
      return 412;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::AsciiStrToLower(absl::StatusCodeToString(code));
  absl::StrReplaceAll({{" ", "_"}}, &name);
  return name;
}

std::string JsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Text for an HTML page.
std::string Html(absl::string_view text) {
  return absl::StrReplaceAll(
      base::ToValidUtf8(std::string(text)),
      {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"}});
}

const WebAsset* FindAsset(absl::string_view name) {
  const std::string_view want(name.data(), name.size());
  for (const WebAsset& a : WebAssets())
    if (a.path == want) return &a;
  return nullptr;
}

std::string Bearer(const HttpCall& call) {
  auto it = call.headers.find("authorization");
  if (it == call.headers.end()) return "";
  absl::string_view v = it->second;
  if (!absl::ConsumePrefix(&v, "Bearer ") && !absl::ConsumePrefix(&v, "bearer ")) return "";
  return std::string(absl::StripAsciiWhitespace(v));
}

}  // namespace

Api::Api(service::Service& service, std::map<std::string, spi::HelpdeskAdapter*> helpdesks,
         const spi::Clock& clock, metrics::Metrics& metrics, const auth::Sessions& sessions,
         ApiOptions options)
    : service_(service),
      helpdesks_(std::move(helpdesks)),
      clock_(clock),
      metrics_(metrics),
      sessions_(sessions),
      refused_(metrics.Counters("debrief_api_refused_total",
                                "API calls and sign-ins refused, by reason (unauthenticated, "
                                "forbidden, other_helpdesk, signin, bad_request, not_found).")),
      calls_(metrics.Counters("debrief_api_calls_total",
                              "JSON API calls answered, by method and HTTP status class.")),
      signins_(metrics.Counters("debrief_api_signins_total",
                                "Agents signed in by their helpdesk, by helpdesk.")) {
  std::vector<std::string> ancestors = options.frame_ancestors;
  for (const auto& [id, h] : helpdesks_)
    for (std::string& origin : h->FrameOrigins()) ancestors.push_back(std::move(origin));
  std::sort(ancestors.begin(), ancestors.end());
  ancestors.erase(std::unique(ancestors.begin(), ancestors.end()), ancestors.end());
  csp_ = absl::StrCat(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
      "frame-ancestors ",
      ancestors.empty() ? "'none'" : absl::StrJoin(ancestors, " "));
  // Every label value now, so the series exist from the start (and none comes from a request).
  for (const char* reason :
       {"unauthenticated", "forbidden", "other_helpdesk", "signin", "bad_request", "not_found"})
    refused_.Add({{"reason", reason}});
  for (const auto& [id, h] : helpdesks_) signins_.Add({{"helpdesk", id}});
}

std::vector<ingress::Route> Api::Routes() {
  return {{std::string("/api/"), [this](const HttpCall& c) { return HandleApi(c); }},
          {std::string("/app"), [this](const HttpCall& c) { return HandleApp(c); }}};
}

void Api::Count(absl::string_view method, int status) {
  const std::string m =
      Methods().contains(method) || method == "session" ? std::string(method) : "unknown";
  calls_.Add({{"method", m}, {"code", absl::StrCat(status / 100, "xx")}}).Increment();
}

HttpReply Api::Error(int status, absl::string_view code, absl::string_view message,
                     absl::string_view refused_reason) {
  if (!refused_reason.empty()) refused_.Add({{"reason", std::string(refused_reason)}}).Increment();
  HttpReply r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json"},
               {"Cache-Control", "no-store"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"debrief\"");
  r.body = JsonText({{"error", std::string(message)}, {"code", std::string(code)}});
  return r;
}

absl::StatusOr<auth::Caller> Api::Authenticate(const HttpCall& call) {
  return service_.Authenticate(Bearer(call));
}

HttpReply Api::Session(const auth::Caller& caller, const std::string& ticket_id) {
  nlohmann::json j = {
      {"token", sessions_.Mint(caller)},
      {"expiresAt",
       absl::FormatTime(absl::RFC3339_sec, clock_.Now() + sessions_.ttl(), absl::UTCTimeZone())},
      {"name", caller.name},
      {"role", auth::RoleName(caller.role)},
      {"helpdeskId", caller.helpdesk_id},
      {"installation", caller.installation_only}};
  if (!ticket_id.empty()) j["ticketId"] = ticket_id;
  HttpReply r;
  r.headers = {{"Content-Type", "application/json"},
               {"Cache-Control", "no-store"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  r.body = JsonText(j);
  return r;
}

HttpReply Api::HandleApi(const HttpCall& call) {
  absl::string_view path = call.path;
  if (!absl::ConsumePrefix(&path, kApiPrefix)) {
    Count("unknown", 404);
    return Error(404, "not_found", "the API is at /api/v1/", "not_found");
  }
  if (call.method != "POST") {
    Count("unknown", 405);
    HttpReply r = Error(405, "method_not_allowed", "API calls are POSTed", "bad_request");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  auto caller = Authenticate(call);
  if (!caller.ok()) {
    const int status = HttpStatusOf(caller.status().code());
    Count(path == "session" || path == "session/refresh" ? "session" : path, status);
    return Error(status, CodeName(caller.status().code()), caller.status().message(),
                 status == 401 ? "unauthenticated" : "");
  }
  if (path == "session" || path == "session/refresh") {
    Count("session", 200);
    return Session(*caller, "");
  }
  // "Tickets/GetTicket" -> "Tickets.GetTicket"
  const size_t slash = path.find('/');
  const std::string method = slash == absl::string_view::npos
                                 ? std::string(path)
                                 : absl::StrCat(path.substr(0, slash), ".", path.substr(slash + 1));
  auto it = Methods().find(method);
  if (it == Methods().end()) {
    Count("unknown", 404);
    return Error(404, "not_found",
                 method == "Admin.Backfill"
                     ? "backfill streams its progress: use gRPC (debriefctl backfill)"
                     : "no such API method",
                 "not_found");
  }
  if (!auth::Allowed(method, *caller)) {
    Count(method, 403);
    return Error(403, "permission_denied", auth::Refusal(method, *caller), "forbidden");
  }
  absl::StatusOr<std::string> out = it->second(service_, *caller, it->first, call.body);
  if (!out.ok()) {
    const int status = HttpStatusOf(out.status().code());
    Count(method, status);
    const bool other_helpdesk = out.status().code() == absl::StatusCode::kPermissionDenied;
    if (status >= 500 && status != 503)
      base::log::Warning("api", "call failed",
                         {{"method", std::string(method)}, {"error", out.status().ToString()}});
    return Error(status, CodeName(out.status().code()),
                 status >= 500 && status != 503 && status != 501
                     ? "Debrief could not answer; the error is in its log"
                     : std::string(out.status().message()),
                 other_helpdesk  ? "other_helpdesk"
                 : status == 400 ? "bad_request"
                                 : "");
  }
  Count(method, 200);
  HttpReply r;
  r.headers = {{"Content-Type", "application/json"},
               {"Cache-Control", "no-store"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  r.body = std::move(*out);
  return r;
}

std::vector<std::pair<std::string, std::string>> Api::PageHeaders() const {
  return {{"Content-Security-Policy", csp_},
          {"Referrer-Policy", "no-referrer"},
          {"X-Content-Type-Options", "nosniff"},
          {"Cross-Origin-Opener-Policy", "same-origin"},
          {"Permissions-Policy", "camera=(), microphone=(), geolocation=()"}};
}

HttpReply Api::Page(const std::string& session_json, absl::string_view page) {
  const WebAsset* index = FindAsset(page);
  HttpReply r;
  r.headers = PageHeaders();
  r.headers.emplace_back("Content-Type", std::string(index->content_type));
  r.headers.emplace_back("Cache-Control", "no-store");
  std::string html(index->body);
  if (!session_json.empty()) {
    // A JSON island the page reads (not run: CSP allows no inline script); "<" escaped so the
    // text cannot close its element.
    const std::string island =
        absl::StrCat("<script id=\"debrief-session\" type=\"application/json\">",
                     absl::StrReplaceAll(session_json, {{"<", "\\u003c"}}), "</script>");
    const size_t head = html.find("</head>");
    html.insert(head == std::string::npos ? 0 : head, island);
  }
  r.body = std::move(html);
  return r;
}

HttpReply Api::PageError(int status, absl::string_view message, absl::string_view refused_reason) {
  if (!refused_reason.empty()) refused_.Add({{"reason", std::string(refused_reason)}}).Increment();
  HttpReply r;
  r.status = status;
  r.headers = PageHeaders();
  r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = absl::StrCat(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Debrief</title>"
      "</head><body><main><h1>Debrief</h1><p>",
      Html(message), "</p></main></body></html>");
  return r;
}

HttpReply Api::SignIn(const std::string& helpdesk_id, const HttpCall& call) {
  auto h = helpdesks_.find(helpdesk_id);
  if (h == helpdesks_.end())
    return PageError(404, "No helpdesk is configured here under that name.", "not_found");
  if (call.body.size() > 64 * 1024)
    return PageError(400, "The sign-in form is too large.", "bad_request");
  auto fields = base::FormFields(call.body);
  if (!fields.ok())
    return PageError(400,
                     absl::StrCat("The sign-in form is malformed: ", fields.status().message()),
                     "bad_request");
  spi::AgentProof proof{std::move(*fields), clock_.Now()};
  auto agent = h->second->VerifyAgent(proof);
  if (!agent.ok()) {
    base::log::Info("api", "sign-in refused",
                    {{"helpdesk", helpdesk_id}, {"error", std::string(agent.status().message())}});
    return PageError(absl::IsUnimplemented(agent.status()) ? 404 : 401,
                     absl::StrCat("Debrief could not sign you in: ", agent.status().message()),
                     "signin");
  }
  signins_.Add({{"helpdesk", helpdesk_id}}).Increment();
  auth::Caller caller;
  caller.name = agent->name;
  caller.role = auth::Role::kAgent;
  caller.helpdesk_id = helpdesk_id;
  caller.installation_only = agent->installation_only;
  HttpReply session = Session(caller, agent->ticket_id);
  return Page(session.body);
}

HttpReply Api::HandleApp(const HttpCall& call) {
  absl::string_view path = call.path;
  if (path == "/app") path = "/app/";
  if (!absl::ConsumePrefix(&path, "/app/")) return PageError(404, "No such page.", "not_found");
  if (absl::StartsWith(call.path, kSignInPrefix)) {
    if (call.method != "POST")
      return PageError(405, "Open the ticket in your helpdesk to sign in.", "bad_request");
    const std::string helpdesk(call.path.substr(kSignInPrefix.size()));
    return SignIn(helpdesk, call);
  }
  if (call.method != "GET" && call.method != "HEAD")
    return PageError(405, "This page is only read.", "bad_request");
  if (const WebAsset* asset = path.empty() ? nullptr : FindAsset(path);
      asset != nullptr && !absl::EndsWith(path, ".html")) {
    HttpReply r;
    r.headers = PageHeaders();
    r.headers.emplace_back("Content-Type", std::string(asset->content_type));
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("ETag", std::string(asset->etag));
    auto inm = call.headers.find("if-none-match");
    if (inm != call.headers.end() && std::string_view(inm->second) == asset->etag) {
      r.status = 304;
      return r;
    }
    r.body = std::string(asset->body);
    return r;
  }
  // The panel's own paths: /app/, /app/ticket/{helpdesk}/{id}; the page reads them. The leads'
  // insights and the admins' console are a page of their own (the API decides what each role
  // may read).
  if (path.empty() || absl::StartsWith(path, "ticket/")) return Page("");
  if (path == "insights" || path == "insights/" || path == "admin" || path == "admin/")
    return Page("", "console.html");
  return PageError(404, "No such page.", "not_found");
}

}  // namespace debrief::api
