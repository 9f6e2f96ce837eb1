#include "tracker/gitlab/gitlab_tracker.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/signature.h"
#include "common/task_text.h"
#include "settings/settings.h"
#include "tracker/gitlab/gitlab.pb.h"

namespace debrief::adapters::gitlab {
namespace {

namespace v1 = ::debrief::v1;

// Reads an issue by its global id: any user who may see the issue may ask (REST's
// GET /issues/:id is for administrators only), and a moved issue says where it went.
constexpr char kIssueQuery[] =
    "query($id: IssueID!) { issue(id: $id) { id iid projectId state webUrl reference(full: true) "
    "labels { nodes { title } } movedTo { id } duplicatedTo { id } milestone { title state "
    "dueDate } } }";

bool Named(const std::string& name, const std::vector<std::string>& names) {
  for (const std::string& n : names)
    if (absl::EqualsIgnoreCase(name, n)) return true;
  return false;
}

class GitLab final : public spi::TrackerAdapter {
 public:
  GitLab(std::string id, GitLabConfig cfg, std::string token, std::string secret,
         spi::ShippedWhen shipped_when, const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        shipped_when_(shipped_when),
        token_(std::move(token)),
        secret_(std::move(secret)),
        http_(ctx.http),
        clock_(ctx.clock) {
    base_ =
        std::string(absl::StripSuffix(cfg_.url().empty() ? "https://gitlab.com" : cfg_.url(), "/"));
    for (const std::string& l : cfg_.in_progress_labels()) in_progress_.push_back(l);
    if (in_progress_.empty()) in_progress_ = {"workflow::in progress", "In Progress"};
    for (const std::string& l : cfg_.wont_do_labels()) wont_do_.push_back(l);
    if (wont_do_.empty()) wont_do_ = {"won't do", "wontfix"};
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    auto where = common::ProjectFor(d.category, cfg_.project(), "GitLab project", "project");
    if (!where.ok()) return where.status();
    const std::string& project = *where;
    const std::string issues = absl::StrCat("/api/v4/projects/", UrlEncode(project), "/issues");
    const std::string marker = common::TaskMarker(d.idempotency_key);
    auto found = SendList(
        absl::StrCat(issues, "?scope=all&state=all&in=description&search=", UrlEncode(marker)),
        "GitLab: search for the task already made");
    if (!found.ok()) return found.status();
    for (const json& i : *found)
      if (absl::StrContains(Text(i, "description"), marker)) return Describe(i);

    std::vector<std::string> labels(cfg_.labels().begin(), cfg_.labels().end());
    for (const std::string& l : d.category.routing().labels())
      if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
    json body = {{"title", d.title}, {"description", common::TaskBody(d)}};
    if (!labels.empty()) body["labels"] = absl::StrJoin(labels, ",");
    for (const auto& [k, v] : d.category.routing().fields())
      if (auto s = SetField(k, v, body); !s.ok()) return s;
    auto made = Send("POST", issues, body.dump(),
                     absl::StrCat("GitLab: create the task for ", d.category.id()));
    if (!made.ok()) return made.status();
    return Describe(*made);
  }

  absl::Status UpdateTask(const std::string& external_id, const spi::TaskUpdate& u) override {
    auto where = Locate(external_id);
    if (!where.ok()) return where.status();
    const std::string path =
        absl::StrCat("/api/v4/projects/", where->project_id, "/issues/", where->iid);
    auto issue = Send("GET", path, "", absl::StrCat("GitLab: read issue ", external_id));
    if (!issue.ok()) return issue.status();
    json change = json::object();
    const std::string old = Text(*issue, "description");
    const std::string now = common::ReplaceImpact(old, u.impact);
    if (now != old) change["description"] = now;
    std::vector<std::string> add;
    for (const std::string& l : u.add_labels) {
      bool has = false;
      for (const json& have : issue->value("labels", json::array())) has |= TextOf(have) == l;
      if (!has) add.push_back(l);
    }
    if (!add.empty()) change["add_labels"] = absl::StrJoin(add, ",");
    std::vector<std::string> remove;
    for (const std::string& l : u.remove_labels)
      for (const json& have : issue->value("labels", json::array()))
        if (TextOf(have) == l) {
          remove.push_back(l);
          break;
        }
    if (!remove.empty()) change["remove_labels"] = absl::StrJoin(remove, ",");
    if (!change.empty()) {
      if (auto s = Send("PUT", path, change.dump(), absl::StrCat("GitLab: update ", external_id));
          !s.ok())
        return s.status();
    }
    if (u.comment.empty()) return absl::OkStatus();
    const std::string marker = common::CommentMarker(u.comment_key);
    for (int page = 1; page <= 10; ++page) {
      auto notes = SendList(absl::StrCat(path, "/notes?per_page=100&page=", page),
                            absl::StrCat("GitLab: notes of ", external_id));
      if (!notes.ok()) return notes.status();
      for (const json& n : *notes)
        if (absl::StrContains(Text(n, "body"), marker)) return absl::OkStatus();
      if (notes->size() < 100) break;
    }
    return Send("POST", absl::StrCat(path, "/notes"),
                json{{"body", common::KeyedComment(u.comment, u.comment_key)}}.dump(),
                absl::StrCat("GitLab: comment on ", external_id))
        .status();
  }

  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& external_id) override {
    auto issue = Graph(external_id);
    if (!issue.ok()) return issue.status();
    spi::TrackerTask t;
    t.external_id = external_id;
    t.external_key = Text(*issue, "reference");
    t.url = Text(*issue, "webUrl");
    std::vector<std::string> labels;
    if (const json* ls = Member(*issue, "labels"); ls != nullptr)
      if (const json* nodes = Member(*ls, "nodes"); nodes != nullptr && nodes->is_array())
        for (const json& l : *nodes) labels.push_back(Text(l, "title"));
    const bool elsewhere = issue->contains("movedTo") && !(*issue)["movedTo"].is_null();
    const bool duplicate = issue->contains("duplicatedTo") && !(*issue)["duplicatedTo"].is_null();
    t.status = StatusOf(Text(*issue, "state") == "closed" && !elsewhere, labels, duplicate);
    if (elsewhere) {
      // Moved to another project: the move closed this one; follow the new issue.
      auto moved = GetTask(GlobalId(Text((*issue)["movedTo"], "id")));
      if (moved.ok()) return moved;
    }
    if (t.status == v1::TASK_DONE) t.release_lookup = Shipped(*issue, t);
    return t;
  }

