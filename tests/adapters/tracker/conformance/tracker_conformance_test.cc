// One conformance suite that every tracker adapter runs, the builtin one included (in the
// manner of Arrow's GenericFileSystemTest): create is idempotent, the impact section is
// updated in place, tickets are linked, a status set in the tracker is read back, a keyed
// comment is written once, rate limits are honoured, and the tracker's webhook (where it has
// one, signed by the openssl command line) names the task.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/rest.h"
#include "config/config.h"
#include "mocks/fake_clock.h"
#include "mocks/scripted_http.h"
#include "mocks/spi_mocks.h"
#include "register.h"
#include "tracker/builtin/builtin_tracker.h"
#include "tracker/conformance/fake_trackers.h"
#include "tracker/jira/jira_tracker.h"

namespace debrief {
namespace {

using json = nlohmann::json;
using testing::FakeClock;
using testing::OpensslHmac;
using testing::TempDir;

constexpr char kToken[] = "tracker-conformance-token";
constexpr char kSecret[] = "tracker-webhook-secret-0123";

// The tracker as a person sees it, whatever adapter talks to it.
class Peer {
 public:
  virtual ~Peer() = default;
  virtual int TaskCount() = 0;
  virtual std::string Body(const std::string& id) = 0;
  // A person adds a paragraph of their own at the top of the description.
  virtual void PrependText(const std::string& id, const std::string& text) = 0;
  virtual std::vector<std::string> Comments(const std::string& id) = 0;
  // The task's labels, where the tracker has them.
  virtual std::optional<std::vector<std::string>> Labels(const std::string& id) = 0;
  // The tasks this one is linked to as a duplicate of (nullopt: the tracker has no such link).
  virtual std::optional<std::vector<std::string>> DuplicateOf(const std::string& id) {
    (void)id;
    return std::nullopt;
  }
  virtual void SetStatus(const std::string& id, v1::TaskStatus s) = 0;
  // The task's fix goes into a release, which later comes out (FakeTracker::PlanRelease).
  virtual void PlanRelease(const std::string& id, const std::string& version) = 0;
  virtual void PublishRelease(const std::string& version, absl::Time at) = 0;
  // Whether the tracker names the release and its date (Linear's and the builtin tracker's
  // release is a state a person sets: no name, no date).
  virtual bool names_releases() const { return true; }
  // A part of the URL of the request that looks a release up, where one is sent (Jira's fix
  // versions and Linear's states come with the issue).
  virtual std::string release_request() const { return ""; }
  // The tickets the task points at: native links where the tracker has them, else the ticket
  // URLs in its text.
  virtual bool Links(const std::string& id, const spi::LinkedTicket& t) = 0;
  virtual bool native_links() const { return false; }
  // HTTP trackers only (nullptr otherwise).
  virtual testing::FakeTracker* http() { return nullptr; }
  // The webhook the tracker sends when the task changes, signed as it signs it; empty headers
  // where it sends none.
  virtual std::pair<std::map<std::string, std::string>, std::string> Webhook(
      const std::string& id) {
    (void)id;
    return {};
  }
  // The webhook as a forger would send it: the body changed under the signature (or, where the
  // tracker signs nothing and sends a shared token, a guessed token).
  virtual void Forge(std::map<std::string, std::string>& headers, std::string& body) {
    (void)headers;
    body.insert(body.size() - 1, " ");  // one byte more: JSON alike, signature not
  }
};

class HttpPeer : public Peer {
 public:
  explicit HttpPeer(std::unique_ptr<testing::FakeTracker> f) : f_(std::move(f)) {}
  int TaskCount() override { return f_->issue_count(); }
  std::string Body(const std::string& id) override { return f_->Body(Key(id)); }
  void PrependText(const std::string& id, const std::string& text) override {
    f_->PrependText(Key(id), text);
  }
  std::vector<std::string> Comments(const std::string& id) override {
    return f_->Comments(Key(id));
  }
  std::optional<std::vector<std::string>> Labels(const std::string& id) override {
    return f_->Labels(Key(id));
  }
  std::optional<std::vector<std::string>> DuplicateOf(const std::string& id) override {
    return f_->DuplicateOf(Key(id));
  }
  void SetStatus(const std::string& id, v1::TaskStatus s) override { f_->SetStatus(Key(id), s); }
  void PlanRelease(const std::string& id, const std::string& version) override {
    f_->PlanRelease(Key(id), version);
  }
  void PublishRelease(const std::string& version, absl::Time at) override {
    f_->PublishRelease(version, at);
  }
  bool Links(const std::string& id, const spi::LinkedTicket& t) override {
    return absl::StrContains(Body(id), t.url);
  }
  testing::FakeTracker* http() override { return f_.get(); }

