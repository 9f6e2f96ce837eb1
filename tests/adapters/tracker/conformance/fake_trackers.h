#pragma once

// In-memory peers for the tracker conformance suite: each answers the requests its adapter
// sends the way the vendor's API does (paths, status codes, JSON shapes from the vendor's API
// description), keeps the issues, and lets a test act as a person in the tracker (close an
// issue, edit its text) or as the vendor having a bad minute (429, a lost response).
// The shapes of the requests themselves are checked against the vendors' published
// descriptions in tests/contract/.
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/http_client.h"
#include "debrief/v1/model.pb.h"

namespace debrief::testing {

using json = nlohmann::json;

// Percent-decoding of a query value.
inline std::string UrlDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (absl::SimpleHexAtoi(s.substr(i + 1, 2), &v)) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

// What every fake tracker shares: the issues, the request log, injected failures.
class FakeTracker : public spi::HttpClient {
 public:
  struct Issue {
    std::string id;
    json data;  // the vendor's own JSON of the issue
    std::vector<std::string> comments;
    std::map<std::string, json> links;  // remote links by global id (Jira)
  };

  absl::StatusOr<spi::HttpResponse> Send(const spi::HttpRequest& r) override {
    std::lock_guard<std::mutex> l(mu_);
    log_.push_back(r);
    if (!injected_.empty() && !IsRead(r)) {
      spi::HttpResponse res = injected_.front();
      injected_.pop_front();
      return res;
    }
    auto auth = CheckAuth(r);
    if (auth) return *auth;
    if (!failing_reads_.empty() && IsRead(r) && absl::StrContains(r.url, failing_reads_)) {
      spi::HttpResponse res;
      res.status = 503;
      return res;
    }
    spi::HttpResponse res = Handle(r);
    if (lose_next_ && !IsRead(r)) {
      lose_next_ = false;  // done, but the answer never arrives
      return absl::UnavailableError("connection reset by peer");
    }
    return res;
  }

  // The next write is answered with this instead of being done.
  void Inject(int status, spi::HttpHeaders headers = {}, std::string body = "{}") {
    std::lock_guard<std::mutex> l(mu_);
    spi::HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    injected_.push_back(r);
  }
  // Reads whose URL holds this answer 503 (empty: none).
  void FailReads(std::string url_part) {
    std::lock_guard<std::mutex> l(mu_);
    failing_reads_ = std::move(url_part);
  }
  // The next write is done but its answer is lost (an unknown outcome).
  void LoseNextAnswer() {
    std::lock_guard<std::mutex> l(mu_);
    lose_next_ = true;
  }
  int writes() {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (const auto& r : log_) n += !IsRead(r);
    return n;
  }
  int issue_count() {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(issues_.size());
  }
  std::vector<spi::HttpRequest> log() {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }

  // As a person in the tracker.
  virtual void SetStatus(const std::string& id, v1::TaskStatus s) = 0;
  // The issue's fix goes into release `version` (a target version, a fix version, a closing
  // commit or merge request), which is not out yet; later the release comes out, on `at`.
  virtual void PlanRelease(const std::string& id, const std::string& version) = 0;
  virtual void PublishRelease(const std::string& version, absl::Time at) = 0;
  virtual std::string Body(const std::string& id) = 0;  // the description as text
  // A person adds a paragraph of their own at the top of the description.
  virtual void PrependText(const std::string& id, const std::string& text) = 0;
  std::vector<std::string> Comments(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    return issues_.at(id).comments;
  }
  // The issues this one is linked to as a duplicate of, where the tracker has such links
  // (nullopt where it has none).
  virtual std::optional<std::vector<std::string>> DuplicateOf(const std::string& id) {
    (void)id;
    return std::nullopt;
  }
  // The issue's labels, where this tracker has them (nullopt where it has none).
  std::optional<std::vector<std::string>> Labels(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    return LabelsOf(issues_.at(id).data);
  }
  std::vector<std::string> LinkTitles(const std::string& id) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (const auto& [g, link] : issues_.at(id).links) out.push_back(g);
    return out;
  }

 protected:
  // Whether a request only reads (GraphQL queries are POSTed).
  virtual bool IsRead(const spi::HttpRequest& r) const { return r.method == "GET"; }
  virtual std::optional<std::vector<std::string>> LabelsOf(const json& data) {
    (void)data;
    return std::nullopt;
  }
  virtual spi::HttpResponse Handle(const spi::HttpRequest& r) = 0;
  virtual std::optional<spi::HttpResponse> CheckAuth(const spi::HttpRequest& r) = 0;

  static spi::HttpResponse Answer(int status, const json& body) {
    spi::HttpResponse res;
    res.status = status;
    res.headers = {{"content-type", "application/json"}};
    res.body = body.is_null() ? "" : body.dump();
    return res;
  }
  static std::string Header(const spi::HttpRequest& r, absl::string_view name) {
    for (const auto& [k, v] : r.headers)
      if (absl::EqualsIgnoreCase(k, name)) return v;
    return "";
  }
  static std::string Query(const std::string& url, const std::string& name) {
    size_t q = url.find('?');
    if (q == std::string::npos) return "";
    for (absl::string_view kv : absl::StrSplit(url.substr(q + 1), '&')) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      if (p.first == name) return UrlDecode(p.second);
    }
    return "";
  }
  static std::string Day(absl::Time t) {
    return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
  }
  static std::string Iso(absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }
  static std::string Path(const std::string& url) {
    size_t scheme = url.find("://");
    size_t start = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return url.substr(start, url.find('?') - start);
  }

  std::mutex mu_;
  std::map<std::string, Issue> issues_;
  std::vector<spi::HttpRequest> log_;
  std::deque<spi::HttpResponse> injected_;
  bool lose_next_ = false;
  std::string failing_reads_;
  int next_id_ = 101;
};

