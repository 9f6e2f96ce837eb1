#include "tracker/github/github_tracker.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/signature.h"
#include "common/task_text.h"
#include "settings/settings.h"
#include "tracker/github/github.pb.h"

namespace debrief::adapters::github {
namespace {

namespace v1 = ::debrief::v1;

const HmacScheme kScheme{Digest::kSha256, /*base64=*/false, "sha256="};

// A task's id: "owner/repo#number". GitHub's REST API addresses an issue by repository and
// number; the number never changes and GitHub redirects a renamed repository (Call follows
// same-origin redirects), so the id keeps working.
struct IssueRef {
  std::string repo;
  std::string number;
};

absl::StatusOr<IssueRef> ParseRef(const std::string& external_id) {
  std::vector<std::string> parts = absl::StrSplit(external_id, '#');
  int64_t n = 0;
  if (parts.size() != 2 || !absl::StrContains(parts[0], '/') || !absl::SimpleAtoi(parts[1], &n))
    return absl::InvalidArgumentError(
        absl::StrCat("bad GitHub task id \"", external_id, "\" (owner/repo#number)"));
  return IssueRef{parts[0], parts[1]};
}

class GitHub final : public spi::TrackerAdapter {
 public:
  GitHub(std::string id, GitHubConfig cfg, std::string token, std::string secret,
         spi::ShippedWhen shipped_when, const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        shipped_when_(shipped_when),
        auth_(absl::StrCat("Bearer ", token)),
        secret_(std::move(secret)),
        http_(ctx.http),
        clock_(ctx.clock),
        budget_(cfg_.writes_per_minute() > 0 ? static_cast<int>(cfg_.writes_per_minute()) : 60,
                absl::Minutes(1)) {
    api_ = std::string(
        absl::StripSuffix(cfg_.api_url().empty() ? "https://api.github.com" : cfg_.api_url(), "/"));
    for (const std::string& l : cfg_.in_progress_labels()) in_progress_.push_back(l);
    if (in_progress_.empty()) in_progress_.push_back("in progress");
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    auto where =
        common::ProjectFor(d.category, cfg_.repository(), "GitHub repository", "repository");
    if (!where.ok()) return where.status();
    const std::string& repo = *where;
    if (!absl::StrContains(repo, '/'))
      return absl::FailedPreconditionError(absl::StrCat(
          "GitHub: repository \"", repo, "\" of category ", d.category.id(), " is not owner/repo"));
    const std::string marker = common::TaskMarker(d.idempotency_key);
    auto found = FindByMarker(repo, marker);
    if (!found.ok()) return found.status();
    if (*found) return Describe(repo, **found);

    json labels = json::array();
    for (const std::string& l : cfg_.labels()) labels.push_back(l);
    for (const std::string& l : d.category.routing().labels())
      if (std::find(labels.begin(), labels.end(), json(l)) == labels.end()) labels.push_back(l);
    json body = {{"title", d.title}, {"body", common::TaskBody(d)}, {"labels", labels}};
    // GitHub has no required fields; routing.fields may name a milestone or assignees.
    for (const auto& [k, v] : d.category.routing().fields()) {
      if (k == "milestone") {
        int64_t m = 0;
        if (!absl::SimpleAtoi(v, &m))
          return absl::InvalidArgumentError("GitHub field milestone wants its number");
        body["milestone"] = m;
      } else if (k == "assignees") {
        body["assignees"] = absl::StrSplit(v, ',', absl::SkipWhitespace());
      } else if (k == "type") {
        body["type"] = v;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown GitHub field \"", k, "\" (milestone, assignees, type)"));
      }
    }
    if (auto s = budget_.Take("", clock_.Now(), "GitHub: create issue"); !s.ok()) return s;
    auto made = Send("POST", absl::StrCat("/repos/", repo, "/issues"), body.dump(),
                     absl::StrCat("GitHub: create the task for ", d.category.id()));
    if (!made.ok()) return made.status();
    return Describe(repo, *made);
  }

