#include "tracker/linear/linear_tracker.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/signature.h"
#include "common/task_text.h"
#include "settings/settings.h"
#include "tracker/linear/linear.pb.h"

namespace debrief::adapters::linear {
namespace {

namespace v1 = ::debrief::v1;

const HmacScheme kScheme{Digest::kSha256, /*base64=*/false, ""};
// Linear recommends refusing a webhook whose signed webhookTimestamp is a minute off.
constexpr absl::Duration kReplayWindow = absl::Minutes(1);

// Every operation the adapter sends (tests/contract validates each against Linear's schema).
constexpr char kFindByMarker[] =
    "query DebriefFind($marker: String!) { issues(first: 5, includeArchived: true, filter: "
    "{description: {contains: $marker}}) { nodes { id identifier url description state { type } "
    "} } }";
constexpr char kCreate[] =
    "mutation DebriefCreate($input: IssueCreateInput!) { issueCreate(input: $input) { success "
    "issue { id identifier url state { type } } } }";
constexpr char kRead[] =
    "query DebriefRead($id: String!) { issue(id: $id) { id identifier url description state { "
    "type } labels { nodes { id name } } comments(first: 100) { nodes { body } } "
    "attachments(first: 100) { nodes { id url metadata } } } }";
constexpr char kStatus[] =
    "query DebriefStatus($id: String!) { issue(id: $id) { id identifier url state { type name } "
    "labels { nodes { name } } } }";
constexpr char kUpdate[] =
    "mutation DebriefUpdate($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, "
    "input: $input) { success } }";
constexpr char kComment[] =
    "mutation DebriefComment($input: CommentCreateInput!) { commentCreate(input: $input) { "
    "success } }";
constexpr char kLink[] =
    "mutation DebriefLink($input: AttachmentCreateInput!) { attachmentCreate(input: $input) { "
    "success } }";
constexpr char kUnlink[] =
    "mutation DebriefUnlink($id: String!) { attachmentDelete(id: $id) { success } }";
constexpr char kLabels[] =
    "query DebriefLabels($names: [String!]) { issueLabels(first: 100, filter: {name: {in: "
    "$names}}) { nodes { id name team { id } } } }";
constexpr char kLabelCreate[] =
    "mutation DebriefLabelCreate($input: IssueLabelCreateInput!) { issueLabelCreate(input: "
    "$input) { success issueLabel { id name } } }";
constexpr char kViewer[] = "query DebriefViewer { viewer { id } }";
constexpr char kTeam[] = "query DebriefTeam($id: String!) { team(id: $id) { id key } }";

v1::TaskStatus StatusOf(const std::string& state_type) {
  if (state_type == "started") return v1::TASK_IN_PROGRESS;
  if (state_type == "completed") return v1::TASK_DONE;
  if (state_type == "canceled" || state_type == "duplicate") return v1::TASK_WONT_DO;
  return v1::TASK_OPEN;  // triage, backlog, unstarted
}

spi::TrackerTask Describe(const json& issue) {
  spi::TrackerTask t;
  t.external_id = Text(issue, "id");  // a UUID: the identifier (ABC-12) changes on team moves
  t.external_key = Text(issue, "identifier");
  t.url = Text(issue, "url");
  t.status = StatusOf(Text(issue.value("state", json::object()), "type"));
  return t;
}

class Linear final : public spi::TrackerAdapter {
 public:
  Linear(std::string id, LinearConfig cfg, std::string key, std::string secret,
         spi::ShippedWhen shipped_when, const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        shipped_when_(shipped_when),
        auth_(absl::StartsWith(key, "lin_api_") ? key : absl::StrCat("Bearer ", key)),
        secret_(std::move(secret)),
        http_(ctx.http),
        clock_(ctx.clock) {
    api_ = cfg_.api_url().empty() ? "https://api.linear.app/graphql" : cfg_.api_url();
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    auto where = common::ProjectFor(d.category, cfg_.team_id(), "Linear team", "team_id");
    if (!where.ok()) return where.status();
    const std::string& team = *where;
    const std::string marker = common::TaskMarker(d.idempotency_key);
    auto found = Graph(kFindByMarker, {{"marker", marker}}, "Linear: search for the task");
    if (!found.ok()) return found.status();
    for (const json& i : found->value("issues", json::object()).value("nodes", json::array()))
      if (absl::StrContains(Text(i, "description"), marker)) return Describe(i);

    json input = {{"teamId", team}, {"title", d.title}, {"description", common::TaskBody(d)}};
    std::vector<std::string> names(cfg_.labels().begin(), cfg_.labels().end());
    names.insert(names.end(), d.category.routing().labels().begin(),
                 d.category.routing().labels().end());
    auto labels = LabelIds(names, team);
    if (!labels.ok()) return labels.status();
    if (!labels->empty()) input["labelIds"] = *labels;
    for (const auto& [k, v] : cfg_.fields())
      if (auto s = SetField(k, v, input); !s.ok()) return s;
    for (const auto& [k, v] : d.category.routing().fields())
      if (auto s = SetField(k, v, input); !s.ok()) return s;
    auto made = Graph(kCreate, {{"input", input}},
                      absl::StrCat("Linear: create the task for ", d.category.id()));
    if (!made.ok()) return made.status();
    const json issue = made->value("issueCreate", json::object()).value("issue", json());
    if (!issue.is_object() || Text(issue, "id").empty())
      return absl::InternalError("Linear: issueCreate returned no issue");
    if (auto s = SyncLinks(Text(issue, "id"), json::array(), d.tickets); !s.ok()) return s;
    return Describe(issue);
  }

  absl::Status UpdateTask(const std::string& external_id, const spi::TaskUpdate& u) override {
    auto got = Graph(kRead, {{"id", external_id}}, absl::StrCat("Linear: read ", external_id));
    if (!got.ok()) return got.status();
    const json issue = got->value("issue", json());
    if (!issue.is_object())
      return absl::NotFoundError(absl::StrCat("Linear: issue ", external_id, " not found"));
    json input = json::object();
    const std::string old = Text(issue, "description");
    const std::string now = common::ReplaceImpact(old, u.impact);
    if (now != old) input["description"] = now;
    std::set<std::string> have;
    json removed = json::array();
    for (const json& l : issue.value("labels", json::object()).value("nodes", json::array())) {
      have.insert(Text(l, "name"));
      if (std::find(u.remove_labels.begin(), u.remove_labels.end(), Text(l, "name")) !=
          u.remove_labels.end())
        removed.push_back(Text(l, "id"));
    }
    if (!removed.empty()) input["removedLabelIds"] = removed;
    std::vector<std::string> missing;
    for (const std::string& l : u.add_labels)
      if (!have.contains(l)) missing.push_back(l);
    if (!missing.empty()) {
      auto ids = LabelIds(missing, "");
      if (!ids.ok()) return ids.status();
      if (!ids->empty()) input["addedLabelIds"] = *ids;
    }
    if (!input.empty()) {
      auto s = Graph(kUpdate, {{"id", external_id}, {"input", input}},
                     absl::StrCat("Linear: update ", external_id));
      if (!s.ok()) return s.status();
    }
    if (auto s = SyncLinks(external_id,
                           issue.value("attachments", json::object()).value("nodes", json::array()),
                           u.tickets);
        !s.ok())
      return s;
    if (u.comment.empty()) return absl::OkStatus();
    const std::string marker = common::CommentMarker(u.comment_key);
    for (const json& c : issue.value("comments", json::object()).value("nodes", json::array()))
      if (absl::StrContains(Text(c, "body"), marker)) return absl::OkStatus();
    return Graph(kComment,
                 {{"input",
                   {{"issueId", external_id},
                    {"body", common::KeyedComment(u.comment, u.comment_key)}}}},
                 absl::StrCat("Linear: comment on ", external_id))
        .status();
  }

  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& external_id) override {
    auto got = Graph(kStatus, {{"id", external_id}}, absl::StrCat("Linear: read ", external_id));
    if (!got.ok()) return got.status();
    const json issue = got->value("issue", json());
    if (!issue.is_object())
      return absl::NotFoundError(absl::StrCat("Linear: issue ", external_id, " not found"));
    spi::TrackerTask t = Describe(issue);
    if (t.status == v1::TASK_DONE && Released(issue)) t.status = v1::TASK_SHIPPED;
    return t;
  }