// Redmine 5 (REST, JSON): X-Redmine-API-Key, statuses by id with is_closed in
// /issue_statuses.json only (5.0 leaves it off the issue), CRLF line ends in descriptions.
class FakeRedmine final : public FakeTracker {
 public:
  FakeRedmine(std::string key, const spi::Clock& clock) : key_(std::move(key)), clock_(clock) {}

  void SetStatus(const std::string& id, v1::TaskStatus s) override {
    std::lock_guard<std::mutex> l(mu_);
    static const std::map<v1::TaskStatus, json> kStatus = {
        {v1::TASK_OPEN, {{"id", 1}, {"name", "New"}}},
        {v1::TASK_IN_PROGRESS, {{"id", 2}, {"name", "In Progress"}}},
        {v1::TASK_DONE, {{"id", 5}, {"name", "Closed"}}},
        {v1::TASK_WONT_DO, {{"id", 6}, {"name", "Rejected"}}}};
    issues_.at(id).data["status"] = kStatus.at(s);
    issues_.at(id).data["updated_on"] = Now();
  }
  // A target version; closing it releases it (Redmine's date is its due date).
  void PlanRelease(const std::string& id, const std::string& version) override {
    std::lock_guard<std::mutex> l(mu_);
    json& v = versions_[version];
    if (v.is_null())
      v = {{"id", 30 + static_cast<int>(versions_.size())},
           {"name", version},
           {"status", "open"},
           {"due_date", nullptr},
           {"updated_on", Now()}};
    issues_.at(id).data["fixed_version"] = {{"id", v["id"]}, {"name", version}};
  }
  void PublishRelease(const std::string& version, absl::Time at) override {
    std::lock_guard<std::mutex> l(mu_);
    json& v = versions_.at(version);
    v["status"] = "closed";
    v["due_date"] = Day(at);
    v["updated_on"] = Now();
  }
  std::string Body(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    return issues_.at(id).data.value("description", "");
  }
  void PrependText(const std::string& id, const std::string& text) override {
    std::lock_guard<std::mutex> l(mu_);
    json& d = issues_.at(id).data["description"];
    d = Crlf(text + "\n\n" + d.get<std::string>());
  }
  std::optional<std::vector<std::string>> DuplicateOf(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    return duplicates_[id];
  }

 private:
  // The labels' list custom field (labels_field_id 9 in the suite's settings).
  std::optional<std::vector<std::string>> LabelsOf(const json& d) override {
    for (const json& cf : d.value("custom_fields", json::array()))
      if (cf.value("id", 0) == 9) return cf["value"].get<std::vector<std::string>>();
    return std::nullopt;
  }
  static std::string Crlf(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\n' && (out.empty() || out.back() != '\r')) out += '\r';
      out += c;
    }
    return out;
  }

  std::optional<spi::HttpResponse> CheckAuth(const spi::HttpRequest& r) override {
    if (Header(r, "X-Redmine-API-Key") != key_) return Answer(401, nullptr);
    return std::nullopt;
  }

  spi::HttpResponse Handle(const spi::HttpRequest& r) override {
    const std::string path = Path(r.url);
    json body = json::parse(r.body.empty() ? "null" : r.body, nullptr, false);
    if (path == "/issues.json" && r.method == "GET" && !Query(r.url, "updated_on").empty()) {
      // updated_on=>=<ISO time>: the issues touched at or after it.
      std::string since = Query(r.url, "updated_on");
      if (!absl::StartsWith(since, ">=")) return Answer(422, {{"errors", {"bad filter"}}});
      json out = json::array();
      for (const auto& [id, i] : issues_)
        if (i.data.value("updated_on", "") >= since.substr(2)) out.push_back(i.data);
      return Answer(200, {{"issues", out}, {"total_count", out.size()}});
    }
    if (path == "/issues.json" && r.method == "GET") {
      std::string want = Query(r.url, "description");
      if (!absl::StartsWith(want, "~")) return Answer(422, {{"errors", {"bad filter"}}});
      const std::string project = Query(r.url, "project_id");
      json out = json::array();
      for (const auto& [id, i] : issues_) {
        const json& p = i.data["project_id"];
        if (!project.empty() && (p.is_string() ? p.get<std::string>() : p.dump()) != project)
          continue;
        if (absl::StrContains(i.data.value("description", ""), want.substr(1)))
          out.push_back(i.data);
      }
      return Answer(200, {{"issues", out}, {"total_count", out.size()}});
    }
    if (path == "/issues.json" && r.method == "POST") {
      const json& in = body["issue"];
      if (!in.contains("project_id") || !in.contains("subject"))
        return Answer(422, {{"errors", {"Subject cannot be blank"}}});
      Issue i;
      i.id = std::to_string(next_id_++);
      i.data = in;
      i.data["id"] = std::stoi(i.id);
      i.data["description"] = Crlf(in.value("description", ""));
      i.data["status"] = {{"id", 1}, {"name", "New"}};
      i.data["updated_on"] = Now();
      issues_[i.id] = i;
      return Answer(201, {{"issue", i.data}});
    }
    if (path == "/issue_statuses.json")
      return Answer(200, {{"issue_statuses",
                           {{{"id", 1}, {"name", "New"}, {"is_closed", false}},
                            {{"id", 2}, {"name", "In Progress"}, {"is_closed", false}},
                            {{"id", 5}, {"name", "Closed"}, {"is_closed", true}},
                            {{"id", 6}, {"name", "Rejected"}, {"is_closed", true}}}}});
    if (path == "/users/current.json") return Answer(200, {{"user", {{"id", 1}}}});
    if (absl::StartsWith(path, "/versions/") && absl::EndsWith(path, ".json") &&
        r.method == "GET") {
      const std::string id = path.substr(10, path.size() - 15);
      for (const auto& [name, v] : versions_)
        if (v["id"].dump() == id) return Answer(200, {{"version", v}});
      return Answer(404, nullptr);
    }
    if (absl::StartsWith(path, "/projects/")) return Answer(200, {{"project", {{"id", 1}}}});
    if (path == "/custom_fields.json") return Answer(403, nullptr);
    if (absl::StartsWith(path, "/issues/") && absl::EndsWith(path, "/relations.json") &&
        r.method == "POST") {
      const std::string id = path.substr(8, path.size() - 8 - 15);
      const json& in = body["relation"];
      if (!issues_.contains(id) || !in.is_object() || !in["issue_to_id"].is_number())
        return Answer(422, {{"errors", {"Issue is invalid"}}});
      const std::string to = in["issue_to_id"].dump();
      auto& mine = duplicates_[id];
      if (in.value("relation_type", "") != "duplicates" || !issues_.contains(to) ||
          std::find(mine.begin(), mine.end(), to) != mine.end())
        return Answer(422, {{"errors", {"Related issue has already been taken"}}});
      mine.push_back(to);
      return Answer(201, {{"relation",
                           {{"id", 100 + static_cast<int>(mine.size())},
                            {"issue_id", std::stoi(id)},
                            {"issue_to_id", std::stoi(to)},
                            {"relation_type", "duplicates"}}}});
    }
    if (absl::StartsWith(path, "/issues/") && absl::EndsWith(path, ".json")) {
      std::string id = path.substr(8, path.size() - 13);
      auto it = issues_.find(id);
      if (it == issues_.end()) return Answer(404, nullptr);
      if (r.method == "GET") {
        json out = it->second.data;
        if (absl::StrContains(r.url, "include=journals")) {
          json journals = json::array();
          for (const std::string& c : it->second.comments) journals.push_back({{"notes", c}});
          out["journals"] = journals;
        }
        if (absl::StrContains(r.url, "relations")) {
          json relations = json::array();
          for (const std::string& to : duplicates_[id])
            relations.push_back({{"issue_id", std::stoi(id)},
                                 {"issue_to_id", std::stoi(to)},
                                 {"relation_type", "duplicates"}});
          out["relations"] = relations;
        }
        return Answer(200, {{"issue", out}});
      }
      if (r.method == "PUT") {
        const json& in = body["issue"];
        if (in.contains("description"))
          it->second.data["description"] = Crlf(in["description"].get<std::string>());
        if (in.contains("notes")) it->second.comments.push_back(in["notes"]);
        if (in.contains("custom_fields")) it->second.data["custom_fields"] = in["custom_fields"];
        it->second.data["updated_on"] = Now();
        return Answer(204, nullptr);
      }
    }
    return Answer(404, nullptr);
  }

  std::string Now() const {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", clock_.Now(), absl::UTCTimeZone());
  }

  std::string key_;
  const spi::Clock& clock_;
  std::map<std::string, json> versions_;                        // by name
  std::map<std::string, std::vector<std::string>> duplicates_;  // issue -> the ones it duplicates
};

