// Taxonomy versions on a running debriefd (Admin.DiffTaxonomy, ApplyTaxonomy, TaxonomyHistory):
// every change is a version with who and what; a merge keeps trends comparable (the weekly
// counts before and after add up) and marks the merged cause's task a duplicate in the
// tracker, its tickets moving over; a split classifies the category's tickets again and its
// task goes with the most of them; a category dropped from the file is kept as retired.
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "integration/debriefd_process.h"

namespace debrief::testing {
namespace {

absl::Status ToStatus(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

constexpr char kBefore[] = R"(categories:
  - {id: refund, name: Refund not received, kind: complaint, keywords: [refund]}
  - {id: billing, name: Wrong charge, kind: complaint, keywords: [charged twice]}
  - id: app
    name: App problems
    kind: complaint
    keywords: [crash, "log ?in"]
  - {id: shipping, name: Late delivery, kind: complaint, keywords: [tracking]}
)";

// refund merged into billing, app split in two, shipping dropped (kept as retired).
constexpr char kAfter[] = R"(categories:
  - {id: refund, name: Refund not received, kind: complaint, keywords: [refund], merged_into: billing}
  - {id: billing, name: Charged wrongly, kind: complaint, keywords: [charged twice]}
  - {id: app, name: App problems, kind: complaint, keywords: [crash, "log ?in"], split_into: [app-crash, app-login]}
  - {id: app-crash, name: App crashes, kind: complaint, keywords: [crash]}
  - {id: app-login, name: Cannot log in, kind: complaint, keywords: ["log ?in"]}
)";

class TaxonomyVersions : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_.file("taxonomy.yaml")) << kBefore;
    std::string yaml = IntegrationConfig(dir_.path(), /*open_after=*/2);
    const std::string from =
        absl::StrCat("taxonomy: {file: ", DEBRIEF_SOURCE_DIR, "/deploy/taxonomy/default.yaml}");
    ASSERT_TRUE(absl::StrContains(yaml, from));
    yaml = absl::StrReplaceAll(
        yaml, {{from, "taxonomy: {file: taxonomy.yaml}\nclassifier: {kind: keyword}"}});
    d_ = std::make_unique<Debriefd>(dir_.path(), RawConfig{yaml});
    std::string out;
    ASSERT_TRUE(d_->Start(&out)) << out;
  }

  void Send(const std::string& id, const std::string& text, const std::string& customer) {
    auto r = d_->Post(TicketJson(id, text, text, customer), "d-" + id);
    ASSERT_TRUE(r.ok() && r->status / 100 == 2) << (r.ok() ? r->body : r.status().ToString());
  }

  std::vector<v1::ImprovementTask> Tasks() {
    grpc::ClientContext ctx;
    v1::ListTasksResponse res;
    EXPECT_TRUE(d_->improvements()->ListTasks(&ctx, v1::ListTasksRequest(), &res).ok());
    return {res.tasks().begin(), res.tasks().end()};
  }

  v1::Classification Tag(const std::string& ticket) {
    grpc::ClientContext ctx;
    v1::GetTicketRequest req;
    req.mutable_ticket()->set_helpdesk_id("support");
    req.mutable_ticket()->set_ticket_id(ticket);
    v1::GetTicketResponse res;
    if (!d_->tickets()->GetTicket(&ctx, req, &res).ok()) return {};  // not processed yet
    return res.classification();
  }

  std::map<std::string, int64_t> Trends() {
    grpc::ClientContext ctx;
    v1::CausesOverTimeResponse res;
    EXPECT_TRUE(d_->insights()->CausesOverTime(&ctx, v1::CausesOverTimeRequest(), &res).ok());
    std::map<std::string, int64_t> out;
    for (const auto& c : res.causes()) {
      int64_t weekly = 0;
      for (int64_t n : c.weekly_tickets()) weekly += n;
      EXPECT_EQ(weekly, c.tickets()) << c.category_id();
      out[c.category_id()] = c.tickets();
    }
    return out;
  }

  absl::StatusOr<v1::ApplyTaxonomyResponse> Apply(const std::string& yaml) {
    grpc::ClientContext ctx;
    v1::ApplyTaxonomyRequest req;
    req.set_yaml(yaml);
    v1::ApplyTaxonomyResponse res;
    grpc::Status s = d_->admin()->ApplyTaxonomy(&ctx, req, &res);
    if (!s.ok()) return ToStatus(s);
    return res;
  }

  std::vector<v1::TaxonomyVersion> History() {
    grpc::ClientContext ctx;
    v1::TaxonomyHistoryResponse res;
    EXPECT_TRUE(d_->admin()->TaxonomyHistory(&ctx, v1::TaxonomyHistoryRequest(), &res).ok());
    return {res.versions().begin(), res.versions().end()};
  }

  TempDir dir_;
  std::unique_ptr<Debriefd> d_;
};

