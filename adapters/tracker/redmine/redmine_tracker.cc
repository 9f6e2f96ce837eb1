#include "tracker/redmine/redmine_tracker.h"

#include <map>
#include <mutex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/json_util.h"
#include "common/rest.h"
#include "common/task_text.h"
#include "settings/settings.h"
#include "tracker/redmine/redmine.pb.h"

namespace debrief::adapters::redmine {
namespace {

namespace v1 = ::debrief::v1;

bool NamedIn(const std::string& name, const google::protobuf::RepeatedPtrField<std::string>& names,
             absl::string_view fallback) {
  if (names.empty()) return absl::EqualsIgnoreCase(name, fallback);
  for (const std::string& n : names)
    if (absl::EqualsIgnoreCase(name, n)) return true;
  return false;
}

// One field of the issue from a "name" -> "value" setting: a custom field ("cf_<id>") or a
// top-level id field. Numbers are sent as numbers, as Redmine's API description has them.
absl::Status SetField(const std::string& name, const std::string& value, json& issue) {
  if (absl::StartsWith(name, "cf_")) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(name.substr(3), &id))
      return absl::InvalidArgumentError(absl::StrCat("field \"", name, "\": cf_<custom field id>"));
    json& cfs = issue["custom_fields"];
    if (!cfs.is_array()) cfs = json::array();
    for (json& cf : cfs)
      if (cf.value("id", int64_t{0}) == id) {
        cf["value"] = value;
        return absl::OkStatus();
      }
    cfs.push_back({{"id", id}, {"value", value}});
    return absl::OkStatus();
  }
  static const char* kIds[] = {"tracker_id",     "priority_id",      "category_id",
                               "assigned_to_id", "fixed_version_id", "status_id",
                               "parent_issue_id"};
  for (const char* k : kIds)
    if (name == k) {
      int64_t id = 0;
      if (!absl::SimpleAtoi(value, &id))
        return absl::InvalidArgumentError(absl::StrCat("field \"", name, "\" wants a number"));
      issue[name] = id;
      return absl::OkStatus();
    }
  if (name == "due_date" || name == "start_date") {
    issue[name] = value;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown Redmine field \"", name,
      "\" (tracker_id, priority_id, category_id, assigned_to_id, fixed_version_id, due_date, "
      "start_date or cf_<id>)"));
}

// Debrief writes its texts in Markdown; Redmine's default formatting is Textile, where "###"
// is a numbered list and "-" no list at all. The subset Debrief writes, line by line: headings
// become "hN.", list items "*" (after a blank line, as Textile wants), rules a blank line; the
// impact markers are HTML comments, which Textile hides, and quotes ("> ") Redmine's Textile
// reads as they are.
std::string MarkdownToTextile(absl::string_view md) {
  std::vector<std::string> out;
  bool list = false;
  for (absl::string_view line : absl::StrSplit(md, '\n')) {
    std::string l(absl::StripSuffix(line, "\r"));
    size_t level = 0;
    while (level < l.size() && level < 6 && l[level] == '#') ++level;
    const bool item = absl::StartsWith(l, "- ");
    if (level > 0 && level < l.size() && l[level] == ' ') {
      if (!out.empty() && !out.back().empty()) out.emplace_back();
      out.push_back(absl::StrCat("h", level, ". ", l.substr(level + 1)));
      out.emplace_back();  // a block of its own
    } else if (item) {
      if (!list && !out.empty() && !out.back().empty()) out.emplace_back();
      out.push_back(absl::StrCat("* ", l.substr(2)));
    } else if (l == "---") {
      if (!out.empty() && !out.back().empty()) out.emplace_back();
    } else if (!(l.empty() && !out.empty() && out.back().empty())) {
      if (list && !l.empty()) out.emplace_back();
      out.push_back(std::move(l));
    }
    list = item;
  }
  return absl::StrJoin(out, "\n");
}