// GitHub Issues (REST): issues by repository and number, labels, comments, state and
// state_reason.
class FakeGitHub final : public FakeTracker {
 public:
  explicit FakeGitHub(std::string token) : token_(std::move(token)) {}

  void SetStatus(const std::string& id, v1::TaskStatus s) override {
    std::lock_guard<std::mutex> l(mu_);
    json& d = issues_.at(id).data;
    d["state"] = s == v1::TASK_DONE || s == v1::TASK_WONT_DO ? "closed" : "open";
    d["state_reason"] = s == v1::TASK_DONE      ? json("completed")
                        : s == v1::TASK_WONT_DO ? json("not_planned")
                                                : json(nullptr);
    json labels = json::array();
    for (const json& l : d["labels"])
      if (l["name"] != "in progress") labels.push_back(l);
    if (s == v1::TASK_IN_PROGRESS) labels.push_back({{"name", "in progress"}});
    d["labels"] = labels;
  }
  // A commit closes the issue ("Fixes #n"); a release's tag holds the commits made before it.
  void PlanRelease(const std::string& id, const std::string& version) override {
    std::lock_guard<std::mutex> l(mu_);
    (void)version;
    const std::string sha = absl::StrCat("c0ffee", id, std::string(34 - id.size(), '0'));
    events_[id] = {{{"event", "labeled"}, {"commit_id", nullptr}},
                   {{"event", "closed"},
                    {"commit_id", sha},
                    {"commit_url", "http://github.test/repos/acme/shop/commits/" + sha}}};
    commits_.push_back(sha);
  }
  void PublishRelease(const std::string& version, absl::Time at) override {
    std::lock_guard<std::mutex> l(mu_);
    tags_[version] = std::set<std::string>(commits_.begin(), commits_.end());
    releases_.insert(releases_.begin(), json{{"tag_name", version},
                                             {"name", version},
                                             {"draft", false},
                                             {"prerelease", false},
                                             {"published_at", Iso(at)}});
    // A draft of the next one, which holds everything and is not out.
    releases_.insert(releases_.begin(), json{{"tag_name", "next"},
                                             {"name", "Next"},
                                             {"draft", true},
                                             {"prerelease", false},
                                             {"published_at", nullptr}});
  }
  std::string Body(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    return issues_.at(id).data.value("body", "");
  }
  void PrependText(const std::string& id, const std::string& text) override {
    std::lock_guard<std::mutex> l(mu_);
    json& b = issues_.at(id).data["body"];
    b = text + "\n\n" + b.get<std::string>();
  }

