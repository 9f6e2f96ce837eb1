#include "tracker/jira/jira_tracker.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/rest.h"
#include "common/signature.h"
#include "common/task_text.h"
#include "settings/settings.h"
#include "tracker/jira/jira.pb.h"

namespace debrief::adapters::jira {
namespace {

namespace v1 = ::debrief::v1;

const HmacScheme kScheme{Digest::kSha256, /*base64=*/false, "sha256="};
// The impact section is an info panel whose heading says this (loop/report.cc writes it).
constexpr char kImpactTag[] = "kept current by Debrief";

json TextNodes(absl::string_view line) {
  // Bare URLs become links; the rest is plain text.
  json out = json::array();
  std::string pending;
  for (absl::string_view word : absl::StrSplit(line, ' ')) {
    if (absl::StartsWith(word, "http://") || absl::StartsWith(word, "https://")) {
      if (!pending.empty()) out.push_back({{"type", "text"}, {"text", pending + " "}});
      pending.clear();
      out.push_back({{"type", "text"},
                     {"text", std::string(word)},
                     {"marks", {{{"type", "link"}, {"attrs", {{"href", std::string(word)}}}}}}});
      pending = " ";
    } else {
      absl::StrAppend(&pending, pending.empty() || pending == " " ? "" : " ", word);
    }
  }
  if (!pending.empty() && pending != " ") out.push_back({{"type", "text"}, {"text", pending}});
  return out;
}

json Paragraph(absl::string_view line) {
  json p = {{"type", "paragraph"}};
  json t = TextNodes(line);
  if (!t.empty()) p["content"] = t;
  return p;
}

bool IsImpactPanel(const json& node) {
  return Text(node, "type") == "panel" && absl::StrContains(AdfText(node), kImpactTag);
}

json ImpactPanel(const std::string& impact) {
  return {{"type", "panel"},
          {"attrs", {{"panelType", "info"}}},
          {"content", MarkdownToAdf(impact)["content"]}};
}

}  // namespace

json MarkdownToAdf(const std::string& markdown) {
  json content = json::array();
  json* list = nullptr;   // the bullet list being filled
  json* quote = nullptr;  // the block quote being filled
  for (absl::string_view line : absl::StrSplit(markdown, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::StartsWith(line, "- ")) {
      quote = nullptr;
      if (list == nullptr) {
        content.push_back({{"type", "bulletList"}, {"content", json::array()}});
        list = &content.back();
      }
      (*list)["content"].push_back(
          {{"type", "listItem"}, {"content", {Paragraph(line.substr(2))}}});
      continue;
    }
    list = nullptr;
    if (absl::StartsWith(line, "> ")) {
      if (quote == nullptr) {
        content.push_back({{"type", "blockquote"}, {"content", json::array()}});
        quote = &content.back();
      }
      (*quote)["content"].push_back(Paragraph(line.substr(2)));
      continue;
    }
    quote = nullptr;
    if (line.empty() || line == "---") continue;
    int level = 0;
    while (level < static_cast<int>(line.size()) && line[level] == '#') ++level;
    if (level > 0 && level <= 6 && line.size() > static_cast<size_t>(level) && line[level] == ' ') {
      content.push_back({{"type", "heading"},
                         {"attrs", {{"level", level}}},
                         {"content", TextNodes(line.substr(level + 1))}});
      continue;
    }
    content.push_back(Paragraph(line));
  }
  return {{"type", "doc"}, {"version", 1}, {"content", content}};
}

std::string AdfText(const json& node) {
  if (!node.is_object()) return "";
  std::string out = Text(node, "text");
  if (const json* c = Member(node, "content"); c && c->is_array())
    for (const json& child : *c) {
      std::string t = AdfText(child);
      if (t.empty()) continue;
      const std::string type = Text(child, "type");
      const bool block = type != "text" && type != "hardBreak" && type != "mention" &&
                         type != "emoji" && type != "inlineCard";
      absl::StrAppend(&out, block && !out.empty() ? "\n" : "", t);
    }
  return out;
}

namespace {

class Jira final : public spi::TrackerAdapter {
 public:
  Jira(std::string id, JiraConfig cfg, std::string auth, std::string secret,
       spi::ShippedWhen shipped_when, const spi::AdapterContext& ctx)
      : id_(std::move(id)),
        cfg_(std::move(cfg)),
        shipped_when_(shipped_when),
        auth_(std::move(auth)),
        secret_(std::move(secret)),
        http_(ctx.http),
        clock_(ctx.clock),
        budget_(cfg_.writes_per_issue_per_minute() > 0
                    ? static_cast<int>(cfg_.writes_per_issue_per_minute())
                    : 10,
                absl::Minutes(1)) {
    api_ = absl::StrCat(absl::StripSuffix(cfg_.url(), "/"), "/rest/api/3");
    browse_ = absl::StrCat(absl::StripSuffix(cfg_.url(), "/"), "/browse/");
    if (cfg_.issue_type().empty()) cfg_.set_issue_type("Task");
    for (const std::string& r : cfg_.wont_do_resolutions()) wont_do_.push_back(r);
    if (wont_do_.empty())
      wont_do_ = {"Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined"};
  }