  // A completed issue is shipped at once (shipped_when: done), or in a released state or with
  // a released label; Linear does not say when, so the core counts from when it read it.
  bool Released(const json& issue) const {
    if (shipped_when_ == spi::ShippedWhen::kDone) return true;
    auto named = [](const std::string& name, const auto& names) {
      for (const std::string& n : names)
        if (!name.empty() && absl::EqualsIgnoreCase(name, n)) return true;
      return false;
    };
    if (const json* st = Member(issue, "state");
        st && named(Text(*st, "name"), cfg_.released_states()))
      return true;
    const json* labels = Member(issue, "labels");
    const json* nodes = labels ? Member(*labels, "nodes") : nullptr;
    if (nodes == nullptr || !nodes->is_array()) return false;
    for (const json& l : *nodes)
      if (named(Text(l, "name"), cfg_.released_labels())) return true;
    return false;
  }

  bool sends_webhooks() const override { return true; }

  absl::StatusOr<spi::TaskEvents> AcceptWebhook(const spi::InboundDelivery& d) const override {
    if (secret_.empty())
      return absl::UnauthenticatedError(
          "Linear webhooks are refused: settings.webhook_secret is not set (the webhook's "
          "signing secret)");
    auto sig = d.headers.find("linear-signature");
    if (sig == d.headers.end()) return absl::UnauthenticatedError("missing Linear-Signature");
    if (auto s = VerifyHmac(kScheme, secret_, d.body, sig->second); !s.ok()) return s;
    auto doc = ParseObject(d.body, "Linear webhook body");
    if (!doc.ok()) return doc.status();
    const json* ts = Member(*doc, "webhookTimestamp");
    if (ts == nullptr || !ts->is_number())
      return absl::UnauthenticatedError("Linear webhook without webhookTimestamp");
    if (auto s =
            CheckFreshness(absl::FromUnixMillis(ts->get<int64_t>()), d.received_at, kReplayWindow);
        !s.ok())
      return s;
    spi::TaskEvents out;
    if (Text(*doc, "type") != "Issue") {
      out.ignored_reason = absl::StrCat("Linear ", Text(*doc, "type"),
                                        " events do not change an issue's state (subscribe the "
                                        "webhook to Issues)");
      return out;
    }
    const json* data = Member(*doc, "data");
    if (data == nullptr || Text(*data, "id").empty())
      return absl::InvalidArgumentError("Linear Issue event without data.id");
    out.external_ids.push_back(Text(*data, "id"));
    return out;
  }