 private:
  std::optional<std::vector<std::string>> LabelsOf(const json& d) override {
    std::vector<std::string> out;
    for (const json& l : d.value("labels", json::array())) out.push_back(l["name"]);
    return out;
  }
  std::optional<spi::HttpResponse> CheckAuth(const spi::HttpRequest& r) override {
    if (Header(r, "Authorization") != "Bearer " + token_) return Answer(401, nullptr);
    return std::nullopt;
  }

  spi::HttpResponse Handle(const spi::HttpRequest& r) override {
    const std::string path = Path(r.url);
    json body = json::parse(r.body.empty() ? "null" : r.body, nullptr, false);
    const std::string issues = "/repos/acme/shop/issues";
    if (path == issues && r.method == "GET") {
      json out = json::array();
      for (auto it = issues_.rbegin(); it != issues_.rend(); ++it) out.push_back(it->second.data);
      return Answer(200, out);
    }
    if (path == "/search/issues")
      return Answer(200, {{"total_count", 0}, {"items", json::array()}});
    if (path == "/repos/acme/shop/releases") return Answer(200, releases_);
    if (absl::StartsWith(path, "/repos/acme/shop/compare/")) {
      // base...head: "ahead" when the head tag holds the base commit.
      std::pair<std::string, std::string> bh =
          absl::StrSplit(path.substr(25), absl::MaxSplits("...", 1));
      auto tag = tags_.find(UrlDecode(bh.second));
      if (tag == tags_.end() ||
          std::find(commits_.begin(), commits_.end(), bh.first) == commits_.end())
        return Answer(404, {{"message", "Not Found"}});
      return Answer(200, {{"status", tag->second.contains(bh.first) ? "ahead" : "diverged"}});
    }
    if (path == issues && r.method == "POST") {
      Issue i;
      i.id = std::to_string(next_id_++);
      i.data = {{"id", 9000 + std::stoi(i.id)},
                {"number", std::stoi(i.id)},
                {"title", body["title"]},
                {"body", body.value("body", "")},
                {"state", "open"},
                {"state_reason", nullptr},
                {"html_url", "https://github.com/acme/shop/issues/" + i.id}};
      json labels = json::array();
      for (const json& l : body.value("labels", json::array())) labels.push_back({{"name", l}});
      i.data["labels"] = labels;
      issues_[i.id] = i;
      return Answer(201, i.data);
    }
    if (!absl::StartsWith(path, issues + "/")) return Answer(404, {{"message", "Not Found"}});
    std::vector<std::string> parts = absl::StrSplit(path.substr(issues.size() + 1), '/');
    auto it = issues_.find(parts[0]);
    if (it == issues_.end()) return Answer(404, {{"message", "Not Found"}});
    json& d = it->second.data;
    if (parts.size() == 1 && r.method == "GET") return Answer(200, d);
    if (parts.size() == 1 && r.method == "PATCH") {
      for (auto& [k, v] : body.items()) d[k] = v;
      return Answer(200, d);
    }
    if (parts.size() == 2 && parts[1] == "labels" && r.method == "POST") {
      for (const json& l : body["labels"]) d["labels"].push_back({{"name", l}});
      return Answer(200, d["labels"]);
    }
    if (parts.size() == 3 && parts[1] == "labels" && r.method == "DELETE") {
      const std::string name = UrlDecode(parts[2]);
      json kept = json::array();
      for (const json& l : d["labels"])
        if (l["name"] != name) kept.push_back(l);
      if (kept.size() == d["labels"].size())
        return Answer(404, {{"message", "Label does not exist"}});
      d["labels"] = kept;
      return Answer(200, kept);
    }
    if (parts.size() == 2 && parts[1] == "events") {
      auto e = events_.find(parts[0]);
      return Answer(200, e == events_.end() ? json::array() : e->second);
    }
    if (parts.size() == 2 && parts[1] == "comments") {
      if (r.method == "POST") {
        it->second.comments.push_back(body["body"]);
        return Answer(201, {{"id", 1}, {"body", body["body"]}});
      }
      json out = json::array();
      for (const std::string& c : it->second.comments) out.push_back({{"body", c}});
      return Answer(200, out);
    }
    return Answer(404, {{"message", "Not Found"}});
  }

  std::string token_;
  std::map<std::string, json> events_;  // by issue number, oldest first
  std::vector<std::string> commits_;
  std::map<std::string, std::set<std::string>> tags_;  // tag -> the commits it holds
  json releases_ = json::array();                      // newest first
};

// Jira Cloud REST v3: numeric issue ids and keys, ADF descriptions and comments, remote links
// upserted by globalId, status categories and resolutions.
class FakeJira final : public FakeTracker {
 public:
  FakeJira(std::string auth, std::function<std::string(const json&)> adf_text,
           std::function<json(const std::string&)> to_adf)
      : auth_(std::move(auth)), adf_text_(std::move(adf_text)), to_adf_(std::move(to_adf)) {}