  absl::Status UpdateTask(const std::string& external_id, const spi::TaskUpdate& u) override {
    auto ref = ParseRef(external_id);
    if (!ref.ok()) return ref.status();
    const std::string path = absl::StrCat("/repos/", ref->repo, "/issues/", ref->number);
    auto issue = Send("GET", path, "", absl::StrCat("GitHub: read ", external_id));
    if (!issue.ok()) return issue.status();
    const std::string old = Text(*issue, "body");
    const std::string now = common::ReplaceImpact(old, u.impact);
    if (now != old) {
      if (auto s = Send("PATCH", path, json{{"body", now}}.dump(),
                        absl::StrCat("GitHub: update ", external_id));
          !s.ok())
        return s.status();
    }
    json add = json::array();
    for (const std::string& l : u.add_labels) {
      bool has = false;
      for (const json& have : issue->value("labels", json::array())) has |= Text(have, "name") == l;
      if (!has) add.push_back(l);
    }
    if (!add.empty()) {
      // Answers the issue's labels as a list.
      if (auto s = Call(
              http_, Request("POST", absl::StrCat(path, "/labels"), json{{"labels", add}}.dump()),
              absl::StrCat("GitHub: label ", external_id), clock_.Now());
          !s.ok())
        return s.status();
    }
    for (const std::string& l : u.remove_labels) {
      bool has = false;
      for (const json& have : issue->value("labels", json::array())) has |= Text(have, "name") == l;
      if (!has) continue;
      // Answers the labels left, as a list; 404 when someone took it off meanwhile: done too.
      if (auto s = Call(http_, Request("DELETE", absl::StrCat(path, "/labels/", UrlEncode(l)), ""),
                        absl::StrCat("GitHub: unlabel ", external_id), clock_.Now());
          !s.ok() && !absl::IsNotFound(s.status()))
        return s.status();
    }
    if (u.comment.empty()) return absl::OkStatus();
    // The keyed comment, once: look for its marker among the issue's comments first.
    const std::string marker = common::CommentMarker(u.comment_key);
    for (int page = 1; page <= 10; ++page) {
      auto comments = SendList(absl::StrCat(path, "/comments?per_page=100&page=", page),
                               absl::StrCat("GitHub: comments of ", external_id));
      if (!comments.ok()) return comments.status();
      for (const json& c : *comments)
        if (absl::StrContains(Text(c, "body"), marker)) return absl::OkStatus();
      if (comments->size() < 100) break;
    }
    if (auto s = budget_.Take("", clock_.Now(), "GitHub: comment"); !s.ok()) return s;
    return Send("POST", absl::StrCat(path, "/comments"),
                json{{"body", common::KeyedComment(u.comment, u.comment_key)}}.dump(),
                absl::StrCat("GitHub: comment on ", external_id))
        .status();
  }

  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& external_id) override {
    auto ref = ParseRef(external_id);
    if (!ref.ok()) return ref.status();
    auto issue = Send("GET", absl::StrCat("/repos/", ref->repo, "/issues/", ref->number), "",
                      absl::StrCat("GitHub: read ", external_id));
    if (!issue.ok()) return issue.status();
    spi::TrackerTask t = Describe(ref->repo, *issue);
    if (t.status == v1::TASK_DONE) t.release_lookup = Shipped(ref->repo, *issue, t);
    return t;
  }

  bool sends_webhooks() const override { return true; }

  absl::StatusOr<spi::TaskEvents> AcceptWebhook(const spi::InboundDelivery& d) const override {
    if (secret_.empty())
      return absl::UnauthenticatedError(
          "GitHub webhooks are refused: settings.webhook_secret is not set (give the webhook a "
          "secret in GitHub and the same here)");
    auto sig = d.headers.find("x-hub-signature-256");
    if (sig == d.headers.end())
      return absl::UnauthenticatedError(
          "missing X-Hub-Signature-256: set the webhook's secret to settings.webhook_secret");
    if (auto s = VerifyHmac(kScheme, secret_, d.body, sig->second); !s.ok()) return s;
    auto event = d.headers.find("x-github-event");
    spi::TaskEvents out;
    if (event == d.headers.end() || event->second != "issues") {
      out.ignored_reason = absl::StrCat(
          "GitHub event \"", event == d.headers.end() ? "" : event->second,
          "\" does not change an issue's state (subscribe the webhook to Issues only)");
      return out;
    }
    // A webhook created with content type application/x-www-form-urlencoded carries the JSON
    // in its `payload` field; the signature covers the body as sent, checked above.
    std::string form_payload;
    absl::string_view payload = d.body;
    if (auto type = d.headers.find("content-type");
        type != d.headers.end() &&
        absl::StartsWithIgnoreCase(type->second, "application/x-www-form-urlencoded")) {
      auto field = FormField(d.body, "payload");
      if (!field.ok())
        return absl::InvalidArgumentError(absl::StrCat(
            "GitHub webhook in form encoding without a readable payload field (",
            field.status().message(), "); choose content type application/json in the webhook"));
      form_payload = std::move(*field);
      payload = form_payload;
    }
    auto doc = ParseObject(payload, "GitHub webhook payload");
    if (!doc.ok()) return doc.status();
    const json* issue = Member(*doc, "issue");
    const json* repo = Member(*doc, "repository");
    if (issue == nullptr || repo == nullptr || Text(*issue, "number").empty() ||
        Text(*repo, "full_name").empty())
      return absl::InvalidArgumentError("GitHub issues event without issue.number or repository");
    out.external_ids.push_back(absl::StrCat(Text(*repo, "full_name"), "#", Text(*issue, "number")));
    return out;
  }