  // One setting of settings.fields / routing.fields into the create request's fields.
  static absl::Status SetField(const std::string& k, const std::string& v, json& fields) {
    if (k == "priority") {
      fields[k] = {{"name", v}};
    } else if (k == "assignee") {
      fields[k] = {{"accountId", v}};
    } else if (k == "parent") {
      fields[k] = {{"key", v}};
    } else if (k == "duedate") {
      fields[k] = v;
    } else if (k == "components") {
      json list = json::array();
      for (absl::string_view n : absl::StrSplit(v, ',', absl::SkipWhitespace()))
        list.push_back({{"name", std::string(absl::StripAsciiWhitespace(n))}});
      fields[k] = list;
    } else if (absl::StartsWith(k, "customfield_")) {
      json parsed = json::parse(v, nullptr, /*allow_exceptions=*/false);
      fields[k] = parsed.is_discarded() || parsed.is_string() ? json(v) : parsed;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown Jira field \"", k,
                       "\" (priority, duedate, assignee, components, parent or customfield_<n>)"));
    }
    return absl::OkStatus();
  }

  const std::string& id() const override { return id_; }
  const std::string& type() const override { return type_; }

  absl::StatusOr<spi::TrackerTask> CreateTask(const spi::TaskDraft& d) override {
    const std::string project = ProjectOf(d.category);
    if (project.empty())
      return absl::FailedPreconditionError(
          absl::StrCat("Jira: no project for category ", d.category.id(),
                       " (settings.project or the category's routing.project)"));
    const std::string marker = common::TaskMarker(d.idempotency_key);
    // JQL text search for the marker: a retry after an unknown outcome finds the issue.
    auto found =
        Send("GET",
             absl::StrCat("/search/jql?maxResults=5&fields=status,resolution,description"
                          "&jql=",
                          UrlEncode(absl::StrCat("project = \"", project, "\" AND text ~ \"\\\"",
                                                 marker, "\\\"\""))),
             "", "Jira: search for the task already made");
    if (!found.ok()) return found.status();
    for (const json& i : found->value("issues", json::array()))
      if (absl::StrContains(AdfText(Fields(i).value("description", json::object())), marker))
        return Describe(i);

    json fields = {{"summary", d.title}, {"issuetype", {{"name", cfg_.issue_type()}}}};
    int64_t pid = 0;
    fields["project"] =
        absl::SimpleAtoi(project, &pid) ? json{{"id", project}} : json{{"key", project}};
    json doc = MarkdownToAdf(d.description);
    if (!d.impact.empty()) doc["content"].push_back(ImpactPanel(d.impact));
    doc["content"].push_back(Paragraph(absl::StrCat("Debrief reference: ", marker)));
    fields["description"] = doc;
    json labels = json::array();
    for (const std::string& l : cfg_.labels()) labels.push_back(Label(l));
    for (const std::string& l : d.category.routing().labels())
      if (std::find(labels.begin(), labels.end(), json(Label(l))) == labels.end())
        labels.push_back(Label(l));
    if (!labels.empty()) fields["labels"] = labels;
    if (!d.category.routing().component().empty())
      fields["components"] = {{{"name", d.category.routing().component()}}};
    for (const auto& [k, v] : cfg_.fields())
      if (auto s = SetField(k, v, fields); !s.ok()) return s;
    for (const auto& [k, v] : d.category.routing().fields())
      if (auto s = SetField(k, v, fields); !s.ok()) return s;
    auto made = Send("POST", "/issue", json{{"fields", fields}}.dump(),
                     absl::StrCat("Jira: create the task for ", d.category.id()));
    if (!made.ok()) return made.status();
    const std::string issue_id = Text(*made, "id");
    if (issue_id.empty()) return absl::InternalError("Jira: the created issue has no id");
    if (auto s = SyncLinks(issue_id, d.tickets); !s.ok()) return s;
    spi::TrackerTask t;
    t.external_id = issue_id;
    t.external_key = Text(*made, "key");
    t.url = absl::StrCat(browse_, t.external_key);
    return t;
  }