  void SetStatus(const std::string& id, v1::TaskStatus s) override {
    std::lock_guard<std::mutex> l(mu_);
    json& f = issues_.at(id).data["fields"];
    static const std::map<v1::TaskStatus, std::pair<std::string, std::string>> kStatus = {
        {v1::TASK_OPEN, {"new", ""}},
        {v1::TASK_IN_PROGRESS, {"indeterminate", ""}},
        {v1::TASK_DONE, {"done", "Done"}},
        {v1::TASK_WONT_DO, {"done", "Won't Do"}}};
    f["status"] = {{"statusCategory", {{"key", kStatus.at(s).first}}}};
    f["resolution"] =
        kStatus.at(s).second.empty() ? json(nullptr) : json{{"name", kStatus.at(s).second}};
  }
  // A fix version of the issue, unreleased until the release comes out.
  void PlanRelease(const std::string& id, const std::string& version) override {
    std::lock_guard<std::mutex> l(mu_);
    issues_.at(id).data["fields"]["fixVersions"] = {
        {{"id", "10200"}, {"name", version}, {"released", false}, {"archived", false}}};
  }
  void PublishRelease(const std::string& version, absl::Time at) override {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, i] : issues_) {
      json& f = i.data["fields"];
      if (!f.contains("fixVersions")) continue;
      for (json& w : f["fixVersions"])
        if (w["name"] == version) {
          w["released"] = true;
          w["releaseDate"] = Day(at);
        }
    }
  }
  std::string Body(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    return adf_text_(issues_.at(id).data["fields"]["description"]);
  }
  void PrependText(const std::string& id, const std::string& text) override {
    std::lock_guard<std::mutex> l(mu_);
    json& desc = issues_.at(id).data["fields"]["description"];
    json mine = to_adf_(text)["content"];
    json merged = mine;
    for (const json& n : desc["content"]) merged.push_back(n);
    desc["content"] = merged;
  }

 private:
  std::optional<std::vector<std::string>> LabelsOf(const json& d) override {
    std::vector<std::string> out;
    for (const json& l : d["fields"].value("labels", json::array())) out.push_back(l);
    return out;
  }
  std::optional<spi::HttpResponse> CheckAuth(const spi::HttpRequest& r) override {
    if (Header(r, "Authorization") != auth_) return Answer(401, nullptr);
    return std::nullopt;
  }

  spi::HttpResponse Handle(const spi::HttpRequest& r) override {
    const std::string path = Path(r.url);
    json body = json::parse(r.body.empty() ? "null" : r.body, nullptr, false);
    const std::string api = "/rest/api/3";
    if (path == api + "/search/jql") {
      std::string jql = Query(r.url, "jql");
      json out = json::array();
      for (const auto& [id, i] : issues_) {
        std::string text = adf_text_(i.data["fields"]["description"]);
        size_t m = text.find("debrief-task-");
        if (m != std::string::npos && absl::StrContains(jql, text.substr(m, 37)))
          out.push_back(i.data);
      }
      return Answer(200, {{"issues", out}, {"isLast", true}});
    }
    if (path == api + "/issue" && r.method == "POST") {
      const json& f = body["fields"];
      if (!f.contains("summary") || !f.contains("project") || !f.contains("issuetype"))
        return Answer(400,
                      {{"errorMessages", json::array()}, {"errors", {{"summary", "required"}}}});
      Issue i;
      i.id = std::to_string(10000 + next_id_++);
      i.data = {{"id", i.id}, {"key", "SUP-" + std::to_string(next_id_ - 1)}, {"fields", f}};
      i.data["fields"]["status"] = {{"statusCategory", {{"key", "new"}}}};
      i.data["fields"]["resolution"] = nullptr;
      issues_[i.id] = i;
      return Answer(201, {{"id", i.id}, {"key", i.data["key"]}, {"self", "x"}});
    }
    if (path == api + "/myself") return Answer(200, {{"accountId", "bot"}});
    // Create metadata of project SUP: a Task needs a "Request type" (no default).
    if (path == api + "/issue/createmeta/SUP/issuetypes")
      return Answer(200, {{"issueTypes", {{{"id", "10001"}, {"name", "Task"}}}}});
    if (path == api + "/issue/createmeta/SUP/issuetypes/10001")
      return Answer(200, {{"fields",
                           {{{"fieldId", "summary"}, {"name", "Summary"}, {"required", true}},
                            {{"fieldId", "priority"},
                             {"name", "Priority"},
                             {"required", true},
                             {"hasDefaultValue", true}},
                            {{"fieldId", "customfield_10010"},
                             {"name", "Request type"},
                             {"required", true},
                             {"hasDefaultValue", false}},
                            {{"fieldId", "duedate"}, {"name", "Due date"}, {"required", false}}}}});
    if (!absl::StartsWith(path, api + "/issue/")) return Answer(404, nullptr);
    std::vector<std::string> parts = absl::StrSplit(path.substr(api.size() + 7), '/');
    auto it = issues_.find(parts[0]);
    if (it == issues_.end()) return Answer(404, {{"errorMessages", {"Issue does not exist"}}});
    json& d = it->second.data;
    if (parts.size() == 1 && r.method == "GET") return Answer(200, d);
    if (parts.size() == 1 && r.method == "PUT") {
      if (body.contains("fields"))
        for (auto& [k, v] : body["fields"].items()) d["fields"][k] = v;
      if (body.contains("update") && body["update"].contains("labels"))
        for (const json& op : body["update"]["labels"])
          if (op.contains("add")) {
            d["fields"]["labels"].push_back(op["add"]);
          } else if (op.contains("remove")) {
            json kept = json::array();
            for (const json& l : d["fields"]["labels"])
              if (l != op["remove"]) kept.push_back(l);
            d["fields"]["labels"] = kept;
          }
      return Answer(204, nullptr);
    }
    if (parts.size() == 2 && parts[1] == "comment") {
      if (r.method == "POST") {
        it->second.comments.push_back(adf_text_(body["body"]));
        return Answer(201, {{"id", "1"}});
      }
      json out = json::array();
      for (const std::string& c : it->second.comments) out.push_back({{"body", to_adf_(c)}});
      return Answer(200, {{"comments", out}, {"total", out.size()}});
    }
    if (parts.size() == 2 && parts[1] == "remotelink") {
      if (r.method == "POST") {
        it->second.links[body["globalId"]] = body;
        return Answer(201, {{"id", 1}});
      }
      if (r.method == "DELETE") {
        it->second.links.erase(Query(r.url, "globalId"));
        return Answer(204, nullptr);
      }
      json out = json::array();
      for (const auto& [g, l] : it->second.links) out.push_back(l);
      return Answer(200, out);
    }
    return Answer(404, nullptr);
  }

  std::string auth_;
  std::function<std::string(const json&)> adf_text_;
  std::function<json(const std::string&)> to_adf_;
};