class Redmine final : public spi::TrackerAdapter {
 public:
  Redmine(std::string id, RedmineConfig cfg, std::string key, spi::ShippedWhen shipped_when,
          const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        shipped_when_(shipped_when),
        key_(std::move(key)),
        http_(ctx.http),
        clock_(ctx.clock) {
    base_ = std::string(absl::StripSuffix(cfg_.url(), "/"));
    textile_ = cfg_.text_formatting().empty() || cfg_.text_formatting() == "textile";
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    auto where = common::ProjectFor(d.category, cfg_.project(), "Redmine project", "project");
    if (!where.ok()) return where.status();
    const std::string& project = *where;
    // Idempotency: a task this draft already made carries its marker in the description
    // (looked for in the project it goes to, which may have moved it to a subproject).
    const std::string marker = common::TaskMarker(d.idempotency_key);
    auto found =
        Send("GET",
             absl::StrCat("/issues.json?status_id=*&limit=5&project_id=", UrlEncode(project),
                          "&description=~", marker),
             "", "Redmine: search for the task already made");
    if (!found.ok()) return found.status();
    if (const json* issues = Member(*found, "issues"); issues && issues->is_array())
      for (const json& i : *issues)
        if (absl::StrContains(Text(i, "description"), marker)) return Describe(i);

    json issue = {{"project_id", ProjectRef(project)},
                  {"subject", d.title},
                  {"description", Formatted(common::TaskBody(d))}};
    if (cfg_.tracker_id() != 0) issue["tracker_id"] = cfg_.tracker_id();
    for (const auto& [k, v] : cfg_.fields())
      if (auto s = SetField(k, v, issue); !s.ok()) return s;
    for (const auto& [k, v] : d.category.routing().fields())
      if (auto s = SetField(k, v, issue); !s.ok()) return s;
    if (cfg_.labels_field_id() != 0 && !d.category.routing().labels().empty()) {
      json values = json::array();
      for (const std::string& l : d.category.routing().labels()) values.push_back(l);
      issue["custom_fields"].push_back({{"id", cfg_.labels_field_id()}, {"value", values}});
    }
    auto made = Send("POST", "/issues.json", json{{"issue", issue}}.dump(),
                     absl::StrCat("Redmine: create the task for ", d.category.id()));
    if (!made.ok()) return made.status();
    const json* i = Member(*made, "issue");
    if (i == nullptr || Text(*i, "id").empty())
      return absl::InternalError("Redmine: the created issue has no id");
    return Describe(*i);
  }

  absl::Status UpdateTask(const std::string& external_id, const spi::TaskUpdate& u) override {
    auto got = Send("GET",
                    absl::StrCat("/issues/", external_id, ".json?include=journals",
                                 u.duplicate_of.empty() ? "" : ",relations"),
                    "", absl::StrCat("Redmine: read issue ", external_id));
    if (!got.ok()) return got.status();
    const json* i = Member(*got, "issue");
    if (i == nullptr) return absl::InternalError("Redmine: issue without \"issue\"");
    if (!u.duplicate_of.empty()) {
      if (absl::Status s = MarkDuplicate(external_id, *i, u.duplicate_of); !s.ok()) return s;
    }
    json change = json::object();
    const std::string old = Text(*i, "description");
    // Redmine stores descriptions with CRLF line ends; compare without them.
    std::string now = common::ReplaceImpact(old, Formatted(u.impact));
    if (absl::StrReplaceAll(now, {{"\r\n", "\n"}}) != absl::StrReplaceAll(old, {{"\r\n", "\n"}}))
      change["description"] = now;
    if (!u.comment.empty() && !HasJournal(*i, common::CommentMarker(u.comment_key)))
      change["notes"] = Formatted(common::KeyedComment(u.comment, u.comment_key));
    if (cfg_.labels_field_id() != 0 && (!u.add_labels.empty() || !u.remove_labels.empty())) {
      json values = json::array();
      for (const json& cf : i->value("custom_fields", json::array()))
        if (cf.value("id", int64_t{0}) == cfg_.labels_field_id() && cf.contains("value") &&
            cf["value"].is_array())
          values = cf["value"];
      bool changed = false;
      for (const std::string& l : u.add_labels)
        if (std::find(values.begin(), values.end(), json(l)) == values.end()) {
          values.push_back(l);
          changed = true;
        }
      for (const std::string& l : u.remove_labels)
        if (auto at = std::find(values.begin(), values.end(), json(l)); at != values.end()) {
          values.erase(at);
          changed = true;
        }
      if (changed) change["custom_fields"] = {{{"id", cfg_.labels_field_id()}, {"value", values}}};
    }
    // Links: Redmine has no native link to an outside ticket; the impact section lists them.
    if (change.empty()) return absl::OkStatus();  // one journal per real change, none otherwise
    auto put =
        Send("PUT", absl::StrCat("/issues/", external_id, ".json"), json{{"issue", change}}.dump(),
             absl::StrCat("Redmine: update issue ", external_id));
    return put.status();
  }

  // Redmine's own duplicate link: a `duplicates` relation from this issue to the other, made
  // once (a relation already there, read with the issue, is not sent again).
  absl::Status MarkDuplicate(const std::string& external_id, const json& issue,
                             const std::string& of) {
    for (const json& r : issue.value("relations", json::array()))
      if (r.is_object() && r.value("relation_type", "") == "duplicates" &&
          Text(r, "issue_id") == external_id && Text(r, "issue_to_id") == of)
        return absl::OkStatus();
    int64_t to = 0;
    if (!absl::SimpleAtoi(of, &to))
      return absl::InvalidArgumentError(absl::StrCat("Redmine: issue id \"", of, "\""));
    json relation = {{"relation", {{"issue_to_id", to}, {"relation_type", "duplicates"}}}};
    auto made =
        Send("POST", absl::StrCat("/issues/", external_id, "/relations.json"), relation.dump(),
             absl::StrCat("Redmine: mark issue ", external_id, " a duplicate of ", of));
    return made.status();
  }

  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& external_id) override {
    auto got = Send("GET", absl::StrCat("/issues/", external_id, ".json"), "",
                    absl::StrCat("Redmine: read issue ", external_id));
    if (!got.ok()) return got.status();
    const json* i = Member(*got, "issue");
    if (i == nullptr) return absl::InternalError("Redmine: issue without \"issue\"");
    return Describe(*i);
  }