  absl::Status UpdateTask(const std::string& external_id, const spi::TaskUpdate& u) override {
    if (auto s = Numeric(external_id); !s.ok()) return s;
    auto issue = Send("GET", absl::StrCat("/issue/", external_id, "?fields=description,labels"), "",
                      absl::StrCat("Jira: read issue ", external_id));
    if (!issue.ok()) return issue.status();
    const json f = Fields(*issue);
    json doc = f.value("description", json());
    if (!doc.is_object()) doc = {{"type", "doc"}, {"version", 1}, {"content", json::array()}};
    json& content = doc["content"];
    json panel = ImpactPanel(u.impact);
    bool replaced = false, changed = false;
    for (json& node : content)
      if (IsImpactPanel(node)) {
        changed = node != panel;
        node = panel;
        replaced = true;
        break;
      }
    if (!replaced && !u.impact.empty()) {
      content.push_back(panel);  // someone deleted the section: put it back at the end
      changed = true;
    }
    json update = json::object();
    json labels = json::array();
    for (const std::string& l : u.add_labels) {
      bool has = false;
      for (const json& have : f.value("labels", json::array())) has |= have == Label(l);
      if (!has) labels.push_back({{"add", Label(l)}});
    }
    for (const std::string& l : u.remove_labels)
      for (const json& have : f.value("labels", json::array()))
        if (have == Label(l)) {
          labels.push_back({{"remove", Label(l)}});
          break;
        }
    if (changed || !labels.empty()) {
      json body = json::object();
      if (changed) body["fields"] = {{"description", doc}};
      if (!labels.empty()) body["update"] = {{"labels", labels}};
      if (auto s = Write("PUT", absl::StrCat("/issue/", external_id), body.dump(), external_id,
                         "update");
          !s.ok())
        return s;
    }
    if (auto s = SyncLinks(external_id, u.tickets); !s.ok()) return s;
    if (u.comment.empty()) return absl::OkStatus();
    const std::string marker = common::CommentMarker(u.comment_key);
    for (int start = 0;; start += 100) {
      auto page = Send(
          "GET", absl::StrCat("/issue/", external_id, "/comment?maxResults=100&startAt=", start),
          "", absl::StrCat("Jira: comments of ", external_id));
      if (!page.ok()) return page.status();
      const json comments = page->value("comments", json::array());
      for (const json& c : comments)
        if (absl::StrContains(AdfText(c.value("body", json::object())), marker))
          return absl::OkStatus();
      if (comments.size() < 100) break;
    }
    return Write(
        "POST", absl::StrCat("/issue/", external_id, "/comment"),
        json{{"body", MarkdownToAdf(common::KeyedComment(u.comment, u.comment_key))}}.dump(),
        external_id, "comment");
  }

  absl::StatusOr<spi::TrackerTask> GetTask(const std::string& external_id) override {
    if (auto s = Numeric(external_id); !s.ok()) return s;
    auto issue =
        Send("GET", absl::StrCat("/issue/", external_id, "?fields=status,resolution,fixVersions"),
             "", absl::StrCat("Jira: read issue ", external_id));
    if (!issue.ok()) return issue.status();
    return Describe(*issue);
  }

  bool sends_webhooks() const override { return true; }