// GitLab (REST v4 and GraphQL): global ids and per-project iids, labels as strings, notes,
// `opened`/`closed` states; issues read back by global id through GraphQL. Shapes from GitLab's
// API documentation (no OpenAPI description is published for these endpoints).
class FakeGitLab final : public FakeTracker {
 public:
  explicit FakeGitLab(std::string token) : token_(std::move(token)) {}

  void SetStatus(const std::string& id, v1::TaskStatus s) override {
    std::lock_guard<std::mutex> l(mu_);
    json& d = issues_.at(id).data;
    d["state"] = s == v1::TASK_DONE || s == v1::TASK_WONT_DO ? "closed" : "opened";
    json labels = json::array();
    for (const json& l : d["labels"])
      if (l != "workflow::in progress" && l != "won't do") labels.push_back(l);
    if (s == v1::TASK_IN_PROGRESS) labels.push_back("workflow::in progress");
    if (s == v1::TASK_WONT_DO) labels.push_back("won't do");
    d["labels"] = labels;
  }
  // A merge request that closes the issue is merged; a release's tag holds the merge commits
  // made before it.
  void PlanRelease(const std::string& id, const std::string& version) override {
    std::lock_guard<std::mutex> l(mu_);
    (void)version;
    const std::string iid = std::to_string(issues_.at(id).data["iid"].get<int>());
    const std::string sha = absl::StrCat("beef", iid, std::string(36 - iid.size(), '0'));
    closed_by_[iid] = {{{"iid", 40}, {"state", "opened"}, {"merge_commit_sha", nullptr}},
                       {{"iid", 41}, {"state", "merged"}, {"merge_commit_sha", sha}}};
    commits_.insert(sha);
  }
  // The issue's milestone, as GraphQL shows it (dueDate a time at the day's start).
  void SetMilestone(const std::string& id, const std::string& title, const std::string& state,
                    absl::Time due) {
    std::lock_guard<std::mutex> l(mu_);
    issues_.at(id).data["milestone"] = {{"title", title}, {"state", state}, {"dueDate", Iso(due)}};
  }
  void PublishRelease(const std::string& version, absl::Time at) override {
    std::lock_guard<std::mutex> l(mu_);
    tags_[version] = commits_;
    releases_.insert(releases_.begin(),
                     json{{"tag_name", version}, {"name", version}, {"released_at", Iso(at)}});
  }
  std::string Body(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    return issues_.at(id).data.value("description", "");
  }
  void PrependText(const std::string& id, const std::string& text) override {
    std::lock_guard<std::mutex> l(mu_);
    json& b = issues_.at(id).data["description"];
    b = text + "\n\n" + b.get<std::string>();
  }

 private:
  std::optional<std::vector<std::string>> LabelsOf(const json& d) override {
    std::vector<std::string> out;
    for (const json& l : d.value("labels", json::array())) out.push_back(l);
    return out;
  }
  std::optional<spi::HttpResponse> CheckAuth(const spi::HttpRequest& r) override {
    if (Header(r, "PRIVATE-TOKEN") != token_) return Answer(401, {{"message", "401 Unauthorized"}});
    return std::nullopt;
  }

  bool IsRead(const spi::HttpRequest& r) const override {
    return r.method == "GET" || Path(r.url) == "/api/graphql";
  }

  Issue* ByIid(const std::string& iid) {
    for (auto& [id, i] : issues_)
      if (std::to_string(i.data["iid"].get<int>()) == iid) return &i;
    return nullptr;
  }