  bool sends_webhooks() const override { return true; }

  absl::StatusOr<spi::TaskEvents> AcceptWebhook(const spi::InboundDelivery& d) const override {
    if (secret_.empty())
      return absl::UnauthenticatedError(
          "GitLab webhooks are refused: settings.webhook_secret is not set (give the webhook a "
          "secret token in GitLab and the same here)");
    auto token = d.headers.find("x-gitlab-token");
    if (token == d.headers.end())
      return absl::UnauthenticatedError(
          "missing X-Gitlab-Token: set the webhook's secret token to settings.webhook_secret");
    if (!ConstantTimeEquals(Sha256(token->second), Sha256(secret_)))  // no length leak
      return absl::UnauthenticatedError("X-Gitlab-Token does not match settings.webhook_secret");
    spi::TaskEvents out;
    // A confidential issue's events come as "Confidential Issue Hook", with the same body
    // (gitlabhq, Issues::BaseService: `issue.confidential? ? :confidential_issue_hooks :
    // :issue_hooks`); Debrief's routing can make confidential issues, so both are read.
    auto event = d.headers.find("x-gitlab-event");
    if (event == d.headers.end() ||
        (event->second != "Issue Hook" && event->second != "Confidential Issue Hook")) {
      out.ignored_reason = absl::StrCat(
          "GitLab event \"", event == d.headers.end() ? "" : event->second,
          "\" is not about an issue (enable Issues events and Confidential issues events only)");
      return out;
    }
    auto doc = ParseObject(d.body, "GitLab webhook body");
    if (!doc.ok()) return doc.status();
    const json* attrs = Member(*doc, "object_attributes");
    if (attrs == nullptr || Text(*attrs, "id").empty())
      return absl::InvalidArgumentError("GitLab issue event without object_attributes.id");
    out.external_ids.push_back(Text(*attrs, "id"));
    return out;
  }