  absl::StatusOr<spi::TaskEvents> AcceptWebhook(const spi::InboundDelivery& d) const override {
    if (secret_.empty())
      return absl::UnauthenticatedError(
          "Jira webhooks are refused: settings.webhook_secret is not set (give the webhook a "
          "secret in Jira and the same here)");
    auto sig = d.headers.find("x-hub-signature");
    if (sig == d.headers.end())
      return absl::UnauthenticatedError(
          "missing X-Hub-Signature: give the Jira webhook the secret in settings.webhook_secret");
    if (auto s = VerifyHmac(kScheme, secret_, d.body, sig->second); !s.ok()) return s;
    auto doc = ParseObject(d.body, "Jira webhook body");
    if (!doc.ok()) return doc.status();
    spi::TaskEvents out;
    const std::string event = Text(*doc, "webhookEvent");
    if (event != "jira:issue_updated" && event != "jira:issue_deleted") {
      out.ignored_reason = absl::StrCat("Jira event \"", event,
                                        "\" does not change an issue's status (subscribe the "
                                        "webhook to Issue updated and deleted)");
      return out;
    }
    const json* issue = Member(*doc, "issue");
    if (issue == nullptr || Text(*issue, "id").empty())
      return absl::InvalidArgumentError("Jira issue event without issue.id");
    out.external_ids.push_back(Text(*issue, "id"));
    return out;
  }

  absl::Status Check(const std::vector<v1::Category>& routed) override {
    auto me = Send("GET", "/myself", "", "Jira: who am I");
    if (!me.ok()) return me.status();
    std::vector<const v1::Category*> cats;
    for (const v1::Category& c : routed) cats.push_back(&c);
    v1::Category none;
    if (cats.empty()) cats.push_back(&none);  // the settings alone
    std::vector<std::string> problems;
    std::map<std::string, json> meta;  // project -> the issue type's create metadata
    for (const v1::Category* c : cats) {
      const std::string project = ProjectOf(*c);
      if (project.empty()) {
        problems.push_back(absl::StrCat("category ", c->id(), ": no project"));
        continue;
      }
      if (!meta.contains(project)) {
        auto m = CreateMeta(project);
        if (!m.ok()) {
          problems.push_back(std::string(m.status().message()));
          meta[project] = json();
          continue;
        }
        meta[project] = *m;
      }
      if (meta[project].is_null()) continue;
      json probe = {{"summary", "x"},
                    {"description", "x"},
                    {"project", "x"},
                    {"issuetype", "x"},
                    {"reporter", "x"}};  // set by Jira or by Debrief itself
      if (!cfg_.labels().empty() || !c->routing().labels().empty()) probe["labels"] = "x";
      if (!c->routing().component().empty()) probe["components"] = "x";
      for (const auto& [k, v] : cfg_.fields()) probe[k] = v;
      for (const auto& [k, v] : c->routing().fields()) probe[k] = v;
      for (const json& f : meta[project].value("fields", json::array())) {
        if (!f.value("required", false) || f.value("hasDefaultValue", false)) continue;
        const std::string fid = Text(f, "fieldId").empty() ? Text(f, "key") : Text(f, "fieldId");
        if (probe.contains(fid)) continue;
        problems.push_back(absl::StrCat(
            c->id().empty() ? std::string("settings") : absl::StrCat("category ", c->id()),
            " (project ", project, ", ", cfg_.issue_type(), "): required field \"", Text(f, "name"),
            "\" (", fid,
            ") is not set; add it to routing.fields or "
            "settings.fields"));
      }
    }
    if (!problems.empty()) return absl::FailedPreconditionError(absl::StrJoin(problems, "; "));
    return absl::OkStatus();
  }

 private:
  static json Fields(const json& issue) { return issue.value("fields", json::object()); }

  // Jira labels cannot hold spaces.
  static std::string Label(const std::string& l) {
    std::string out = l;
    std::replace(out.begin(), out.end(), ' ', '-');
    return out;
  }