  spi::HttpResponse Handle(const spi::HttpRequest& r) override {
    const std::string path = Path(r.url);
    json body = json::parse(r.body.empty() ? "null" : r.body, nullptr, false);
    if (path == "/api/graphql") {
      std::string gid = body["variables"]["id"];
      auto it = issues_.find(gid.substr(gid.rfind('/') + 1));
      if (it == issues_.end()) return Answer(200, {{"data", {{"issue", nullptr}}}});
      const json& d = it->second.data;
      json labels = json::array();
      for (const json& l : d["labels"]) labels.push_back({{"title", l}});
      return Answer(200, {{"data",
                           {{"issue",
                             {{"id", "gid://gitlab/Issue/" + it->first},
                              {"iid", std::to_string(d["iid"].get<int>())},
                              {"projectId", d["project_id"]},
                              {"state", d["state"]},
                              {"webUrl", d["web_url"]},
                              {"reference", d["references"]["full"]},
                              {"labels", {{"nodes", labels}}},
                              {"movedTo", nullptr},
                              {"duplicatedTo", nullptr},
                              {"milestone", d.value("milestone", json(nullptr))}}}}}});
    }
    const std::string by_path = "/api/v4/projects/acme%2Fsupport/issues";
    if (path == by_path && r.method == "GET") {
      const std::string q = Query(r.url, "search");
      json out = json::array();
      for (const auto& [id, i] : issues_)
        if (absl::StrContains(i.data.value("description", ""), q)) out.push_back(i.data);
      return Answer(200, out);
    }
    if (path == by_path && r.method == "POST") {
      if (!body.contains("title")) return Answer(400, {{"error", "title is missing"}});
      Issue i;
      const int n = next_id_++ - 100;
      i.id = std::to_string(5000 + n);
      json labels = json::array();
      for (absl::string_view l : absl::StrSplit(body.value("labels", ""), ',', absl::SkipEmpty()))
        labels.push_back(std::string(l));
      i.data = {{"id", 5000 + n},
                {"iid", n},
                {"project_id", 7},
                {"title", body["title"]},
                {"description", body.value("description", "")},
                {"state", "opened"},
                {"labels", labels},
                {"web_url", "https://gitlab.test/acme/support/-/issues/" + std::to_string(n)},
                {"references", {{"full", "acme/support#" + std::to_string(n)}}}};
      issues_[i.id] = i;
      return Answer(201, i.data);
    }
    if (path == "/api/v4/projects/7/releases") return Answer(200, releases_);
    const std::string commits = "/api/v4/projects/7/repository/commits/";
    if (absl::StartsWith(path, commits) && absl::EndsWith(path, "/refs")) {
      const std::string sha = path.substr(commits.size(), path.size() - commits.size() - 5);
      if (!commits_.contains(sha)) return Answer(404, {{"message", "404 Commit Not Found"}});
      json refs = json::array();
      for (const auto& [tag, held] : tags_)
        if (held.contains(sha)) refs.push_back({{"type", "tag"}, {"name", tag}});
      return Answer(200, refs);
    }
    const std::string by_id = "/api/v4/projects/7/issues/";
    if (!absl::StartsWith(path, by_id)) return Answer(404, {{"message", "404 Not found"}});
    std::vector<std::string> parts = absl::StrSplit(path.substr(by_id.size()), '/');
    Issue* i = ByIid(parts[0]);
    if (i == nullptr) return Answer(404, {{"message", "404 Issue Not Found"}});
    if (parts.size() == 1 && r.method == "GET") return Answer(200, i->data);
    if (parts.size() == 1 && r.method == "PUT") {
      if (body.contains("description")) i->data["description"] = body["description"];
      if (body.contains("add_labels"))
        for (absl::string_view l : absl::StrSplit(body["add_labels"].get<std::string>(), ','))
          i->data["labels"].push_back(std::string(l));
      if (body.contains("remove_labels")) {
        std::set<std::string> gone = absl::StrSplit(body["remove_labels"].get<std::string>(), ',');
        json kept = json::array();
        for (const json& l : i->data["labels"])
          if (!gone.contains(l.get<std::string>())) kept.push_back(l);
        i->data["labels"] = kept;
      }
      return Answer(200, i->data);
    }
    if (parts.size() == 2 && parts[1] == "closed_by") {
      auto mrs = closed_by_.find(parts[0]);
      return Answer(200, mrs == closed_by_.end() ? json::array() : mrs->second);
    }
    if (parts.size() == 2 && parts[1] == "notes") {
      if (r.method == "POST") {
        i->comments.push_back(body["body"]);
        return Answer(201, {{"id", 1}, {"body", body["body"]}});
      }
      json out = json::array();
      for (const std::string& c : i->comments) out.push_back({{"body", c}});
      return Answer(200, out);
    }
    return Answer(404, {{"message", "404 Not found"}});
  }

  std::string token_;
  std::map<std::string, json> closed_by_;  // merge requests closing each issue (by iid)
  std::set<std::string> commits_;
  std::map<std::string, std::set<std::string>> tags_;
  json releases_ = json::array();  // newest first
};

// Linear (GraphQL): issues by UUID with identifiers, workflow state types, labels by id, link
// attachments (one per URL, updated in place), comments. Every operation the adapter sends is
// kept (ops()) so tests/contract can validate them against Linear's schema.
class FakeLinear final : public FakeTracker {
 public:
  explicit FakeLinear(std::string key) : key_(std::move(key)) {}