 protected:
  // The fake's own key of the issue a task id names.
  virtual std::string Key(const std::string& id) { return id; }
  std::unique_ptr<testing::FakeTracker> f_;
};

class GitHubPeer final : public HttpPeer {
 public:
  GitHubPeer() : HttpPeer(std::make_unique<testing::FakeGitHub>(kToken)) {}
  std::string release_request() const override { return "/releases"; }
  std::pair<std::map<std::string, std::string>, std::string> Webhook(
      const std::string& id) override {
    std::string body =
        absl::StrCat(R"({"action":"closed","issue":{"number":)", Key(id),
                     R"(,"state":"closed"},"repository":{"full_name":"acme/shop"}})");
    return {{{"x-github-event", "issues"},
             {"x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
             {"x-hub-signature-256", "sha256=" + OpensslHmac("sha256", kSecret, body, false)}},
            body};
  }

 private:
  std::string Key(const std::string& id) override { return id.substr(id.find('#') + 1); }
};

class JiraPeer final : public HttpPeer {
 public:
  JiraPeer()
      : HttpPeer(std::make_unique<testing::FakeJira>(
            adapters::BasicAuth("bot@example.com", kToken),
            [](const json& n) { return adapters::jira::AdfText(n); },
            [](const std::string& s) { return adapters::jira::MarkdownToAdf(s); })) {}
  bool native_links() const override { return true; }
  bool Links(const std::string& id, const spi::LinkedTicket& t) override {
    for (const std::string& g : f_->LinkTitles(id))
      if (g == absl::StrCat("debrief:", t.helpdesk_id, "/", t.ticket_id)) return true;
    return false;
  }
  std::pair<std::map<std::string, std::string>, std::string> Webhook(
      const std::string& id) override {
    std::string body = absl::StrCat(
        R"({"timestamp":1795438800000,"webhookEvent":"jira:issue_updated","issue":{"id":")", id,
        R"(","key":"SUP-1"}})");
    return {{{"x-atlassian-webhook-identifier", "1"},
             {"x-hub-signature", "sha256=" + OpensslHmac("sha256", kSecret, body, false)}},
            body};
  }
};

class GitLabPeer final : public HttpPeer {
 public:
  GitLabPeer() : HttpPeer(std::make_unique<testing::FakeGitLab>(kToken)) {}
  std::string release_request() const override { return "/releases"; }
  std::pair<std::map<std::string, std::string>, std::string> Webhook(
      const std::string& id) override {
    std::string body = absl::StrCat(R"({"object_kind":"issue","event_type":"issue",)",
                                    R"("object_attributes":{"id":)", id,
                                    R"(,"iid":1,"action":"close","state":"closed"}})");
    return {{{"x-gitlab-event", "Issue Hook"}, {"x-gitlab-token", kSecret}}, body};
  }
  void Forge(std::map<std::string, std::string>& headers, std::string&) override {
    headers["x-gitlab-token"] = "tracker-webhook-secret-0124";  // same length, one digit off
  }
};

class RedminePeer final : public HttpPeer {
 public:
  explicit RedminePeer(const spi::Clock& clock)
      : HttpPeer(std::make_unique<testing::FakeRedmine>(kToken, clock)) {}
  std::string release_request() const override { return "/versions/"; }
};

class LinearPeer final : public HttpPeer {
 public:
  explicit LinearPeer(const spi::Clock& clock)
      : HttpPeer(std::make_unique<testing::FakeLinear>(absl::StrCat("Bearer ", kToken))),
        clock_(clock) {}
  bool native_links() const override { return true; }
  bool names_releases() const override { return false; }
  bool Links(const std::string& id, const spi::LinkedTicket& t) override {
    auto links = f_->LinkTitles(id);  // Linear keeps one attachment per URL
    return std::find(links.begin(), links.end(), t.url) != links.end();
  }
  std::pair<std::map<std::string, std::string>, std::string> Webhook(
      const std::string& id) override {
    std::string body =
        absl::StrCat(R"({"action":"update","type":"Issue","data":{"id":")", id,
                     R"("},"webhookTimestamp":)", absl::ToUnixMillis(clock_.Now()), "}");
    return {{{"linear-event", "Issue"},
             {"linear-delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72"},
             {"linear-signature", OpensslHmac("sha256", kSecret, body, false)}},
            body};
  }

 private:
  const spi::Clock& clock_;
};