  static absl::Status Numeric(const std::string& external_id) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(external_id, &n))
      return absl::InvalidArgumentError(
          absl::StrCat("bad Jira task id \"", external_id, "\" (the numeric issue id)"));
    return absl::OkStatus();
  }

  std::string ProjectOf(const v1::Category& c) const {
    return c.routing().project().empty() ? cfg_.project() : c.routing().project();
  }

  absl::StatusOr<json> CreateMeta(const std::string& project) {
    auto types = Send("GET", absl::StrCat("/issue/createmeta/", UrlEncode(project), "/issuetypes"),
                      "", absl::StrCat("Jira: issue types of project ", project));
    if (!types.ok()) return types.status();
    const json list = types->contains("issueTypes") ? (*types)["issueTypes"]
                                                    : types->value("values", json::array());
    for (const json& t : list)
      if (absl::EqualsIgnoreCase(Text(t, "name"), cfg_.issue_type()))
        return Send("GET",
                    absl::StrCat("/issue/createmeta/", UrlEncode(project), "/issuetypes/",
                                 Text(t, "id"), "?maxResults=200"),
                    "", absl::StrCat("Jira: fields of ", cfg_.issue_type(), " in ", project));
    return absl::FailedPreconditionError(absl::StrCat("Jira: project ", project,
                                                      " has no issue type \"", cfg_.issue_type(),
                                                      "\" (settings.issue_type)"));
  }

  // The tickets as remote links, keyed by a global id so re-linking updates in place; links
  // Debrief made to tickets no longer on the task are removed.
  absl::Status SyncLinks(const std::string& issue_id, const std::vector<spi::LinkedTicket>& ts) {
    auto have = SendList(absl::StrCat("/issue/", issue_id, "/remotelink"),
                         absl::StrCat("Jira: links of ", issue_id));
    if (!have.ok()) return have.status();
    std::map<std::string, std::string> existing;  // global id -> title
    for (const json& l : *have) {
      const std::string g = Text(l, "globalId");
      if (absl::StartsWith(g, "debrief:"))
        existing[g] = Text(l.value("object", json::object()), "title");
    }
    std::set<std::string> want;
    const size_t cap = cfg_.max_remote_links() > 0 ? cfg_.max_remote_links() : 10;
    for (const spi::LinkedTicket& t : ts) {
      if (want.size() >= cap) break;  // the impact section lists every ticket
      const std::string g = absl::StrCat("debrief:", t.helpdesk_id, "/", t.ticket_id);
      want.insert(g);
      const std::string title = absl::StrCat("Ticket ", t.helpdesk_id, "/", t.ticket_id,
                                             t.subject.empty() ? "" : ": ", t.subject);
      if (auto it = existing.find(g); it != existing.end() && it->second == title) continue;
      if (t.url.empty()) continue;  // Jira requires a URL on a remote link
      json link = {{"globalId", g},
                   {"application", {{"type", "dev.debrief"}, {"name", "Debrief"}}},
                   {"relationship", "support ticket"},
                   {"object", {{"url", t.url}, {"title", title}}}};
      if (auto s = Write("POST", absl::StrCat("/issue/", issue_id, "/remotelink"), link.dump(),
                         issue_id, "link");
          !s.ok())
        return s;
    }
    for (const auto& [g, title] : existing) {
      if (want.contains(g)) continue;
      if (auto s = Write("DELETE",
                         absl::StrCat("/issue/", issue_id, "/remotelink?globalId=", UrlEncode(g)),
                         "", issue_id, "unlink");
          !s.ok())
        return s;
    }
    return absl::OkStatus();
  }

  absl::Status Write(absl::string_view method, const std::string& path, std::string body,
                     const std::string& issue_id, absl::string_view what) {
    const std::string label = absl::StrCat("Jira: ", what, " issue ", issue_id);
    if (auto s = budget_.Take(issue_id, clock_.Now(), label); !s.ok()) return s;
    // Jira answers most writes with 204 and no body; nothing in an answer is read.
    return Call(http_, Request(method, path, std::move(body)), label, clock_.Now()).status();
  }

  spi::HttpRequest Request(absl::string_view method, const std::string& path, std::string body) {
    spi::HttpRequest req = JsonRequest(method, api_ + path, auth_);
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

  spi::TrackerTask Describe(const json& issue) const {
    spi::TrackerTask t;
    t.external_id = Text(issue, "id");
    t.external_key = Text(issue, "key");
    t.url = absl::StrCat(browse_, t.external_key);
    const json f = Fields(issue);
    const std::string category =
        Text(f.value("status", json::object()).value("statusCategory", json::object()), "key");
    if (category == "done") {
      const std::string resolution = Text(f.value("resolution", json::object()), "name");
      t.status = v1::TASK_DONE;
      for (const std::string& w : wont_do_)
        if (absl::EqualsIgnoreCase(resolution, w)) t.status = v1::TASK_WONT_DO;
      if (t.status == v1::TASK_DONE) Shipped(f, t);
    } else {
      t.status = category == "indeterminate" ? v1::TASK_IN_PROGRESS : v1::TASK_OPEN;
    }
    return t;
  }

  // A done issue is shipped at once (shipped_when: done), or with the first of its fix versions
  // released (the earliest release date; a released version without one counts from now).
  void Shipped(const json& fields, spi::TrackerTask& t) const {
    if (shipped_when_ == spi::ShippedWhen::kDone) {
      t.status = v1::TASK_SHIPPED;
      return;
    }
    const json* versions = Member(fields, "fixVersions");
    if (versions == nullptr || !versions->is_array()) return;
    for (const json& v : *versions) {
      if (!IsTrue(v, "released")) continue;
      // Released without a date: from when Debrief saw it.
      const absl::Time day = ParseDay(Text(v, "releaseDate")).value_or(absl::InfinitePast());
      const bool first = t.status != v1::TASK_SHIPPED;
      if (first || (day != absl::InfinitePast() &&
                    (t.shipped_at == absl::InfinitePast() || day < t.shipped_at))) {
        t.status = v1::TASK_SHIPPED;
        t.release = Text(v, "name");
        t.shipped_at = day;
      }
    }
  }

  std::string id_;
  std::string type_ = "jira";
  JiraConfig cfg_;
  const spi::ShippedWhen shipped_when_;
  std::string auth_;
  std::string secret_;
  spi::HttpClient& http_;
  const spi::Clock& clock_;
  WriteBudget budget_;
  std::string api_, browse_;
  std::vector<std::string> wont_do_;
};