  absl::Status Check(const std::vector<v1::Category>& routed) override {
    const std::set<std::string> repos = common::ProjectsOf(cfg_.repository(), routed);
    if (repos.empty())
      return absl::FailedPreconditionError(
          "GitHub: no repository configured (settings.repository or a category's "
          "routing.project)");
    for (const std::string& r : repos) {
      auto repo =
          Send("GET", absl::StrCat("/repos/", r), "", absl::StrCat("GitHub: repository ", r));
      if (!repo.ok()) return repo.status();
      if (const json* has = Member(*repo, "has_issues"); has && has->is_boolean() && !*has)
        return absl::FailedPreconditionError(absl::StrCat("GitHub: issues are turned off in ", r));
      const json* perms = Member(*repo, "permissions");
      if (perms && perms->is_object() && !IsTrue(*perms, "push") && !IsTrue(*perms, "triage"))
        return absl::PermissionDeniedError(absl::StrCat(
            "GitHub: the token may read ", r, " but not label or close its issues (needs triage)"));
      if (shipped_when_ == spi::ShippedWhen::kReleased) {
        auto releases = SendList(absl::StrCat("/repos/", r, "/releases?per_page=1"),
                                 absl::StrCat("GitHub: releases of ", r));
        if (!releases.ok())
          return absl::Status(
              releases.status().code(),
              absl::StrCat(releases.status().message(),
                           " (shipped_when: released reads them: give the token Contents: read, "
                           "or set shipped_when: done)"));
      }
    }
    return absl::OkStatus();
  }