class BuiltinPeer final : public Peer {
 public:
  explicit BuiltinPeer(adapters::builtin::BuiltinTracker* t) : t_(t) {}
  int TaskCount() override { return *t_->CountTasks(); }
  std::string Body(const std::string& id) override { return t_->Details(id)->description; }
  void PrependText(const std::string& id, const std::string& text) override {
    (void)id;
    (void)text;  // the builtin tracker keeps no text of people's own
  }
  std::vector<std::string> Comments(const std::string& id) override {
    return t_->Details(id)->comments;
  }
  std::optional<std::vector<std::string>> Labels(const std::string& id) override {
    return t_->Details(id)->labels;
  }
  void SetStatus(const std::string& id, v1::TaskStatus s) override {
    ASSERT_TRUE(t_->SetStatus(id, s).ok());
  }
  // A person moves the task to shipped when the release is out.
  void PlanRelease(const std::string& id, const std::string& version) override {
    planned_[version].push_back(id);
  }
  void PublishRelease(const std::string& version, absl::Time at) override {
    (void)at;
    for (const std::string& id : planned_[version]) SetStatus(id, v1::TASK_SHIPPED);
  }
  bool names_releases() const override { return false; }
  bool native_links() const override { return true; }
  bool Links(const std::string& id, const spi::LinkedTicket& t) override {
    auto l = t_->LinkedTickets(id);
    return std::find(l->begin(), l->end(), absl::StrCat(t.helpdesk_id, "/", t.ticket_id)) !=
           l->end();
  }

 private:
  adapters::builtin::BuiltinTracker* t_;
  std::map<std::string, std::vector<std::string>> planned_;
};

struct TrackerCase {
  std::string type;
  std::string settings_yaml;
  std::function<std::unique_ptr<Peer>(spi::TrackerAdapter*, const spi::Clock&)> peer;
  bool edits_keep_people_text = true;
  // Settings that make a done task wait for its release, where that is not the default.
  std::string released_yaml;
};

void PrintTo(const TrackerCase& c, std::ostream* os) { *os << c.type; }

std::vector<TrackerCase> Cases() {
  return {
      {"builtin", "      base_url: http://debrief.test/tasks/\n",
       [](spi::TrackerAdapter* a, const spi::Clock&) {
         return std::make_unique<BuiltinPeer>(dynamic_cast<adapters::builtin::BuiltinTracker*>(a));
       },
       /*edits_keep_people_text=*/false, "      shipped_when: released\n"},
      {"redmine",
       "      url: http://redmine.test\n      api_key: {env: TRACKER_TOKEN}\n"
       "      project: support\n      tracker_id: 2\n      labels_field_id: 9\n",
       [](spi::TrackerAdapter*, const spi::Clock& clock) {
         return std::make_unique<RedminePeer>(clock);
       }},
      {"github",
       "      api_url: http://github.test\n      repository: acme/shop\n"
       "      token: {env: TRACKER_TOKEN}\n      webhook_secret: {env: TRACKER_SECRET}\n",
       [](spi::TrackerAdapter*, const spi::Clock&) { return std::make_unique<GitHubPeer>(); }},
      {"gitlab",
       "      url: http://gitlab.test\n      project: acme/support\n"
       "      token: {env: TRACKER_TOKEN}\n      webhook_secret: {env: TRACKER_SECRET}\n",
       [](spi::TrackerAdapter*, const spi::Clock&) { return std::make_unique<GitLabPeer>(); }},
      {"linear",
       "      api_url: http://linear.test/graphql\n      api_key: {env: TRACKER_TOKEN}\n"
       "      webhook_secret: {env: TRACKER_SECRET}\n      team_id: team-support\n",
       [](spi::TrackerAdapter*, const spi::Clock& clock) {
         return std::make_unique<LinearPeer>(clock);
       },
       /*edits_keep_people_text=*/true,
       "      shipped_when: released\n      released_states: [Released]\n"},
      {"jira",
       "      url: http://jira.test\n      email: bot@example.com\n"
       "      api_token: {env: TRACKER_TOKEN}\n      webhook_secret: {env: TRACKER_SECRET}\n"
       "      project: SUP\n",
       [](spi::TrackerAdapter*, const spi::Clock&) { return std::make_unique<JiraPeer>(); }},
  };
}

// Sends to the peer's fake when the tracker is an HTTP one.
class PeerHttp final : public spi::HttpClient {
 public:
  absl::StatusOr<spi::HttpResponse> Send(const spi::HttpRequest& r) override {
    if (target == nullptr) return absl::UnavailableError("no HTTP peer");
    return target->Send(r);
  }
  spi::HttpClient* target = nullptr;
};