  // Polling by update time: the issues updated since then, across the projects the key sees.
  absl::StatusOr<std::vector<std::string>> ChangedSince(absl::Time since) override {
    const std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", since, absl::UTCTimeZone());
    std::vector<std::string> out;
    constexpr int kPage = 100, kMaxPages = 10;
    for (int page = 0; page < kMaxPages; ++page) {
      auto got = Send("GET",
                      absl::StrCat("/issues.json?status_id=*&sort=updated_on&limit=", kPage,
                                   "&offset=", page * kPage, "&updated_on=", UrlEncode(">="), when),
                      "", "Redmine: issues updated since the last poll");
      if (!got.ok()) return got.status();
      const json issues = got->value("issues", json::array());
      for (const json& i : issues) out.push_back(Text(i, "id"));
      if (static_cast<int>(issues.size()) < kPage) return out;
    }
    // More changed than is worth listing: the follower reads every task instead.
    return absl::ResourceExhaustedError(
        absl::StrCat("Redmine: more than ", kPage * kMaxPages, " issues changed since ", when));
  }

  absl::Status Check(const std::vector<v1::Category>& routed) override {
    auto me = Send("GET", "/users/current.json", "", "Redmine: who am I");
    if (!me.ok()) return me.status();
    const std::set<std::string> projects = common::ProjectsOf(cfg_.project(), routed);
    if (projects.empty())
      return absl::FailedPreconditionError(
          "Redmine: no project configured (settings.project or a category's routing.project)");
    // Custom fields Redmine requires: only an administrator may read their definitions.
    auto defs = Send("GET", "/custom_fields.json", "", "Redmine: custom field definitions");
    std::vector<std::string> problems;
    for (const std::string& p : projects) {
      auto proj = Send("GET", absl::StrCat("/projects/", UrlEncode(p), ".json?include=trackers"),
                       "", absl::StrCat("Redmine: project ", p));
      if (!proj.ok()) {
        problems.push_back(std::string(proj.status().message()));
        continue;
      }
      if (!defs.ok()) continue;
      for (const v1::Category& c : routed) {
        std::string cp = c.routing().project().empty() ? cfg_.project() : c.routing().project();
        if (cp != p) continue;
        for (const std::string& f : MissingRequired(*defs, c)) {
          problems.push_back(absl::StrCat("category ", c.id(), " (project ", p,
                                          "): required custom field ", f,
                                          " is not set (add cf_<id> to its routing.fields or "
                                          "settings.fields)"));
        }
      }
    }
    if (!problems.empty()) return absl::FailedPreconditionError(absl::StrJoin(problems, "; "));
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<json> Send(absl::string_view method, const std::string& path, std::string body,
                            absl::string_view what) {
    spi::HttpRequest req = JsonRequest(method, base_ + path, "");
    req.headers.emplace_back("X-Redmine-API-Key", key_);
    req.body = std::move(body);
    return CallJson(http_, req, what, clock_.Now());
  }

  std::string Formatted(const std::string& markdown) const {
    return textile_ ? MarkdownToTextile(markdown) : markdown;
  }

  static json ProjectRef(const std::string& project) {
    int64_t n = 0;
    if (absl::SimpleAtoi(project, &n)) return n;
    return project;
  }

  static bool HasJournal(const json& issue, const std::string& marker) {
    const json* js = Member(issue, "journals");
    if (js == nullptr || !js->is_array()) return false;
    for (const json& j : *js)
      if (absl::StrContains(Text(j, "notes"), marker)) return true;
    return false;
  }

  // Required issue custom fields, for the category's tracker, that nothing sets.
  std::vector<std::string> MissingRequired(const json& defs, const v1::Category& c) const {
    std::set<std::string> set;
    for (const auto& [k, v] : cfg_.fields()) set.insert(k);
    for (const auto& [k, v] : c.routing().fields()) set.insert(k);
    if (cfg_.labels_field_id() != 0 && !c.routing().labels().empty())
      set.insert(absl::StrCat("cf_", cfg_.labels_field_id()));
    int64_t tracker = cfg_.tracker_id();
    if (auto it = c.routing().fields().find("tracker_id"); it != c.routing().fields().end())
      absl::SimpleAtoi(it->second, &tracker);
    std::vector<std::string> out;
    const json* list = Member(defs, "custom_fields");
    if (list == nullptr || !list->is_array()) return out;
    for (const json& f : *list) {
      if (Text(f, "customized_type") != "issue" || !f.value("is_required", false)) continue;
      if (!Text(f, "default_value").empty()) continue;
      if (tracker != 0) {
        bool applies = false;
        for (const json& t : f.value("trackers", json::array()))
          applies |= t.value("id", int64_t{0}) == tracker;
        if (!applies) continue;
      }
      if (set.contains(absl::StrCat("cf_", Text(f, "id")))) continue;
      out.push_back(absl::StrCat("\"", Text(f, "name"), "\" (cf_", Text(f, "id"), ")"));
    }
    return out;
  }

  // Closed or not is a property of the status; Redmine 5.0 does not say it on the issue, so
  // the statuses are read once (and again when an unknown one appears).
  absl::StatusOr<bool> IsClosed(const json& status) {
    if (const json* c = Member(status, "is_closed"); c && c->is_boolean()) return c->get<bool>();
    const std::string sid = Text(status, "id");
    std::lock_guard<std::mutex> l(statuses_mu_);
    if (!closed_.contains(sid)) {
      auto all = Send("GET", "/issue_statuses.json", "", "Redmine: issue statuses");
      if (!all.ok()) return all.status();
      if (const json* list = Member(*all, "issue_statuses"); list && list->is_array())
        for (const json& s : *list) closed_[Text(s, "id")] = IsTrue(s, "is_closed");
    }
    auto it = closed_.find(sid);
    return it != closed_.end() && it->second;
  }

  absl::StatusOr<spi::TrackerTask> Describe(const json& issue) {
    spi::TrackerTask t;
    t.external_id = Text(issue, "id");
    t.external_key = absl::StrCat("#", t.external_id);
    t.url = absl::StrCat(base_, "/issues/", t.external_id);
    const json* st = Member(issue, "status");
    if (st == nullptr) return t;
    auto closed = IsClosed(*st);
    if (!closed.ok()) return closed.status();
    const std::string name = Text(*st, "name");
    if (*closed)
      t.status =
          NamedIn(name, cfg_.wont_do_statuses(), "Rejected") ? v1::TASK_WONT_DO : v1::TASK_DONE;
    else
      t.status = NamedIn(name, cfg_.in_progress_statuses(), "In Progress") ? v1::TASK_IN_PROGRESS
                                                                           : v1::TASK_OPEN;
    if (t.status == v1::TASK_DONE) t.release_lookup = Shipped(issue, t);
    return t;
  }

  // A closed issue is shipped at once (shipped_when: done), or when its target version is
  // closed: released on the version's date (its due date, else when it was last changed).
  absl::Status Shipped(const json& issue, spi::TrackerTask& t) {
    if (shipped_when_ == spi::ShippedWhen::kDone) {
      t.status = v1::TASK_SHIPPED;
      return absl::OkStatus();
    }
    const json* target = Member(issue, "fixed_version");
    if (target == nullptr) return absl::OkStatus();  // no version: fixed, nothing to wait for yet
    const std::string vid = Text(*target, "id");
    if (vid.empty()) return absl::OkStatus();
    auto got = Send("GET", absl::StrCat("/versions/", vid, ".json"), "",
                    absl::StrCat("Redmine: read version ", vid));
    if (absl::IsNotFound(got.status())) return absl::OkStatus();  // deleted: never released
    if (!got.ok()) return got.status();
    const json* v = Member(*got, "version");
    if (v == nullptr || Text(*v, "status") != "closed") return absl::OkStatus();
    t.status = v1::TASK_SHIPPED;
    t.release = Text(*v, "name");
    if (auto day = ParseDay(Text(*v, "due_date")))
      t.shipped_at = *day;
    else if (auto at = ParseTime(Text(*v, "updated_on")))
      t.shipped_at = *at;
    return absl::OkStatus();
  }

  std::string id_;
  std::string type_ = "redmine";
  RedmineConfig cfg_;
  const spi::ShippedWhen shipped_when_;
  std::string key_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  std::string base_;
  bool textile_ = true;
  std::mutex statuses_mu_;
  std::map<std::string, bool> closed_;  // by status id
};

class Factory final : public spi::TrackerAdapterFactory {
 public:
  std::string type() const override { return "redmine"; }
  const google::protobuf::Descriptor* settings() const override {
    return RedmineConfig::descriptor();
  }
  absl::StatusOr<std::unique_ptr<spi::TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    RedmineConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!absl::StartsWith(cfg.url(), "http"))
      return absl::InvalidArgumentError(
          "settings.url: Redmine's base URL (https://redmine.example.com)");
    if (!cfg.has_api_key())
      return absl::InvalidArgumentError(
          "settings.api_key is required (a Redmine API access key, see README)");
    if (const std::string& f = cfg.text_formatting();
        !f.empty() && f != "textile" && f != "common_mark" && f != "markdown")
      return absl::InvalidArgumentError(
          "settings.text_formatting: textile, common_mark or markdown (Administration > "
          "Settings > General > Text formatting)");
    json probe = json::object();
    for (const auto& [k, v] : cfg.fields())
      if (auto s = SetField(k, v, probe); !s.ok())
        return absl::InvalidArgumentError(absl::StrCat("settings.fields: ", s.message()));
    auto key = settings::ResolveSecret(cfg.api_key(), ctx);
    if (!key.ok()) return key.status();
    auto shipped = spi::ParseShippedWhen(cfg.shipped_when(), spi::ShippedWhen::kReleased);
    if (!shipped.ok()) return shipped.status();
    return std::make_unique<Redmine>(config.id(), std::move(cfg), std::move(*key), *shipped, ctx);
  }
};

}  // namespace

void RegisterRedmine(spi::AdapterRegistry& registry) { registry.Add(std::make_unique<Factory>()); }

}  // namespace debrief::adapters::redmine