  absl::Status Check(const std::vector<v1::Category>& routed) override {
    const std::set<std::string> projects = common::ProjectsOf(cfg_.project(), routed);
    if (projects.empty())
      return absl::FailedPreconditionError(
          "GitLab: no project configured (settings.project or a category's routing.project)");
    for (const std::string& p : projects) {
      auto proj = Send("GET", absl::StrCat("/api/v4/projects/", UrlEncode(p)), "",
                       absl::StrCat("GitLab: project ", p));
      if (!proj.ok()) return proj.status();
      if (const json* on = Member(*proj, "issues_enabled"); on && on->is_boolean() && !*on)
        return absl::FailedPreconditionError(absl::StrCat("GitLab: issues are off in ", p));
    }
    for (const v1::Category& c : routed)
      for (const auto& [k, v] : c.routing().fields()) {
        json probe;
        if (auto s = SetField(k, v, probe); !s.ok())
          return absl::InvalidArgumentError(absl::StrCat("category ", c.id(), ": ", s.message()));
      }
    return absl::OkStatus();
  }

 private:
  struct Where {
    std::string project_id, iid;
  };

  static std::string GlobalId(const std::string& gid) {
    return gid.substr(gid.rfind('/') + 1);  // "gid://gitlab/Issue/123" -> "123"
  }