class TrackerConformance : public ::testing::TestWithParam<TrackerCase> {
 protected:
  // The tracker under test (the parameter; a subclass for one tracker names it).
  virtual TrackerCase Case() const { return GetParam(); }

  void SetUp() override {
    setenv("TRACKER_TOKEN", kToken, 1);
    setenv("TRACKER_SECRET", kSecret, 1);
    adapters::RegisterBuiltinAdapters(registry_);
    Open("");
  }

  // The adapter (and a fresh tracker) with the case's settings and these.
  void Open(const std::string& more_settings) {
    http_.target = nullptr;
    peer_.reset();
    adapter_.reset();
    auto c =
        config::ParseConfig(absl::StrCat("trackers:\n  - id: tasks\n    type: ", Case().type,
                                         "\n    settings:\n", Case().settings_yaml, more_settings),
                            dir_.path());
    ASSERT_TRUE(c.ok()) << c.status();
    spi::AdapterContext ctx{http_, clock_, dir_.path()};
    auto a = registry_.tracker(Case().type)->Create(c->trackers(0), ctx);
    ASSERT_TRUE(a.ok()) << a.status();
    adapter_ = std::move(*a);
    peer_ = Case().peer(adapter_.get(), clock_);
    http_.target = peer_->http();
  }

  // What a task done in the tracker reads as: shipped at once where that is the tracker's
  // default (its shipped_when), else done, waiting for its release.
  v1::TaskStatus DoneReadsAs() const {
    return Case().released_yaml.empty() ? v1::TASK_DONE : v1::TASK_SHIPPED;
  }

  spi::LinkedTicket Ticket(const std::string& id) {
    return {"desk", id, "Charged twice for order", absl::StrCat("https://desk.test/tickets/", id)};
  }

  // The impact section as the core writes it (loop/report.cc): a heading, figures, quotes and
  // the linked tickets with their URLs.
  std::string Impact(int tickets, const std::vector<spi::LinkedTicket>& linked) {
    std::string s = absl::StrCat("### Impact (kept current by Debrief; updated 2026-11-23)\n\n",
                                 "- Tickets: ", tickets, " from ", tickets, " customers\n",
                                 "\nWhat customers say (personal data removed):\n",
                                 "> I was charged twice for [order]\n\nLinked tickets:\n");
    for (const auto& t : linked)
      absl::StrAppend(&s, "- ", t.helpdesk_id, "/", t.ticket_id, ": ", t.subject, " ", t.url, "\n");
    return s;
  }

  spi::TaskDraft Draft() {
    spi::TaskDraft d;
    d.idempotency_key = "task:1:billing-charge";
    d.title = "Root cause: double charges";
    d.description = "Root cause: double charges\n\nCustomers are charged twice at checkout.\n";
    d.tickets = {Ticket("1"), Ticket("2")};
    d.impact = Impact(2, d.tickets);
    d.category.set_id("billing-charge");
    d.category.mutable_routing()->add_labels("support");
    return d;
  }

  spi::TaskUpdate Update(int n, const std::vector<spi::LinkedTicket>& tickets) {
    spi::TaskUpdate u;
    u.tickets = tickets;
    u.impact = Impact(n, tickets);
    return u;
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1795438800)};
  PeerHttp http_;
  spi::AdapterRegistry registry_;
  std::unique_ptr<spi::TrackerAdapter> adapter_;
  std::unique_ptr<Peer> peer_;
};

// The suite's fixture on one tracker, for what only that tracker does.
class TrackerConformanceLinear : public TrackerConformance {
 protected:
  TrackerCase Case() const override {
    for (const TrackerCase& c : Cases())
      if (c.type == "linear") return c;
    return {};
  }
};

class TrackerConformanceGitLab : public TrackerConformance {
 protected:
  TrackerCase Case() const override {
    for (const TrackerCase& c : Cases())
      if (c.type == "gitlab") return c;
    return {};
  }
};

TEST_P(TrackerConformance, CreatesOneTaskWithDescriptionImpactAndLinks) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->external_id.empty());
  EXPECT_FALSE(t->external_key.empty());
  EXPECT_FALSE(t->url.empty());
  EXPECT_EQ(t->status, v1::TASK_OPEN);
  EXPECT_EQ(peer_->TaskCount(), 1);
  const std::string body = peer_->Body(t->external_id);
  EXPECT_TRUE(absl::StrContains(body, "Customers are charged twice at checkout")) << body;
  EXPECT_TRUE(absl::StrContains(body, "Tickets: 2 from 2 customers")) << body;
  EXPECT_TRUE(absl::StrContains(body, "I was charged twice for [order]")) << body;
  for (const auto& tk : Draft().tickets)
    EXPECT_TRUE(peer_->Links(t->external_id, tk)) << tk.ticket_id;
}