  absl::Status Check(const std::vector<v1::Category>& routed) override {
    auto me = Graph(kViewer, json::object(), "Linear: who am I");
    if (!me.ok()) return me.status();
    const std::set<std::string> teams = common::ProjectsOf(cfg_.team_id(), routed);
    if (teams.empty())
      return absl::FailedPreconditionError(
          "Linear: no team configured (settings.team_id or a category's routing.project)");
    for (const std::string& t : teams) {
      auto team = Graph(kTeam, {{"id", t}}, absl::StrCat("Linear: team ", t));
      if (!team.ok()) return team.status();
    }
    std::vector<std::string> names(cfg_.labels().begin(), cfg_.labels().end());
    for (const v1::Category& c : routed)
      names.insert(names.end(), c.routing().labels().begin(), c.routing().labels().end());
    auto ids = LabelIds(names, "", /*create=*/false);
    if (!ids.ok()) return ids.status();
    return absl::OkStatus();
  }

 public:
  // One setting of settings.fields / routing.fields into issueCreate's input.
  static absl::Status SetField(const std::string& k, const std::string& v, json& input) {
    int64_t n = 0;
    double x = 0;
    if (k == "projectId" || k == "assigneeId" || k == "stateId" || k == "cycleId" ||
        k == "dueDate") {
      input[k] = v;
    } else if (k == "priority" && absl::SimpleAtoi(v, &n) && n >= 0 && n <= 4) {
      input[k] = n;
    } else if (k == "estimate" && absl::SimpleAtod(v, &x)) {
      input[k] = static_cast<int64_t>(x);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown or malformed Linear field \"", k,
          "\" (projectId, assigneeId, stateId, cycleId, dueDate, priority 0-4, estimate)"));
    }
    return absl::OkStatus();
  }