 private:
  spi::HttpRequest Request(absl::string_view method, const std::string& path, std::string body) {
    spi::HttpRequest req = JsonRequest(method, api_ + path, auth_);
    for (auto& [k, v] : req.headers)
      if (k == "Accept") v = "application/vnd.github+json";
    req.headers.emplace_back("X-GitHub-Api-Version", "2022-11-28");
    req.headers.emplace_back("User-Agent", "debrief");
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

  // The issue a draft already made. The newest issues are listed first (consistent at once, for
  // a retry seconds later); then the search index (which lags a minute, for older retries).
  absl::StatusOr<std::optional<json>> FindByMarker(const std::string& repo,
                                                   const std::string& marker) {
    auto recent = SendList(
        absl::StrCat("/repos/", repo, "/issues?state=all&sort=created&direction=desc&per_page=100"),
        "GitHub: list recent issues");
    if (!recent.ok()) return recent.status();
    for (const json& i : *recent)
      if (!i.contains("pull_request") && absl::StrContains(Text(i, "body"), marker))
        return std::optional<json>(i);
    auto found = Send("GET",
                      absl::StrCat("/search/issues?q=",
                                   UrlEncode(absl::StrCat(marker, " repo:", repo, " in:body"))),
                      "", "GitHub: search for the task already made");
    if (!found.ok()) return found.status();
    for (const json& i : found->value("items", json::array()))
      if (absl::StrContains(Text(i, "body"), marker)) return std::optional<json>(i);
    return std::optional<json>();
  }

  spi::TrackerTask Describe(const std::string& repo, const json& issue) const {
    spi::TrackerTask t;
    t.external_id = absl::StrCat(repo, "#", Text(issue, "number"));
    t.external_key = t.external_id;
    t.url = Text(issue, "html_url");
    if (Text(issue, "state") == "closed") {
      const std::string reason = Text(issue, "state_reason");
      t.status =
          reason == "not_planned" || reason == "duplicate" ? v1::TASK_WONT_DO : v1::TASK_DONE;
      return t;
    }
    t.status = v1::TASK_OPEN;
    for (const json& l : issue.value("labels", json::array())) {
      const std::string name = l.is_string() ? l.get<std::string>() : Text(l, "name");
      for (const std::string& p : in_progress_)
        if (absl::EqualsIgnoreCase(name, p)) t.status = v1::TASK_IN_PROGRESS;
    }
    return t;
  }

  // A closed issue is shipped at once (shipped_when: done), or once a published release holds
  // the commit that closed it ("Fixes #12" in a commit or a merged pull request; the issue's
  // events name it, and the repository it is in, which may not be the issue's): the oldest
  // release published since its close whose tag contains that commit (the compare API). An
  // issue closed by hand names no commit: the first release published after the close is the
  // one that shipped it.
  absl::Status Shipped(const std::string& repo, const json& issue, spi::TrackerTask& t) {
    if (shipped_when_ == spi::ShippedWhen::kDone) {
      t.status = v1::TASK_SHIPPED;
      return absl::OkStatus();
    }
    const std::string path = absl::StrCat("/repos/", repo, "/issues/", Text(issue, "number"));
    std::string commit, code = repo;
    for (int page = 1; page <= kEventPages; ++page) {
      auto events = SendList(absl::StrCat(path, "/events?per_page=100&page=", page),
                             absl::StrCat("GitHub: events of ", t.external_id));
      if (!events.ok()) return events.status();
      for (const json& e : *events) {  // oldest first: the last close counts
        if (Text(e, "event") != "closed") continue;
        commit = Text(e, "commit_id");
        code = RepoOfCommitUrl(Text(e, "commit_url")).value_or(repo);
      }
      if (events->size() < 100) break;
    }
    const absl::Time closed = ParseTime(Text(issue, "closed_at")).value_or(absl::InfinitePast());
    auto releases = Releases(code);
    if (!releases.ok()) return releases.status();
    std::vector<std::pair<absl::Time, const json*>> since;  // published since the close
    for (const json& r : *releases) {
      if (IsTrue(r, "draft") || IsTrue(r, "prerelease")) continue;
      auto published = ParseTime(Text(r, "published_at"));
      if (published && *published >= closed) since.emplace_back(*published, &r);
    }
    std::sort(since.begin(), since.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    size_t compared = 0;
    for (const auto& [published, r] : since) {
      const std::string tag = Text(*r, "tag_name");
      if (!commit.empty()) {
        // A published release's tag does not change what it holds (a tag moved and released
        // again is published again: another key).
        const std::string known =
            absl::StrCat(code, " ", commit, " ", tag, " ", Text(*r, "published_at"));
        if (NotHolding(known)) continue;
        if (compared++ == kComparedReleases) break;  // the rest at the next read
        // compare/{commit}...{tag}: "ahead" or "identical" when the tag holds the commit (one
        // commit per page: only the status is read).
        auto cmp = Send("GET",
                        absl::StrCat("/repos/", code, "/compare/", commit, "...", UrlEncode(tag),
                                     "?per_page=1"),
                        "", absl::StrCat("GitHub: does ", tag, " hold ", commit));
        if (absl::IsNotFound(cmp.status())) continue;  // asked again at the next read
        if (!cmp.ok()) return cmp.status();
        const std::string st = Text(*cmp, "status");
        if (st != "ahead" && st != "identical") {
          Remember(known);
          continue;
        }
      }
      t.status = v1::TASK_SHIPPED;
      t.release = Text(*r, "name").empty() ? tag : Text(*r, "name");
      t.shipped_at = published;
      return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  // "owner/repo" of an API commit URL (https://api.github.com/repos/OWNER/REPO/commits/SHA).
  static std::optional<std::string> RepoOfCommitUrl(const std::string& url) {
    const size_t at = url.find("/repos/");
    if (at == std::string::npos) return std::nullopt;
    std::vector<std::string> parts = absl::StrSplit(url.substr(at + 7), '/');
    if (parts.size() < 2 || parts[0].empty() || parts[1].empty()) return std::nullopt;
    return absl::StrCat(parts[0], "/", parts[1]);
  }

  // A repository's releases, newest first, read at most once a minute.
  absl::StatusOr<json> Releases(const std::string& repo) {
    return releases_.Get(repo, clock_.Now(), [&] {
      return SendList(absl::StrCat("/repos/", repo, "/releases?per_page=100"),
                      absl::StrCat("GitHub: releases of ", repo));
    });
  }
  bool NotHolding(const std::string& key) {
    std::lock_guard<std::mutex> l(not_holding_mu_);
    return not_holding_.contains(key);
  }
  void Remember(const std::string& key) {
    std::lock_guard<std::mutex> l(not_holding_mu_);
    not_holding_.insert(key);
  }

  static constexpr int kEventPages = 3;
  static constexpr size_t kComparedReleases = 10;  // per read, beyond those known not to hold it
  static constexpr absl::Duration kReleasesFresh = absl::Minutes(1);

  std::string id_;
  std::string type_ = "github";
  GitHubConfig cfg_;
  const spi::ShippedWhen shipped_when_;
  std::string auth_;
  std::string secret_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  WriteBudget budget_;
  std::string api_;
  std::vector<std::string> in_progress_;
  FreshCache releases_{kReleasesFresh};  // by repository
  std::mutex not_holding_mu_;
  std::set<std::string> not_holding_;  // "repo commit tag" known not to hold the commit
};

class Factory final : public spi::TrackerAdapterFactory {
 public:
  std::string type() const override { return "github"; }
  const google::protobuf::Descriptor* settings() const override {
    return GitHubConfig::descriptor();
  }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    GitHubConfig cfg;
    const bool parsed = settings::ParseSettings(config.settings(), &cfg, config.id()).ok();
    if (!parsed) cfg.Clear();
    const v1::SecretRef& secret = cfg.webhook_secret();
    std::string held = WhereKept(secret);  // never the secret itself
    if (parsed && !cfg.has_webhook_secret())
      held = " (set this adapter's webhook_secret first: without it every webhook is refused)";
    std::vector<spi::SetupStep> steps;
    steps.push_back(
        {"Create a repository webhook in GitHub",
         absl::StrCat("On the repository ",
                      cfg.repository().empty() ? "of the tasks" : cfg.repository(),
                      " (and every repository a category routes tasks to), add a webhook with "
                      "this payload URL and content type application/json."),
         where.webhook_url});
    steps.push_back({"Set its secret",
                     absl::StrCat("Secret: the webhook secret you saved in Debrief", held,
                                  ". Debrief checks X-Hub-Signature-256 with it."),
                     ""});
    steps.push_back({"Choose its events",
                     "Send these events; Debrief answers others with 200 \"ignored\". A delivery "
                     "makes Debrief read the issue back at once.",
                     "Issues"});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    GitHubConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!cfg.api_url().empty() && !absl::StartsWith(cfg.api_url(), "http"))
      return absl::InvalidArgumentError(
          "settings.api_url: https://api.github.com or GHES's /api/v3");
    if (!cfg.repository().empty() && !absl::StrContains(cfg.repository(), '/'))
      return absl::InvalidArgumentError("settings.repository: owner/repo");
    if (!cfg.has_token())
      return absl::InvalidArgumentError("settings.token is required (a fine-grained token)");
    auto token = settings::ResolveSecret(cfg.token(), ctx);
    if (!token.ok()) return token.status();
    auto secret = SecretIfSet(cfg.has_webhook_secret(), cfg.webhook_secret(), ctx);
    if (!secret.ok()) return secret.status();
    auto shipped = spi::ParseShippedWhen(cfg.shipped_when(), spi::ShippedWhen::kReleased);
    if (!shipped.ok()) return shipped.status();
    return std::make_unique<GitHub>(config.id(), std::move(cfg), std::move(*token),
                                    std::move(*secret), *shipped, ctx);
  }
};

}  // namespace

void RegisterGitHub(spi::AdapterRegistry& registry) { registry.Add(std::make_unique<Factory>()); }

}  // namespace debrief::adapters::github