TEST_P(TrackerConformance, CreateIsIdempotentAfterAnUnknownOutcome) {
  if (peer_->http() != nullptr) peer_->http()->LoseNextAnswer();
  auto first = adapter_->CreateTask(Draft());
  if (peer_->http() != nullptr) {
    ASSERT_FALSE(first.ok()) << "the answer was lost";
    EXPECT_TRUE(absl::IsUnavailable(first.status())) << first.status() << ": must be retried";
    EXPECT_EQ(peer_->TaskCount(), 1) << "the tracker made it nonetheless";
  }
  auto retry = adapter_->CreateTask(Draft());
  ASSERT_TRUE(retry.ok()) << retry.status();
  auto again = adapter_->CreateTask(Draft());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(retry->external_id, again->external_id);
  EXPECT_EQ(peer_->TaskCount(), 1) << "a retry found the task instead of making another";
}

TEST_P(TrackerConformance, UpdateReplacesTheImpactInPlaceAndKeepsPeoplesText) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  if (GetParam().edits_keep_people_text)
    peer_->PrependText(t->external_id, "Triage note from the team: refunds go through finance.");
  auto u = Update(5, {Ticket("1"), Ticket("2"), Ticket("3")});
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, u).ok());
  std::string body = peer_->Body(t->external_id);
  EXPECT_TRUE(absl::StrContains(body, "Tickets: 5 from 5 customers")) << body;
  EXPECT_FALSE(absl::StrContains(body, "Tickets: 2 from 2 customers")) << body;
  EXPECT_EQ(body.find("Impact (kept current"), body.rfind("Impact (kept current"))
      << "one impact section: " << body;
  if (GetParam().edits_keep_people_text)
    EXPECT_TRUE(absl::StrContains(body, "refunds go through finance")) << body;
  EXPECT_TRUE(peer_->Links(t->external_id, Ticket("3")));
  // Repeating the same update changes nothing (and, over HTTP, writes nothing).
  const int writes = peer_->http() ? peer_->http()->writes() : 0;
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, u).ok());
  if (peer_->http()) EXPECT_EQ(peer_->http()->writes(), writes) << "an unchanged update wrote";
  EXPECT_EQ(peer_->Body(t->external_id), body);
}

TEST_P(TrackerConformance, UnlinksTicketsNoLongerOnTheTask) {
  if (!peer_->native_links()) GTEST_SKIP() << "links live in the impact section's text";
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, Update(1, {Ticket("2")})).ok());
  EXPECT_FALSE(peer_->Links(t->external_id, Ticket("1")));
  EXPECT_TRUE(peer_->Links(t->external_id, Ticket("2")));
}

TEST_P(TrackerConformance, AKeyedCommentIsWrittenOnce) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  auto u = Update(2, Draft().tickets);
  u.comment = "Fix verified: tickets of this cause fell from 12 to 1 a week.";
  u.comment_key = "verify:1";
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, u).ok());
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, u).ok());
  auto comments = peer_->Comments(t->external_id);
  ASSERT_EQ(comments.size(), 1u);
  EXPECT_TRUE(absl::StrContains(comments[0], "fell from 12 to 1")) << comments[0];
}

// After a taxonomy merge, a task is marked a duplicate of another: with the tracker's own
// duplicate link where it has one, made once however often the update repeats.
TEST_P(TrackerConformance, ADuplicateIsLinkedOnceWhereTheTrackerLinksDuplicates) {
  auto kept = adapter_->CreateTask(Draft());
  ASSERT_TRUE(kept.ok()) << kept.status();
  spi::TaskDraft other = Draft();
  other.idempotency_key = "task:2:billing-charge";
  auto dup = adapter_->CreateTask(other);
  ASSERT_TRUE(dup.ok()) << dup.status();
  if (!peer_->DuplicateOf(dup->external_id)) GTEST_SKIP() << "no duplicate links here";
  auto u = Update(2, Draft().tickets);
  u.comment = "Duplicate of the other task.";
  u.comment_key = "debrief-duplicate-of-1";
  u.duplicate_of = kept->external_id;
  ASSERT_TRUE(adapter_->UpdateTask(dup->external_id, u).ok());
  auto again = adapter_->UpdateTask(dup->external_id, u);
  ASSERT_TRUE(again.ok()) << again;
  EXPECT_THAT(*peer_->DuplicateOf(dup->external_id), ::testing::ElementsAre(kept->external_id));
  EXPECT_EQ(peer_->Comments(dup->external_id).size(), 1u);
  EXPECT_TRUE(peer_->DuplicateOf(kept->external_id)->empty());
}