 private:
  // Label names to ids (team labels of `team`, or workspace labels). A label Linear does not
  // have yet is created (in the team, or in the workspace when no team is known), as GitHub and
  // GitLab do for a label they meet first; `create` false (Check) only reads.
  absl::StatusOr<std::vector<std::string>> LabelIds(const std::vector<std::string>& names,
                                                    const std::string& team, bool create = true) {
    std::vector<std::string> out;
    if (names.empty()) return out;
    auto got = Graph(kLabels, {{"names", names}}, "Linear: labels");
    if (!got.ok()) return got.status();
    std::map<std::string, std::string> by_name;
    for (const json& l : got->value("issueLabels", json::object()).value("nodes", json::array())) {
      const json owner = l.value("team", json());
      const std::string owner_id = owner.is_object() ? Text(owner, "id") : "";
      if (!team.empty() && !owner_id.empty() && owner_id != team) continue;
      by_name.emplace(Text(l, "name"), Text(l, "id"));
    }
    for (const std::string& n : names) {
      auto it = by_name.find(n);
      if (it == by_name.end()) {
        if (!create) continue;
        json input = {{"name", n}};
        if (!team.empty()) input["teamId"] = team;
        auto made =
            Graph(kLabelCreate, {{"input", input}}, absl::StrCat("Linear: create label ", n));
        if (!made.ok()) return made.status();
        const std::string id = Text(
            made->value("issueLabelCreate", json::object()).value("issueLabel", json::object()),
            "id");
        if (id.empty()) return absl::InternalError(absl::StrCat("Linear: label ", n, " not made"));
        it = by_name.emplace(n, id).first;
      }
      if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
    }
    return out;
  }

  // The tickets as link attachments (Linear updates an attachment with the same URL in place);
  // Debrief's own attachments, told by their metadata, are removed when their ticket left.
  absl::Status SyncLinks(const std::string& issue_id, const json& attachments,
                         const std::vector<spi::LinkedTicket>& tickets) {
    std::set<std::string> have, want;
    for (const json& a : attachments)
      if (!Text(a.value("metadata", json::object()), "debriefTicket").empty())
        have.insert(Text(a, "url"));
    const size_t cap = cfg_.max_attachments() > 0 ? cfg_.max_attachments() : 10;
    for (const spi::LinkedTicket& t : tickets) {
      if (t.url.empty()) continue;
      if (want.size() >= cap) break;  // the impact section lists every ticket
      want.insert(t.url);
      if (have.contains(t.url)) continue;
      json input = {
          {"issueId", issue_id},
          {"url", t.url},
          {"title", absl::StrCat("Ticket ", t.helpdesk_id, "/", t.ticket_id)},
          {"subtitle", t.subject},
          {"metadata", {{"debriefTicket", absl::StrCat(t.helpdesk_id, "/", t.ticket_id)}}}};
      auto s = Graph(kLink, {{"input", input}}, absl::StrCat("Linear: link ", issue_id));
      if (!s.ok()) return s.status();
    }
    for (const json& a : attachments) {
      if (Text(a.value("metadata", json::object()), "debriefTicket").empty()) continue;
      if (want.contains(Text(a, "url"))) continue;
      auto s = Graph(kUnlink, {{"id", Text(a, "id")}}, absl::StrCat("Linear: unlink ", issue_id));
      if (!s.ok()) return s.status();
    }
    return absl::OkStatus();
  }