  static absl::Status SetField(const std::string& k, const std::string& v, json& body) {
    int64_t n = 0;
    if (k == "due_date" || k == "issue_type") {
      body[k] = v;
    } else if ((k == "milestone_id" || k == "weight" || k == "epic_id") &&
               absl::SimpleAtoi(v, &n)) {
      body[k] = n;
    } else if (k == "assignee_ids") {
      json ids = json::array();
      for (absl::string_view s : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
        if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(s), &n))
          return absl::InvalidArgumentError("GitLab field assignee_ids wants user ids");
        ids.push_back(n);
      }
      body[k] = ids;
    } else if (k == "confidential") {
      body[k] = v == "true";
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown or malformed GitLab field \"", k,
          "\" (due_date, issue_type, milestone_id, weight, epic_id, assignee_ids, confidential)"));
    }
    return absl::OkStatus();
  }

  v1::TaskStatus StatusOf(bool closed, const std::vector<std::string>& labels,
                          bool duplicate) const {
    if (closed) {
      for (const std::string& l : labels)
        if (Named(l, wont_do_)) return v1::TASK_WONT_DO;
      return duplicate ? v1::TASK_WONT_DO : v1::TASK_DONE;
    }
    for (const std::string& l : labels)
      if (Named(l, in_progress_)) return v1::TASK_IN_PROGRESS;
    return v1::TASK_OPEN;
  }

  spi::TrackerTask Describe(const json& issue) const {
    spi::TrackerTask t;
    t.external_id = Text(issue, "id");  // the global id: stable across project renames
    const json refs = issue.value("references", json::object());
    t.external_key =
        Text(refs, "full").empty() ? absl::StrCat("#", Text(issue, "iid")) : Text(refs, "full");
    t.url = Text(issue, "web_url");
    std::vector<std::string> labels;
    for (const json& l : issue.value("labels", json::array())) labels.push_back(TextOf(l));
    t.status = StatusOf(Text(issue, "state") == "closed", labels,
                        !Text(issue, "duplicated_to_id").empty());
    return t;
  }

  // The project and iid of an issue known by its global id.
  absl::StatusOr<Where> Locate(const std::string& external_id) {
    auto issue = Graph(external_id);
    if (!issue.ok()) return issue.status();
    Where w{Text(*issue, "projectId"), Text(*issue, "iid")};
    if (w.project_id.empty() || w.iid.empty())
      return absl::InternalError(absl::StrCat("GitLab: issue ", external_id, " without project"));
    return w;
  }

  absl::StatusOr<json> Graph(const std::string& external_id) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(external_id, &n))
      return absl::InvalidArgumentError(
          absl::StrCat("bad GitLab task id \"", external_id, "\" (the issue's global id)"));
    json req = {{"query", kIssueQuery},
                {"variables", {{"id", absl::StrCat("gid://gitlab/Issue/", external_id)}}}};
    auto res =
        Send("POST", "/api/graphql", req.dump(), absl::StrCat("GitLab: read issue ", external_id));
    if (!res.ok()) return res.status();
    if (const json* errors = Member(*res, "errors"); errors && !errors->empty())
      return absl::FailedPreconditionError(
          absl::StrCat("GitLab: read issue ", external_id, ": ", Text((*errors)[0], "message")));
    const json data = res->value("data", json::object());
    if (!data.contains("issue") || data["issue"].is_null())
      return absl::NotFoundError(absl::StrCat("GitLab: issue ", external_id, " not found"));
    return data["issue"];
  }

  spi::HttpRequest Request(absl::string_view method, const std::string& path, std::string body) {
    spi::HttpRequest req = JsonRequest(method, base_ + path, "");
    req.headers.emplace_back("PRIVATE-TOKEN", token_);
    req.body = std::move(body);
    return req;
  }

  absl::StatusOr<json> Send(absl::string_view method, const std::string& path, std::string body,
                            absl::string_view what) {
    return CallJson(http_, Request(method, path, std::move(body)), what, clock_.Now());
  }

  absl::StatusOr<json> SendList(const std::string& path, absl::string_view what) {
    return CallJsonList(http_, Request("GET", path, ""), what, clock_.Now());
  }

  // A closed issue is shipped at once (shipped_when: done); with its milestone closed where
  // released_by_milestone; else with the first release whose tag holds the merge commit of a
  // merge request that closed it (closed_by, the commit's tags and the releases, in the merge
  // request's project, which may not be the issue's).
  absl::Status Shipped(const json& issue, spi::TrackerTask& t) {
    if (shipped_when_ == spi::ShippedWhen::kDone) {
      t.status = v1::TASK_SHIPPED;
      return absl::OkStatus();
    }
    if (cfg_.released_by_milestone()) {
      const json* m = Member(issue, "milestone");
      if (m == nullptr || Text(*m, "state") != "closed") return absl::OkStatus();
      t.status = v1::TASK_SHIPPED;
      t.release = Text(*m, "title");
      // GraphQL's dueDate is a date, or a time at the day's start.
      const std::string due = Text(*m, "dueDate");
      t.shipped_at = ParseTime(due).value_or(
          ParseDay(due.substr(0, std::min<size_t>(due.size(), 10))).value_or(absl::InfinitePast()));
      return absl::OkStatus();
    }
    const std::string project = Text(issue, "projectId");
    auto mrs = SendList(
        absl::StrCat("/api/v4/projects/", project, "/issues/", Text(issue, "iid"), "/closed_by"),
        absl::StrCat("GitLab: merge requests closing ", t.external_key));
    if (!mrs.ok()) return mrs.status();
    std::map<std::string, std::set<std::string>> tags;  // project -> tags holding a merged fix
    for (const json& mr : *mrs) {
      if (Text(mr, "state") != "merged") continue;
      const std::string where = Text(mr, "project_id").empty() ? project : Text(mr, "project_id");
      for (const char* key : {"merge_commit_sha", "squash_commit_sha", "sha"}) {
        const std::string sha = Text(mr, key);
        if (sha.empty()) continue;
        auto refs = SendList(absl::StrCat("/api/v4/projects/", where, "/repository/commits/", sha,
                                          "/refs?type=tag&per_page=100"),
                             absl::StrCat("GitLab: tags holding ", sha));
        if (absl::IsNotFound(refs.status())) continue;
        if (!refs.ok()) return refs.status();
        for (const json& r : *refs) tags[where].insert(Text(r, "name"));
        break;  // the first commit the merge request names is the one on the target branch
      }
    }
    // The earliest release that holds it, from every project read; a project that cannot be
    // read leaves the task as it was (done), so a later release is never taken for the first.
    const absl::Time now = clock_.Now();
    std::optional<std::pair<absl::Time, std::string>> first;
    for (const auto& [where, held] : tags) {
      auto releases = Releases(where);
      if (!releases.ok()) return releases.status();
      for (const json& r : *releases) {
        if (!held.contains(Text(r, "tag_name"))) continue;
        auto at = ParseTime(Text(r, "released_at"));
        if (!at || *at > now) continue;  // an upcoming release is not out yet
        if (first && *at >= first->first) continue;
        first.emplace(*at, Text(r, "name").empty() ? Text(r, "tag_name") : Text(r, "name"));
      }
    }
    if (first) {
      t.status = v1::TASK_SHIPPED;
      t.shipped_at = first->first;
      t.release = first->second;
    }
    return absl::OkStatus();
  }

  // A project's releases, newest first, read at most once a minute.
  absl::StatusOr<json> Releases(const std::string& project) {
    return releases_.Get(project, clock_.Now(), [&] {
      return SendList(absl::StrCat("/api/v4/projects/", project, "/releases?per_page=100"),
                      absl::StrCat("GitLab: releases of project ", project));
    });
  }

  std::string id_;
  std::string type_ = "gitlab";
  GitLabConfig cfg_;
  const spi::ShippedWhen shipped_when_;
  std::string token_;
  std::string secret_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string base_;
  std::vector<std::string> in_progress_, wont_do_;
  FreshCache releases_{absl::Minutes(1)};  // by project id
};