// A label Debrief adds (debrief-stalled) is added once, and taken off again when the reason
// for it ends; labels people or the category put on stay. Taking off a label that is not there
// writes nothing.
TEST_P(TrackerConformance, ALabelIsAddedOnceAndTakenOffAgain) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  if (!peer_->Labels(t->external_id)) GTEST_SKIP() << "no labels in this tracker's set-up";
  auto count = [&](const std::string& label) {
    auto l = peer_->Labels(t->external_id);
    return std::count(l->begin(), l->end(), label);
  };
  spi::TaskUpdate on;  // the impact and links as they are, with the label
  on.impact = Draft().impact;
  on.tickets = Draft().tickets;
  on.add_labels = {"debrief-stalled"};
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, on).ok());
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, on).ok());
  EXPECT_EQ(count("debrief-stalled"), 1);
  spi::TaskUpdate off = on;
  off.add_labels.clear();
  off.remove_labels = {"debrief-stalled"};
  auto s = adapter_->UpdateTask(t->external_id, off);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(count("debrief-stalled"), 0);
  EXPECT_EQ(count("support"), 1) << "the category's label was taken off too";
  const int writes = peer_->http() ? peer_->http()->writes() : 0;
  ASSERT_TRUE(adapter_->UpdateTask(t->external_id, off).ok());
  if (peer_->http()) EXPECT_EQ(peer_->http()->writes(), writes);
}

TEST_P(TrackerConformance, ReadsBackTheStatusSetInTheTracker) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  for (v1::TaskStatus s : {v1::TASK_IN_PROGRESS, v1::TASK_DONE, v1::TASK_OPEN, v1::TASK_WONT_DO}) {
    peer_->SetStatus(t->external_id, s);
    auto got = adapter_->GetTask(t->external_id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->status, s == v1::TASK_DONE ? DoneReadsAs() : s) << v1::TaskStatus_Name(s);
    EXPECT_EQ(got->external_id, t->external_id);
  }
}

// Done is not shipped where customers get fixes in releases: a done task reads as done until
// the release that holds it is out, then as shipped, with the release's name and day where
// the tracker has them.
TEST_P(TrackerConformance, ADoneTaskShipsWithTheReleaseThatHoldsIt) {
  Open(Case().released_yaml);
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  peer_->SetStatus(t->external_id, v1::TASK_DONE);
  auto got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_DONE) << "done, and no release holds it";
  peer_->PlanRelease(t->external_id, "2.3");
  got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_DONE) << "in a release that is not out";
  const absl::Time day = absl::FromCivil(absl::CivilDay(2026, 11, 23), absl::UTCTimeZone());
  ASSERT_LT(day, clock_.Now());
  peer_->PublishRelease("2.3", day);
  clock_.Advance(absl::Minutes(2));  // a tracker's release list may be read once a minute
  got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  std::string asked;  // what the adapter asked the tracker, for a failure's message
  if (peer_->http())
    for (const spi::HttpRequest& r : peer_->http()->log())
      absl::StrAppend(&asked, r.method, " ", r.url, "\n");
  EXPECT_EQ(got->status, v1::TASK_SHIPPED) << asked;
  if (peer_->names_releases()) {
    EXPECT_EQ(got->release, "2.3");
    EXPECT_EQ(got->shipped_at, day);
  }
}

// A release that cannot be read (the tracker answers 503, a token that may not read releases)
// never hides that the task is done: done, with the reason, and the next read asks again.
TEST_P(TrackerConformance, ADoneTaskWhoseReleaseCannotBeReadIsStillDone) {
  if (peer_->release_request().empty())
    GTEST_SKIP() << Case().type << " reads the release with the issue";
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  peer_->SetStatus(t->external_id, v1::TASK_DONE);
  peer_->PlanRelease(t->external_id, "2.3");
  peer_->PublishRelease("2.3", absl::FromCivil(absl::CivilDay(2026, 11, 23), absl::UTCTimeZone()));
  peer_->http()->FailReads(peer_->release_request());
  auto got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_DONE);
  EXPECT_FALSE(got->release_lookup.ok());
  peer_->http()->FailReads("");
  clock_.Advance(absl::Minutes(2));  // past any cached release list
  got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_SHIPPED);
  EXPECT_TRUE(got->release_lookup.ok()) << got->release_lookup;
}