const v1::TaxonomyChange* Find(const v1::TaxonomyVersion& v, v1::TaxonomyChangeKind kind,
                               const std::string& id) {
  for (const auto& c : v.changes())
    if (c.kind() == kind && c.category_id() == id) return &c;
  return nullptr;
}

TEST_F(TaxonomyVersions, MergeSplitAndRetireKeepTrendsTasksAndHistory) {
  // Version 1, from the file at start.
  std::vector<v1::TaxonomyVersion> history = History();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].version(), 1);
  EXPECT_EQ(history[0].actor(), "config file");
  EXPECT_EQ(history[0].changes_size(), 4);

  Send("R1", "Where is my refund", "c1");
  Send("R2", "refund still missing", "c2");
  Send("B1", "I was charged twice", "c3");
  Send("B2", "charged twice again", "c4");
  Send("A1", "the app crash on start", "c5");
  Send("A2", "crash when I pay", "c6");
  Send("A3", "cannot log in", "c7");
  // refund, billing and app each open a task (two tickets each); shipping has none.
  ASSERT_TRUE(WaitFor([&] {
    int created = 0;
    for (const auto& t : Tasks()) created += t.status() == v1::TASK_OPEN && t.ticket_count() > 0;
    return created == 3;
  })) << Tasks().size();
  std::map<std::string, v1::ImprovementTask> task_of;
  for (const auto& t : Tasks()) task_of[t.category_id()] = t;
  ASSERT_EQ(task_of.size(), 3u);
  const std::map<std::string, int64_t> before = Trends();
  EXPECT_EQ(before.at("refund"), 2);
  EXPECT_EQ(before.at("billing"), 2);

  // What applying would change, with what it does to the data; nothing written.
  {
    grpc::ClientContext ctx;
    v1::DiffTaxonomyRequest req;
    req.set_yaml(kAfter);
    v1::DiffTaxonomyResponse res;
    ASSERT_TRUE(d_->admin()->DiffTaxonomy(&ctx, req, &res).ok());
    EXPECT_EQ(res.current_version(), 1);
    v1::TaxonomyVersion as_version;
    *as_version.mutable_changes() = res.changes();
    const v1::TaxonomyChange* merged = Find(as_version, v1::CATEGORY_MERGED, "refund");
    ASSERT_NE(merged, nullptr);
    EXPECT_TRUE(absl::StrContains(merged->effect(), "is marked a duplicate")) << merged->effect();
    EXPECT_NE(Find(as_version, v1::CATEGORY_RENAMED, "billing"), nullptr);
    EXPECT_NE(Find(as_version, v1::CATEGORY_RETIRED, "shipping"), nullptr);
    EXPECT_EQ(History().size(), 1u);
  }
  // A file that cannot be right changes nothing.
  auto bad = Apply(absl::StrReplaceAll(kAfter, {{"merged_into: billing", "merged_into: nowhere"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "nowhere")) << bad.status();
  EXPECT_FALSE(std::ifstream(dir_.file("conf.d/taxonomy.yaml")).good());

  auto applied = Apply(kAfter);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->applied());
  EXPECT_EQ(applied->file(), dir_.file("conf.d/taxonomy.yaml"));
  const v1::TaxonomyVersion& v2 = applied->version();
  EXPECT_EQ(v2.version(), 2);
  EXPECT_NE(v2.actor(), "config file");
  const v1::TaxonomyChange* merged = Find(v2, v1::CATEGORY_MERGED, "refund");
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->into(0), "billing");
  EXPECT_TRUE(absl::StrContains(merged->effect(), "2 tickets count as billing's"))
      << merged->effect();
  const v1::TaxonomyChange* split = Find(v2, v1::CATEGORY_SPLIT, "app");
  ASSERT_NE(split, nullptr);
  EXPECT_TRUE(absl::StrContains(split->effect(),
                                "3 tickets classified again: 2 to app-crash, 1 to app-login"))
      << split->effect();
  EXPECT_TRUE(absl::StrContains(split->effect(), "is now app-crash's")) << split->effect();
  EXPECT_NE(Find(v2, v1::CATEGORY_RETIRED, "shipping"), nullptr);

  // Trends over the merge add up: refund's tickets count as billing's, backwards too.
  const std::map<std::string, int64_t> after = Trends();
  EXPECT_FALSE(after.contains("refund"));
  EXPECT_EQ(after.at("billing"), before.at("refund") + before.at("billing"));
  // The split's tickets went to the parts.
  EXPECT_EQ(Tag("A1").category_id(), "app-crash");
  EXPECT_EQ(Tag("A3").category_id(), "app-login");

  // refund's task: a duplicate of billing's in the tracker, its tickets moved there.
  ASSERT_TRUE(WaitFor([&] {
    grpc::ClientContext ctx;
    v1::ShowTrackerTaskRequest show;
    show.set_tracker_id("tasks");
    show.set_external_id(task_of["refund"].external_id());
    v1::ShowTrackerTaskResponse shown;
    if (!d_->admin()->ShowTrackerTask(&ctx, show, &shown).ok()) return false;
    for (const auto& c : shown.task().comments())
      if (absl::StrContains(c, "Duplicate of") &&
          absl::StrContains(c, task_of["billing"].external_key()))
        return shown.task().linked_tickets().empty();
    return false;
  }));
  std::map<int64_t, v1::ImprovementTask> by_id;
  for (const auto& t : Tasks()) by_id[t.id()] = t;
  EXPECT_EQ(by_id[task_of["billing"].id()].ticket_count(), 4);
  EXPECT_EQ(by_id[task_of["app"].id()].category_id(), "app-crash");
  // app-login has no task of its own: its ticket stays on the task it had, never on none.
  EXPECT_EQ(by_id[task_of["app"].id()].ticket_count(), 3);

  // A new refund ticket is billing's now; agents can no longer choose a retired category.
  Send("R3", "refund please", "c8");
  ASSERT_TRUE(WaitFor([&] { return Tag("R3").category_id() == "billing"; }));
  {
    grpc::ClientContext ctx;
    v1::FeedbackRequest fb;
    fb.mutable_ticket()->set_helpdesk_id("support");
    fb.mutable_ticket()->set_ticket_id("B1");
    fb.set_category_id("shipping");
    v1::FeedbackResponse res;
    grpc::Status s = d_->tagging()->Feedback(&ctx, fb, &res);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    v1::ListCategoriesResponse cats;
    ASSERT_TRUE(d_->tagging()->ListCategories(&ctx, v1::ListCategoriesRequest(), &cats).ok());
    std::map<std::string, v1::Category> by;
    for (const auto& c : cats.categories()) by[c.id()] = c;
    EXPECT_TRUE(by.at("shipping").retired());
    EXPECT_TRUE(by.at("refund").retired());
    EXPECT_EQ(by.at("refund").merged_into(), "billing") << by.at("refund").DebugString();
    EXPECT_FALSE(by.at("app-crash").retired());
  }

  // debriefctl: the running taxonomy's file diffs to nothing; a rename diffs and applies; the
  // history lists the versions with what they changed.
  const std::string after_file = dir_.file("after.yaml");
  std::ofstream(after_file) << kAfter;
  std::string out;
  ASSERT_EQ(RunCommand(absl::StrCat(d_->ctl(), " -o table taxonomy diff ", after_file), &out), 0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "No change")) << out;
  const std::string renamed_file = dir_.file("renamed.yaml");
  std::ofstream(renamed_file) << absl::StrReplaceAll(kAfter,
                                                     {{"App crashes", "App crashes or freezes"}});
  ASSERT_EQ(RunCommand(absl::StrCat(d_->ctl(), " -o table taxonomy diff ", renamed_file), &out), 0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "renamed") && absl::StrContains(out, "App crashes or freezes"))
      << out;
  ASSERT_EQ(RunCommand(absl::StrCat(d_->ctl(), " -o table taxonomy apply ", renamed_file), &out), 0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "version 3")) << out;
  ASSERT_EQ(RunCommand(absl::StrCat(d_->ctl(), " -o table taxonomy history"), &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "v3") && absl::StrContains(out, "v2") &&
              absl::StrContains(out, "merged") && absl::StrContains(out, "refund into billing"))
      << out;

  // The same file again adds no version; a restart keeps the history and the retired category.
  const std::string renamed =
      absl::StrReplaceAll(kAfter, {{"App crashes", "App crashes or freezes"}});
  auto again = Apply(renamed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->applied());
  EXPECT_EQ(again->version().version(), 3);
  EXPECT_EQ(d_->Terminate(), 0);
  ASSERT_TRUE(d_->Start(&out)) << out;
  history = History();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].version(), 3);
  EXPECT_EQ(Trends().at("billing"), 5);
}

}  // namespace
}  // namespace debrief::testing