  void SetStatus(const std::string& id, v1::TaskStatus s) override {
    std::lock_guard<std::mutex> l(mu_);
    static const std::map<v1::TaskStatus, std::string> kType = {{v1::TASK_OPEN, "unstarted"},
                                                                {v1::TASK_IN_PROGRESS, "started"},
                                                                {v1::TASK_DONE, "completed"},
                                                                {v1::TASK_WONT_DO, "canceled"}};
    static const std::map<v1::TaskStatus, std::string> kName = {
        {v1::TASK_OPEN, "Todo"},
        {v1::TASK_IN_PROGRESS, "In Progress"},
        {v1::TASK_DONE, "Done"},
        {v1::TASK_WONT_DO, "Canceled"}};
    issues_.at(id).data["state"] = {{"type", kType.at(s)}, {"name", kName.at(s)}};
  }
  // Linear has no releases: a team moves the issue to a completed state named "Released".
  void PlanRelease(const std::string& id, const std::string& version) override {
    std::lock_guard<std::mutex> l(mu_);
    planned_[version].push_back(id);
  }
  void PublishRelease(const std::string& version, absl::Time at) override {
    std::lock_guard<std::mutex> l(mu_);
    (void)at;
    for (const std::string& id : planned_[version])
      issues_.at(id).data["state"] = {{"type", "completed"}, {"name", "Released"}};
  }
  std::string Body(const std::string& id) override {
    std::lock_guard<std::mutex> l(mu_);
    return issues_.at(id).data.value("description", "");
  }
  void PrependText(const std::string& id, const std::string& text) override {
    std::lock_guard<std::mutex> l(mu_);
    json& b = issues_.at(id).data["description"];
    b = text + "\n\n" + b.get<std::string>();
  }
  std::vector<json> ops() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<json> out;
    for (const auto& r : log_) out.push_back(json::parse(r.body, nullptr, false));
    return out;
  }

 private:
  std::optional<std::vector<std::string>> LabelsOf(const json& d) override {
    std::vector<std::string> out;
    for (const json& id : d.value("labelIds", json::array())) out.push_back(LabelName(id));
    return out;
  }
  std::optional<spi::HttpResponse> CheckAuth(const spi::HttpRequest& r) override {
    if (Header(r, "Authorization") != key_)
      return Answer(400, {{"errors",
                           {{{"message", "Authentication required"},
                             {"extensions", {{"code", "AUTHENTICATION_ERROR"}}}}}}});
    return std::nullopt;
  }
  bool IsRead(const spi::HttpRequest& r) const override {
    return absl::StrContains(r.body, "\"query DebriefFind") ||
           absl::StrContains(r.body, "\"query ");
  }

  json Node(const Issue& i) {
    json labels = json::array();
    for (const json& id : i.data.value("labelIds", json::array()))
      labels.push_back({{"id", id}, {"name", LabelName(id)}});
    json comments = json::array();
    for (const std::string& c : i.comments) comments.push_back({{"body", c}});
    json attachments = json::array();
    for (const auto& [url, a] : i.links) attachments.push_back(a);
    json n = i.data;
    n["labels"] = {{"nodes", labels}};
    n["comments"] = {{"nodes", comments}};
    n["attachments"] = {{"nodes", attachments}};
    return n;
  }
  static std::string LabelName(const json& id) {
    return id.get<std::string>().substr(6);  // "label-<name>"
  }

  spi::HttpResponse Handle(const spi::HttpRequest& r) override {
    json body = json::parse(r.body, nullptr, false);
    const std::string q = body.value("query", "");
    const json& v = body["variables"];
    auto data = [](json d) { return Answer(200, {{"data", d}}); };
    if (absl::StrContains(q, "DebriefFind")) {
      json nodes = json::array();
      for (const auto& [id, i] : issues_)
        if (absl::StrContains(i.data.value("description", ""), v["marker"].get<std::string>()))
          nodes.push_back(i.data);
      return data({{"issues", {{"nodes", nodes}}}});
    }
    if (absl::StrContains(q, "DebriefLabels")) {
      json nodes = json::array();
      for (const json& n : v["names"])
        if (labels_.contains(n))
          nodes.push_back(
              {{"id", "label-" + n.get<std::string>()}, {"name", n}, {"team", nullptr}});
      return data({{"issueLabels", {{"nodes", nodes}}}});
    }
    if (absl::StrContains(q, "DebriefLabelCreate")) {
      const std::string name = v["input"]["name"];
      labels_.insert(name);
      return data(
          {{"issueLabelCreate",
            {{"success", true}, {"issueLabel", {{"id", "label-" + name}, {"name", name}}}}}});
    }
    if (absl::StrContains(q, "DebriefCreate")) {
      Issue i;
      const int n = next_id_++;
      i.id = absl::StrCat("9b2c3d4e-0000-4000-8000-", 100000000000 + n);
      i.data = v["input"];
      i.data["id"] = i.id;
      i.data["identifier"] = absl::StrCat("SUP-", n);
      i.data["url"] = absl::StrCat("https://linear.app/acme/issue/SUP-", n);
      i.data["state"] = {{"type", "unstarted"}};
      issues_[i.id] = i;
      return data({{"issueCreate", {{"success", true}, {"issue", i.data}}}});
    }
    if (absl::StrContains(q, "DebriefViewer")) return data({{"viewer", {{"id", "u1"}}}});
    if (absl::StrContains(q, "DebriefTeam"))
      return data({{"team", {{"id", v["id"]}, {"key", "SUP"}}}});
    if (absl::StrContains(q, "DebriefLink")) {
      const json& in = v["input"];
      auto it = issues_.find(in["issueId"]);
      if (it == issues_.end())
        return Answer(200, {{"errors", {{{"message", "Entity not found"}}}}});
      it->second.links[in["url"]] = {{"id", "att-" + in["url"].get<std::string>()},
                                     {"url", in["url"]},
                                     {"metadata", in.value("metadata", json::object())}};
      return data({{"attachmentCreate", {{"success", true}}}});
    }
    if (absl::StrContains(q, "DebriefUnlink")) {
      for (auto& [id, i] : issues_)
        for (auto it = i.links.begin(); it != i.links.end(); ++it)
          if (it->second["id"] == v["id"]) {
            i.links.erase(it);
            return data({{"attachmentDelete", {{"success", true}}}});
          }
      return Answer(200, {{"errors", {{{"message", "Entity not found"}}}}});
    }
    if (absl::StrContains(q, "DebriefComment")) {
      auto it = issues_.find(v["input"]["issueId"]);
      if (it == issues_.end())
        return Answer(200, {{"errors", {{{"message", "Entity not found"}}}}});
      it->second.comments.push_back(v["input"]["body"]);
      return data({{"commentCreate", {{"success", true}}}});
    }
    auto it = issues_.find(v.value("id", ""));
    if (absl::StrContains(q, "DebriefRead") || absl::StrContains(q, "DebriefStatus"))
      return data({{"issue", it == issues_.end() ? json(nullptr) : Node(it->second)}});
    if (absl::StrContains(q, "DebriefUpdate")) {
      if (it == issues_.end())
        return Answer(200, {{"errors", {{{"message", "Entity not found"}}}}});
      const json& in = v["input"];
      if (in.contains("description")) it->second.data["description"] = in["description"];
      for (const json& l : in.value("addedLabelIds", json::array()))
        it->second.data["labelIds"].push_back(l);
      if (in.contains("removedLabelIds")) {
        json kept = json::array();
        for (const json& l : it->second.data["labelIds"])
          if (std::find(in["removedLabelIds"].begin(), in["removedLabelIds"].end(), l) ==
              in["removedLabelIds"].end())
            kept.push_back(l);
        it->second.data["labelIds"] = kept;
      }
      return data({{"issueUpdate", {{"success", true}}}});
    }
    return Answer(400, {{"errors", {{{"message", "unknown operation"}}}}});
  }

  std::set<std::string> labels_ = {"support"};  // others are created when first used
  std::string key_;
  std::map<std::string, std::vector<std::string>> planned_;  // release -> issues
};

}  // namespace debrief::testing