TEST_P(TrackerConformance, ShippedWhenDoneShipsATaskAsSoonAsItIsDone) {
  Open("      shipped_when: done\n");
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  peer_->SetStatus(t->external_id, v1::TASK_DONE);
  auto got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_SHIPPED);
  peer_->SetStatus(t->external_id, v1::TASK_WONT_DO);
  got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_WONT_DO) << "won't do is never shipped";
}

TEST_P(TrackerConformance, AShippedWhenOtherThanDoneOrReleasedIsRefused) {
  auto c = config::ParseConfig(
      absl::StrCat("trackers:\n  - id: tasks\n    type: ", Case().type, "\n    settings:\n",
                   Case().settings_yaml, "      shipped_when: merged\n"),
      dir_.path());
  ASSERT_TRUE(c.ok()) << c.status();
  spi::AdapterContext ctx{http_, clock_, dir_.path()};
  auto a = registry_.tracker(Case().type)->Create(c->trackers(0), ctx);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(std::string(a.status().message()), ::testing::HasSubstr("settings.shipped_when"));
}

TEST_P(TrackerConformance, APolledTrackerListsTheTasksChangedSinceAPoll) {
  auto a = adapter_->CreateTask(Draft());
  ASSERT_TRUE(a.ok()) << a.status();
  spi::TaskDraft other = Draft();
  other.idempotency_key = "task:2:login";
  auto b = adapter_->CreateTask(other);
  ASSERT_TRUE(b.ok()) << b.status();
  clock_.Advance(absl::Minutes(10));
  const absl::Time poll = clock_.Now();
  clock_.Advance(absl::Minutes(1));
  peer_->SetStatus(a->external_id, v1::TASK_DONE);
  auto changed = adapter_->ChangedSince(poll);
  if (absl::IsUnimplemented(changed.status()))
    GTEST_SKIP() << GetParam().type << " is followed by webhooks or reads every task back";
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, std::vector<std::string>{a->external_id}) << "only the task changed since";
}

TEST_P(TrackerConformance, HonoursRateLimitsWithTheirRetryAfter) {
  if (peer_->http() == nullptr) GTEST_SKIP() << "the builtin tracker has no rate limit";
  peer_->http()->Inject(429, {{"retry-after", "7"}});
  auto t = adapter_->CreateTask(Draft());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(t.status())) << t.status();
  EXPECT_EQ(spi::RetryAfter(t.status()), absl::Seconds(7));
  EXPECT_EQ(peer_->TaskCount(), 0);
  // GitHub-style: 403 with a spent X-RateLimit-Remaining and a reset time is a wait too.
  peer_->http()->Inject(403, {{"x-ratelimit-remaining", "0"},
                              {"x-ratelimit-reset", std::to_string(1795438800 + 90)}});
  t = adapter_->CreateTask(Draft());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(t.status())) << t.status();
  EXPECT_EQ(spi::RetryAfter(t.status()), absl::Seconds(90));
  t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(peer_->TaskCount(), 1);
}

TEST_P(TrackerConformance, AWrongCredentialIsNotRetriedAndNotLeaked) {
  if (peer_->http() == nullptr) GTEST_SKIP() << "the builtin tracker has no credential";
  peer_->http()->Inject(401, {}, R"({"message":"Bad credentials"})");
  auto t = adapter_->CreateTask(Draft());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(t.status())) << t.status();
  EXPECT_FALSE(absl::StrContains(t.status().ToString(), kToken)) << t.status();
}

TEST_P(TrackerConformance, ItsWebhookNamesTheTaskAndAForgedOneIsRefused) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  auto [headers, body] = peer_->Webhook(t->external_id);
  if (headers.empty()) {
    auto e = adapter_->AcceptWebhook({{}, "{}", clock_.Now()});
    EXPECT_TRUE(absl::IsUnimplemented(e.status())) << "polled trackers say so: " << e.status();
    GTEST_SKIP() << GetParam().type << " sends no webhooks; its tasks are polled";
  }
  auto e = adapter_->AcceptWebhook({headers, body, clock_.Now()});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->external_ids, std::vector<std::string>{t->external_id});
  auto forged_headers = headers;
  std::string forged = body;
  peer_->Forge(forged_headers, forged);
  auto bad = adapter_->AcceptWebhook({forged_headers, forged, clock_.Now()});
  EXPECT_TRUE(absl::IsUnauthenticated(bad.status())) << bad.status();
  headers.clear();
  auto unsigned_ = adapter_->AcceptWebhook({headers, body, clock_.Now()});
  EXPECT_TRUE(absl::IsUnauthenticated(unsigned_.status())) << unsigned_.status();
}