class Factory final : public spi::TrackerAdapterFactory {
 public:
  std::string type() const override { return "jira"; }
  const google::protobuf::Descriptor* settings() const override { return JiraConfig::descriptor(); }
  std::vector<spi::SetupStep> Setup(const v1::AdapterConfig& config,
                                    const spi::SetupContext& where) const override {
    JiraConfig cfg;
    const bool parsed = settings::ParseSettings(config.settings(), &cfg, config.id()).ok();
    if (!parsed) cfg.Clear();
    const v1::SecretRef& secret = cfg.webhook_secret();
    std::string held = WhereKept(secret);  // never the secret itself
    if (parsed && !cfg.has_webhook_secret())
      held = " (set this adapter's webhook_secret first: without it every webhook is refused)";
    std::vector<spi::SetupStep> steps;
    steps.push_back({"Create a webhook in Jira",
                     absl::StrCat("Settings > System > WebHooks: a webhook with this URL and, as "
                                  "its secret, the webhook secret you saved in Debrief",
                                  held, ". Debrief checks X-Hub-Signature with it."),
                     where.webhook_url});
    steps.push_back({"Tick its events",
                     "Tick these issue events; Debrief answers others with 200 \"ignored\". A "
                     "delivery makes Debrief read the issue back at once.",
                     "Issue updated, Issue deleted"});
    return steps;
  }
  absl::StatusOr<std::unique_ptr<spi::TrackerAdapter>> Create(
      const v1::AdapterConfig& config, const spi::AdapterContext& ctx) const override {
    JiraConfig cfg;
    if (auto s = settings::ParseSettings(config.settings(), &cfg, config.id()); !s.ok()) return s;
    if (!absl::StartsWith(cfg.url(), "http"))
      return absl::InvalidArgumentError("settings.url: https://your-site.atlassian.net");
    if (!cfg.has_api_token())
      return absl::InvalidArgumentError(
          "settings.api_token is required (with settings.email on Jira Cloud)");
    json probe = json::object();
    for (const auto& [k, v] : cfg.fields())
      if (auto s = Jira::SetField(k, v, probe); !s.ok())
        return absl::InvalidArgumentError(absl::StrCat("settings.fields: ", s.message()));
    auto token = settings::ResolveSecret(cfg.api_token(), ctx);
    if (!token.ok()) return token.status();
    std::string auth =
        cfg.email().empty() ? absl::StrCat("Bearer ", *token) : BasicAuth(cfg.email(), *token);
    auto secret = SecretIfSet(cfg.has_webhook_secret(), cfg.webhook_secret(), ctx);
    if (!secret.ok()) return secret.status();
    auto shipped = spi::ParseShippedWhen(cfg.shipped_when(), spi::ShippedWhen::kReleased);
    if (!shipped.ok()) return shipped.status();
    return std::make_unique<Jira>(config.id(), std::move(cfg), std::move(auth), std::move(*secret),
                                  *shipped, ctx);
  }
};

}  // namespace

void RegisterJira(spi::AdapterRegistry& registry) { registry.Add(std::make_unique<Factory>()); }

}  // namespace debrief::adapters::jira