class Factory final : public spi::TrackerAdapterFactory {
 public:
  std::string type() const override { return "gitlab"; }
  const google::protobuf::Descriptor* settings() const override {
    return GitLabConfig::descriptor();
  }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    GitLabConfig cfg;
    const bool parsed = settings::ParseSettings(config.settings(), &cfg, config.id()).ok();
    if (!parsed) cfg.Clear();
    const v1::SecretRef& secret = cfg.webhook_secret();
    std::string held = WhereKept(secret);  // never the secret itself
    if (parsed && !cfg.has_webhook_secret())
      held = " (set this adapter's webhook_secret first: without it every webhook is refused)";
    std::vector<spi::SetupStep> steps;
    steps.push_back(
        {"Create a project webhook in GitLab",
         absl::StrCat("In the project ", cfg.project().empty() ? "of the tasks" : cfg.project(),
                      " (and every project a category routes tasks to), add a webhook with this "
                      "URL and, as its secret token, the webhook secret you saved in Debrief",
                      held, ". GitLab sends it in X-Gitlab-Token: use TLS."),
         where.webhook_url});
    steps.push_back({"Tick its triggers",
                     "Tick these triggers; Debrief answers other events with 200 \"ignored\". A "
                     "delivery makes Debrief read the issue back at once.",
                     "Issues events, Confidential issues events"});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    GitLabConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!cfg.url().empty() && !absl::StartsWith(cfg.url(), "http"))
      return absl::InvalidArgumentError("settings.url: https://gitlab.com or your GitLab's URL");
    if (!cfg.has_token())
      return absl::InvalidArgumentError("settings.token is required (a project access token)");
    auto token = settings::ResolveSecret(cfg.token(), ctx);
    if (!token.ok()) return token.status();
    auto secret = SecretIfSet(cfg.has_webhook_secret(), cfg.webhook_secret(), ctx);
    if (!secret.ok()) return secret.status();
    auto shipped = spi::ParseShippedWhen(cfg.shipped_when(), spi::ShippedWhen::kReleased);
    if (!shipped.ok()) return shipped.status();
    return std::make_unique<GitLab>(config.id(), std::move(cfg), std::move(*token),
                                    std::move(*secret), *shipped, ctx);
  }
};

}  // namespace

void RegisterGitLab(spi::AdapterRegistry& registry) { registry.Add(std::make_unique<Factory>()); }

}  // namespace debrief::adapters::gitlab