// Linear reports a spent rate limit as HTTP 400 with the code RATELIMITED: a wait, not an error.
// A team that plans releases as milestones: the issue's milestone closed is its release, named
// by its title and dated by its due day.
TEST_F(TrackerConformanceGitLab, WithReleasedByMilestoneAClosedMilestoneShipsTheIssue) {
  Open("      released_by_milestone: true\n");
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  auto* gitlab = static_cast<testing::FakeGitLab*>(peer_->http());
  const absl::Time due = absl::FromCivil(absl::CivilDay(2026, 11, 20), absl::UTCTimeZone());
  peer_->SetStatus(t->external_id, v1::TASK_DONE);
  gitlab->SetMilestone(t->external_id, "Sprint 48", "active", due);
  auto got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_DONE) << "its milestone is still open";
  gitlab->SetMilestone(t->external_id, "Sprint 48", "closed", due);
  got = adapter_->GetTask(t->external_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, v1::TASK_SHIPPED);
  EXPECT_EQ(got->release, "Sprint 48");
  EXPECT_EQ(got->shipped_at, due);
}

TEST_F(TrackerConformanceLinear, ARateLimitAnsweredWith400IsAWait) {
  peer_->http()->Inject(
      400, {{"retry-after", "30"}},
      R"({"errors":[{"message":"Rate limit exceeded","extensions":{"code":"RATELIMITED"}}]})");
  auto t = adapter_->CreateTask(Draft());
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(t.status())) << t.status();
  EXPECT_EQ(spi::RetryAfter(t.status()), absl::Seconds(30));
}

class TrackerConformanceJira : public TrackerConformance {
 protected:
  TrackerCase Case() const override {
    for (const TrackerCase& c : Cases())
      if (c.type == "jira") return c;
    return {};
  }
};

// Admin.CheckAdapter names a field the project requires that the routing leaves empty, from
// Jira's create metadata, before the first task fails to be created.
TEST_F(TrackerConformanceJira, CheckNamesARequiredFieldTheRoutingLeavesEmpty) {
  v1::Category c = Draft().category;
  absl::Status s = adapter_->Check({c});
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()),
              ::testing::HasSubstr("\"Request type\" (customfield_10010)"));
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("billing-charge"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(::testing::HasSubstr("Priority")))
      << "a required field with a default needs nothing";
  (*c.mutable_routing()->mutable_fields())["customfield_10010"] = R"({"value": "Billing"})";
  s = adapter_->Check({c});
  EXPECT_TRUE(s.ok()) << s;
}

class TrackerConformanceRedmine : public TrackerConformance {
 protected:
  TrackerCase Case() const override {
    for (const TrackerCase& c : Cases())
      if (c.type == "redmine") return c;
    return {};
  }
};

// Redmine renders descriptions in the site's formatting, Textile unless the admin chose
// otherwise: the impact's heading and lists are written in it (rendered by a real Redmine 5 in
// tests/e2e), and an update in place still finds its section.
TEST_F(TrackerConformanceRedmine, WritesInTheSitesTextFormatting) {
  auto t = adapter_->CreateTask(Draft());
  ASSERT_TRUE(t.ok()) << t.status();
  auto text = [&] {  // Redmine stores CRLF line ends
    return absl::StrReplaceAll(peer_->Body(t->external_id), {{"\r\n", "\n"}});
  };
  std::string body = text();
  EXPECT_THAT(body, ::testing::HasSubstr("h3. Impact (kept current by Debrief"));
  EXPECT_THAT(body, ::testing::HasSubstr("\n\n* desk/1: Charged twice for order"));
  EXPECT_THAT(body, ::testing::HasSubstr("* desk/2: "));
  EXPECT_THAT(body, ::testing::HasSubstr("> I was charged twice for [order]"));
  EXPECT_THAT(body, ::testing::Not(::testing::HasSubstr("### ")));
  EXPECT_THAT(body, ::testing::Not(::testing::HasSubstr("\n- ")));
  ASSERT_TRUE(
      adapter_->UpdateTask(t->external_id, Update(3, {Ticket("1"), Ticket("2"), Ticket("3")}))
          .ok());
  body = text();
  EXPECT_THAT(body, ::testing::HasSubstr("* desk/3: "));
  EXPECT_EQ(body.find("h3. Impact"), body.rfind("h3. Impact")) << "replaced, not appended";
}

INSTANTIATE_TEST_SUITE_P(Trackers, TrackerConformance, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.type; });

}  // namespace
}  // namespace debrief