  // One GraphQL call. Linear reports a rate limit as HTTP 400 or 429 with the error code
  // RATELIMITED; other GraphQL errors come with HTTP 200.
  absl::StatusOr<json> Graph(const char* query, json variables, absl::string_view what) {
    spi::HttpRequest req = JsonRequest("POST", api_, auth_);
    req.body = json{{"query", query}, {"variables", std::move(variables)}}.dump();
    auto res = http_.Send(req);
    if (!res.ok())
      return absl::Status(res.status().code(), absl::StrCat(what, ": ", res.status().message()));
    if (res->status == 400 && absl::StrContains(res->body, "RATELIMITED"))
      res->status = 429;  // a rate limit, whatever the status code says
    if (auto s = AnswerStatus(*res, what, clock_.Now()); !s.ok()) return s;
    auto doc = ParseObject(res->body, absl::StrCat(what, ": the answer"));
    if (!doc.ok()) return doc.status();
    if (const json* errors = Member(*doc, "errors");
        errors && errors->is_array() && !errors->empty())
      return absl::FailedPreconditionError(absl::StrCat(what, ": ", Text((*errors)[0], "message")));
    return doc->value("data", json::object());
  }

  std::string id_;
  std::string type_ = "linear";
  LinearConfig cfg_;
  const spi::ShippedWhen shipped_when_;
  std::string auth_;
  std::string secret_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string api_;
};

class Factory final : public spi::TrackerAdapterFactory {
 public:
  std::string type() const override { return "linear"; }
  const google::protobuf::Descriptor* settings() const override {
    return LinearConfig::descriptor();
  }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    LinearConfig cfg;
    const bool parsed = settings::ParseSettings(config.settings(), &cfg, config.id()).ok();
    if (!parsed) cfg.Clear();
    const v1::SecretRef& secret = cfg.webhook_secret();
    std::string held = WhereKept(secret);  // never the secret itself
    if (parsed && !cfg.has_webhook_secret())
      held = " (set this adapter's webhook_secret first: without it every webhook is refused)";
    std::vector<spi::SetupStep> steps;
    steps.push_back(
        {"Create a webhook in Linear",
         absl::StrCat(
             "On the team ", cfg.team_id().empty() ? "of the tasks" : cfg.team_id(),
             " (and every team a category routes tasks to), make a webhook with this URL."),
         where.webhook_url});
    steps.push_back({"Subscribe it to issues",
                     "Choose this resource; Debrief answers events about others with 200 "
                     "\"ignored\".",
                     "Issues"});
    steps.push_back(
        {"Give Debrief the webhook's signing secret",
         "Copy the webhook's signing secret from Linear and give it to Debrief as "
         "this adapter's webhook secret: Edit in the admin console, or the command "
         "below (it applies at once). Debrief checks Linear-Signature with it and "
         "refuses a delivery more than a minute old, so keep the clocks in time.",
         absl::StrCat("debriefctl adapters edit ", config.id(), " --secret webhook_secret=-")});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    LinearConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!cfg.api_url().empty() && !absl::StartsWith(cfg.api_url(), "http"))
      return absl::InvalidArgumentError("settings.api_url: https://api.linear.app/graphql");
    if (!cfg.has_api_key())
      return absl::InvalidArgumentError("settings.api_key is required (a Linear API key)");
    json probe = json::object();
    for (const auto& [k, v] : cfg.fields())
      if (auto s = Linear::SetField(k, v, probe); !s.ok())
        return absl::InvalidArgumentError(absl::StrCat("settings.fields: ", s.message()));
    auto key = settings::ResolveSecret(cfg.api_key(), ctx);
    if (!key.ok()) return key.status();
    auto secret = SecretIfSet(cfg.has_webhook_secret(), cfg.webhook_secret(), ctx);
    if (!secret.ok()) return secret.status();
    auto shipped = spi::ParseShippedWhen(cfg.shipped_when(), spi::ShippedWhen::kDone);
    if (!shipped.ok()) return shipped.status();
    if (*shipped == spi::ShippedWhen::kReleased && cfg.released_states().empty() &&
        cfg.released_labels().empty())
      return absl::InvalidArgumentError(
          "settings.shipped_when: released needs settings.released_states or "
          "settings.released_labels (Linear has no releases: name the state or label that says "
          "an issue is out)");
    return std::make_unique<Linear>(config.id(), std::move(cfg), std::move(*key),
                                    std::move(*secret), *shipped, ctx);
  }
};

}  // namespace

void RegisterLinear(spi::AdapterRegistry& registry) { registry.Add(std::make_unique<Factory>()); }

}  // namespace debrief::adapters::linear
