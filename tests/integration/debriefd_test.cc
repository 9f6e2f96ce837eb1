// debriefd end to end on the embedded default: real process, real HTTP, real gRPC, real
// SQLite and the builtin tracker.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/time_util.h"
#include "integration/debriefd_process.h"
#include "pg/pg.h"
#include "pg/test_postgres.h"
#include "sqlite/sqlite.h"
#include "tracker/builtin/builtin_tracker.h"

namespace debrief::testing {
namespace {

v1::GetTicketResponse GetTicket(Debriefd& d, const std::string& id,
                                grpc::Status* status = nullptr) {
  grpc::ClientContext ctx;
  v1::GetTicketRequest req;
  req.mutable_ticket()->set_helpdesk_id("support");
  req.mutable_ticket()->set_ticket_id(id);
  v1::GetTicketResponse res;
  grpc::Status s = d.tickets()->GetTicket(&ctx, req, &res);
  if (status) *status = s;
  return res;
}

std::vector<v1::ImprovementTask> ListTasks(Debriefd& d) {
  grpc::ClientContext ctx;
  v1::ListTasksResponse res;
  EXPECT_TRUE(d.improvements()->ListTasks(&ctx, v1::ListTasksRequest(), &res).ok());
  return {res.tasks().begin(), res.tasks().end()};
}

v1::GetTaskResponse GetTask(Debriefd& d, int64_t id) {
  grpc::ClientContext ctx;
  v1::GetTaskRequest req;
  req.set_task_id(id);
  v1::GetTaskResponse res;
  EXPECT_TRUE(d.improvements()->GetTask(&ctx, req, &res).ok());
  return res;
}

// grpc.health.v1.Health/Check with an empty request; SERVING is field 1 = 1 (bytes 08 01).
bool HealthServing(Debriefd& d) {
  grpc::GenericStub stub(d.channel());
  grpc::ClientContext ctx;
  grpc::ByteBuffer req, res;
  grpc::Slice empty("");
  req = grpc::ByteBuffer(&empty, 1);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &res,
                 [&](grpc::Status s) { done.set_value(s); });
  if (!done.get_future().get().ok()) return false;
  std::vector<grpc::Slice> slices;
  (void)res.Dump(&slices);
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes == std::string("\x08\x01", 2);
}

TEST(Debriefd, WebhooksBecomeTaggedTicketsAndOneTaskPerCause) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  EXPECT_TRUE(HealthServing(d));
  EXPECT_EQ(d.Get("/readyz")->status, 200);

  // Two billing complaints: classified, below the threshold, no task yet.
  ASSERT_EQ(
      d.Post(TicketJson("1", "Charged twice", "I was charged twice this month", "c1"), "del-1")
          ->status,
      202);
  ASSERT_EQ(
      d.Post(TicketJson("2", "Refund", "Double charged on my card, refund please", "c2"), "del-2")
          ->status,
      202);
  ASSERT_TRUE(WaitFor(
      [&] { return GetTicket(d, "2").classification().category_id() == "billing-charge"; }));
  auto t1 = GetTicket(d, "1");
  EXPECT_EQ(t1.classification().category_id(), "billing-charge");
  EXPECT_FALSE(t1.classification().needs_review());
  EXPECT_GT(t1.classification().reasons_size(), 0);
  EXPECT_TRUE(ListTasks(d).empty());

  // The third opens the task, created in the builtin tracker by the executor.
  ASSERT_EQ(
      d.Post(TicketJson("3", "Unexpected charge", "an unexpected charge after I cancelled", "c3"),
             "del-3")
          ->status,
      202);
  ASSERT_TRUE(WaitFor([&] {
    auto tasks = ListTasks(d);
    return tasks.size() == 1 && !tasks[0].external_id().empty();
  }));
  v1::ImprovementTask task = ListTasks(d)[0];
  EXPECT_EQ(task.category_id(), "billing-charge");
  EXPECT_EQ(task.status(), v1::TASK_OPEN);
  EXPECT_EQ(task.external_key(), "DEBRIEF-" + task.external_id());
  EXPECT_EQ(GetTask(d, task.id()).links_size(), 3);

  // A later ticket links to the same task; a praise ticket does not.
  ASSERT_EQ(
      d.Post(TicketJson("4", "Billing", "I was overcharged on the invoice", "c1"), "del-4")->status,
      202);
  ASSERT_EQ(
      d.Post(TicketJson("5", "Thanks", "Your support team is amazing, thank you so much", "c5"),
             "del-5")
          ->status,
      202);
  ASSERT_TRUE(WaitFor([&] {
    return GetTask(d, task.id()).links_size() == 4 && GetTicket(d, "5").has_classification();
  }));
  auto t4 = GetTicket(d, "4");
  EXPECT_EQ(t4.link().task_id(), task.id());
  EXPECT_EQ(t4.task().id(), task.id());
  EXPECT_EQ(GetTicket(d, "5").classification().category_id(), "praise-agent");
  EXPECT_EQ(ListTasks(d).size(), 1u);
  EXPECT_EQ(GetTask(d, task.id()).task().customer_count(), 3);  // c1 wrote twice

  // A long ticket (a pasted log) spans many reads of the connection's buffer on the same
  // keep-alive connection, and is taken whole.
  std::string log;
  while (log.size() < 100 * 1024) log += "2026-11-23 08:00:00 ERROR payment gateway timeout\n";
  ASSERT_EQ(d.Post(TicketJson("9", "Long log", log, "c9"), "del-9")->status, 202);
  ASSERT_TRUE(WaitFor([&] { return GetTicket(d, "9").has_classification(); }));
  EXPECT_EQ(GetTicket(d, "9").ticket().body(), absl::StripTrailingAsciiWhitespace(log));

  // Refusals: wrong signature, unknown adapter, malformed, oversized; each with a reason.
  auto bad = d.Post(TicketJson("6", "x", "y", "c6"), "del-6", "00ff");
  EXPECT_EQ(bad->status, 401);
  EXPECT_EQ(nlohmann::json::parse(bad->body)["reason"], "bad_signature");
  EXPECT_EQ(d.Post(TicketJson("6", "x", "y", "c6"), "del-6", "", "nope")->status, 404);
  auto malformed = d.Post("{not json", "del-7");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(nlohmann::json::parse(malformed->body)["reason"], "malformed");
  EXPECT_EQ(d.Post(std::string(2 << 20, 'x'), "del-8")->status, 413);
  grpc::Status missing;
  GetTicket(d, "6", &missing);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  std::string metrics = d.Get("/metrics")->body;
  EXPECT_NE(metrics.find(
                "debrief_webhook_rejected_total{adapter=\"support\",reason=\"bad_signature\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("reason=\"too_large\"} 1"), std::string::npos) << metrics;

  // A redelivery is acknowledged and not processed twice.
  auto again =
      d.Post(TicketJson("4", "Billing", "I was overcharged on the invoice", "c1"), "del-4");
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(nlohmann::json::parse(again->body)["status"], "duplicate");

  // Graceful stop, restart: everything is still there, nothing is duplicated.
  EXPECT_EQ(d.Terminate(), 0);
  ASSERT_TRUE(d.Start(&out)) << out;
  ASSERT_EQ(ListTasks(d).size(), 1u);
  EXPECT_EQ(GetTask(d, task.id()).links_size(), 4);
  EXPECT_EQ(GetTicket(d, "1").classification().category_id(), "billing-charge");
  EXPECT_EQ(
      d.Post(TicketJson("4", "Billing", "I was overcharged on the invoice", "c1"), "del-4")->status,
      200);
  EXPECT_EQ(d.Terminate(), 0);

  // The builtin tracker holds exactly one task, linked to the four tickets.
  testing::FakeClock clock;
  auto tracker =
      adapters::builtin::BuiltinTracker::Open("tasks", dir.file("builtin-tracker.db"), "", clock);
  ASSERT_TRUE(tracker.ok());
  EXPECT_EQ(*(*tracker)->CountTasks(), 1);
  EXPECT_EQ((*tracker)->LinkedTickets(task.external_id())->size(), 4u);
}

// An operator's `top -H` or perf tells the threads apart.
TEST(Debriefd, ItsThreadsAreNamed) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  const std::vector<std::string> wanted = {"http-0",        "http-1",   "inbox-commit", "pipeline",
                                           "task-follower", "executor", "reconciler"};
  std::set<std::string> names;
  // Each thread names itself when it starts running, which may be just after ready.
  WaitFor([&] {
    names.clear();
    for (const auto& t :
         std::filesystem::directory_iterator(absl::StrCat("/proc/", d.pid(), "/task"))) {
      std::string name;
      std::getline(std::ifstream(t.path() / "comm"), name);
      names.insert(name);
    }
    return std::all_of(wanted.begin(), wanted.end(),
                       [&](const std::string& w) { return names.contains(w); });
  });
  for (const std::string& want : wanted)
    EXPECT_TRUE(names.contains(want))
        << want << " missing; threads: " << absl::StrJoin(names, ", ");
  EXPECT_EQ(d.Terminate(), 0);
}

// A helpdesk (or anything else) that opens a connection and goes quiet, or stops halfway
// through a request, does not hold a connection for ever: http.idle_timeout and
// http.request_timeout close it, and a half-sent delivery is not acknowledged.
TEST(Debriefd, ClosesIdleAndStalledConnections) {
  TempDir dir;
  const std::string http = R"(http: {listen: "127.0.0.1:0", threads: 2)";
  Debriefd d(dir.path(), RawConfig{absl::StrReplaceAll(
                             IntegrationConfig(dir.path()),
                             {{http, http + ", idle_timeout: 1s, request_timeout: 1s"}})});
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  // Reads until the server closes; returns what it sent and how long that took.
  auto until_closed = [](Connection& c) {
    const absl::Time start = absl::Now();
    std::string got = c.ReadUntilClosed(absl::Seconds(10));
    return std::make_pair(got, absl::Now() - start);
  };

  std::unique_ptr<Connection> idle = ConnectTo(d.http_port());
  ASSERT_NE(idle, nullptr);
  auto [idle_got, idle_took] = until_closed(*idle);
  EXPECT_EQ(idle_got, "");
  EXPECT_GE(idle_took, absl::Milliseconds(900));
  EXPECT_LT(idle_took, absl::Seconds(5));

  std::unique_ptr<Connection> stalled = ConnectTo(d.http_port());
  ASSERT_NE(stalled, nullptr);
  const std::string head =
      "POST /webhooks/support HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "X-Debrief-Delivery: stalled-1\r\nContent-Length: 400\r\n\r\n{\"ticket\": {\"id\": ";
  ASSERT_TRUE(stalled->Send(head));
  auto [stalled_got, stalled_took] = until_closed(*stalled);
  EXPECT_EQ(stalled_got, "");  // no answer: nothing was acknowledged
  EXPECT_LT(stalled_took, absl::Seconds(5));

  // The server still answers, and a request sent at once on a new connection is served.
  EXPECT_EQ(d.Get("/healthz")->status, 200);
  EXPECT_EQ(d.Terminate(), 0);
}

TEST(Debriefd, ATaskClosedInTheTrackerIsNoticedAndItsTicketsAreTold) {
  TempDir dir;
  Debriefd d(dir.path(), /*open_after=*/1);
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  ASSERT_EQ(
      d.Post(TicketJson("1", "Charged twice", "I was charged twice, Maria", "c1"), "d1")->status,
      202);
  ASSERT_TRUE(WaitFor([&] {
    auto tasks = ListTasks(d);
    return tasks.size() == 1 && !tasks[0].external_id().empty();
  }));
  v1::ImprovementTask task = ListTasks(d)[0];
  // The team closes the task in the (builtin) tracker, as a user would.
  std::string cmd = absl::StrCat(d.ctl(), " tracker set-status ", task.external_id(), " done");
  ASSERT_EQ(RunCommand(cmd, &out), 0) << out;
  // The builtin tracker ships at done unless told to wait for releases.
  EXPECT_NE(out.find("\"status\": \"TASK_SHIPPED\""), std::string::npos) << out;
  ASSERT_TRUE(WaitFor([&] { return GetTask(d, task.id()).task().status() == v1::TASK_SHIPPED; }));
  v1::GetTaskResponse got = GetTask(d, task.id());
  EXPECT_TRUE(got.task().has_done_at());
  EXPECT_TRUE(got.task().has_shipped_at());
  ASSERT_EQ(got.history_size(), 3);
  EXPECT_EQ(got.history(2).status(), v1::TASK_SHIPPED);
  EXPECT_EQ(got.history(2).source(), "poll");
  // The task's impact section says it shipped (a forced update), and the tracker holds no
  // personal data.
  ASSERT_TRUE(WaitFor([&] {
    cmd = absl::StrCat(d.ctl(), " tracker show ", task.external_id());
    return RunCommand(cmd, &out) == 0 && out.find("Shipped on") != std::string::npos;
  })) << out;
  EXPECT_NE(out.find("support/1"), std::string::npos) << out;
  std::string metrics = d.Get("/metrics")->body;
  EXPECT_NE(metrics.find("debrief_outbox_dead_total 0"), std::string::npos) << metrics;
}

TEST(Debriefd, AnAgentCorrectionRetagsAndRelinks) {
  TempDir dir;
  Debriefd d(dir.path(), /*open_after=*/1);
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  ASSERT_EQ(
      d.Post(TicketJson("1", "Hello", "what are your office hours over the holidays", "c1"), "d1")
          ->status,
      202);
  ASSERT_TRUE(WaitFor([&] { return GetTicket(d, "1").has_classification(); }));
  EXPECT_TRUE(GetTicket(d, "1").classification().needs_review());

  grpc::ClientContext ctx;
  v1::FeedbackRequest fb;
  fb.mutable_ticket()->set_helpdesk_id("support");
  fb.mutable_ticket()->set_ticket_id("1");
  fb.set_category_id("how-to-question");
  fb.set_agent("anna");
  v1::FeedbackResponse res;
  ASSERT_TRUE(d.tagging()->Feedback(&ctx, fb, &res).ok());
  EXPECT_EQ(res.classification().model(), "agent");
  ASSERT_TRUE(WaitFor([&] { return GetTicket(d, "1").link().task_id() != 0; }));
  EXPECT_EQ(GetTicket(d, "1").task().category_id(), "how-to-question");

  // The correction teaches the classifier, also after a restart.
  auto classify = [&] {
    grpc::ClientContext c;
    v1::ClassifyRequest req;
    req.set_text("office hours during the holidays?");
    v1::ClassifyResponse r;
    EXPECT_TRUE(d.tagging()->Classify(&c, req, &r).ok());
    return r.classification().category_id();
  };
  EXPECT_EQ(classify(), "how-to-question");
  EXPECT_EQ(d.Terminate(), 0);
  ASSERT_TRUE(d.Start(&out)) << out;
  EXPECT_EQ(classify(), "how-to-question");
}

TEST(Debriefd, TheReviewQueueAsksFirstWhereTheClassifierIsLeastSure) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  const char* vague[] = {"something is off with my account and the app",
                         "question about the thing from last week", "hello, is anyone there",
                         "the page and the invoice and the login, all of it"};
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(d.Post(TicketJson(absl::StrCat("r", i), "Hi", vague[i], "c" + std::to_string(i)),
                     absl::StrCat("dr", i))
                  ->status,
              202);
  auto list = [&](const std::string& order, grpc::Status* status) {
    grpc::ClientContext ctx;
    v1::ListReviewRequest req;
    req.set_order(order);
    v1::ListReviewResponse res;
    *status = d.tagging()->ListReview(&ctx, req, &res);
    return res;
  };
  grpc::Status st;
  v1::ListReviewResponse worth;
  ASSERT_TRUE(WaitFor([&] {
    worth = list("", &st);
    return st.ok() && worth.tickets_size() == 4;
  })) << st.error_message()
      << worth.DebugString();
  for (int i = 0; i < worth.tickets_size(); ++i) {
    const auto& item = worth.tickets(i);
    const auto& c = item.classification();
    const double second = c.runner_up();
    EXPECT_NEAR(item.worth(),
                c.category_id().empty() ? 0.0 : 1.0 - std::max(0.0, c.confidence() - second), 1e-9);
    if (i > 0) EXPECT_GE(worth.tickets(i - 1).worth(), item.worth()) << worth.DebugString();
  }
  v1::ListReviewResponse newest = list("newest", &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(newest.tickets_size(), 4);
  for (int i = 1; i < newest.tickets_size(); ++i)
    EXPECT_GE(base::FromTimestamp(newest.tickets(i - 1).first_seen()),
              base::FromTimestamp(newest.tickets(i).first_seen()));
  list("oldest", &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("neither"), std::string::npos) << st.error_message();
  // The same from the command line.
  ASSERT_EQ(RunCommand(absl::StrCat(d.ctl(), " review --order newest"), &out), 0) << out;
  EXPECT_NE(out.find("\"worth\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"r3\""), std::string::npos) << out;
  // An agent's answer takes the ticket off the queue at the next request (the queue's answer
  // is kept a few seconds for the panels that ask, but not past an answer).
  const v1::TicketRef answered = worth.tickets(0).ticket();
  {
    grpc::ClientContext ctx;
    v1::FeedbackRequest req;
    *req.mutable_ticket() = answered;
    req.set_category_id("login-access");
    v1::FeedbackResponse res;
    ASSERT_TRUE(d.tagging()->Feedback(&ctx, req, &res).ok());
  }
  v1::ListReviewResponse after = list("", &st);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(after.tickets_size(), 3) << after.DebugString();
  for (const auto& item : after.tickets())
    EXPECT_NE(item.ticket().ticket_id(), answered.ticket_id()) << after.DebugString();
}

TEST(Debriefd, AnEmergingIssueIsPromotedToACategoryWithOneCall) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  const char* printer[][2] = {{"Printer driver", "the label printer driver will not install"},
                              {"Driver install fails", "label printer driver install fails"},
                              {"Label printer", "cannot install the label printer driver"},
                              {"Printer again", "the label printer driver still fails to install"}};
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(d.Post(TicketJson(absl::StrCat("p", i), printer[i][0], printer[i][1],
                                "c" + std::to_string(i)),
                     absl::StrCat("dp", i))
                  ->status,
              202);
  v1::ListEmergingResponse list;
  ASSERT_TRUE(WaitFor([&] {
    grpc::ClientContext ctx;
    v1::ListEmergingRequest req;
    req.set_min_size(3);
    list.Clear();
    return d.tagging()->ListEmerging(&ctx, req, &list).ok() && list.issues_size() == 1 &&
           list.issues(0).size() == 4;
  })) << list.DebugString();

  grpc::ClientContext ctx;
  v1::PromoteEmergingRequest req;
  req.set_emerging_id(list.issues(0).id());
  req.set_category_id("label-printer");
  req.set_name("Label printer driver does not install");
  v1::PromoteEmergingResponse res;
  ASSERT_TRUE(d.tagging()->PromoteEmerging(&ctx, req, &res).ok());
  EXPECT_EQ(res.tickets(), 4);
  EXPECT_EQ(GetTicket(d, "p0").classification().category_id(), "label-printer");
  // Four tickets cross the threshold of three: the new cause has its task.
  ASSERT_TRUE(WaitFor([&] {
    auto tasks = ListTasks(d);
    return tasks.size() == 1 && tasks[0].category_id() == "label-printer" &&
           !tasks[0].external_id().empty();
  }));
  // The classifier learned it, and the category survives a restart.
  auto classify = [&] {
    grpc::ClientContext c;
    v1::ClassifyRequest r;
    r.set_text("my label printer driver won't install");
    v1::ClassifyResponse cr;
    EXPECT_TRUE(d.tagging()->Classify(&c, r, &cr).ok());
    return cr.classification().category_id();
  };
  EXPECT_EQ(classify(), "label-printer");
  EXPECT_EQ(d.Terminate(), 0);
  ASSERT_TRUE(d.Start(&out)) << out;
  EXPECT_EQ(classify(), "label-printer");
  grpc::ClientContext again;
  v1::PromoteEmergingResponse res2;
  EXPECT_FALSE(d.tagging()->PromoteEmerging(&again, req, &res2).ok());
}

TEST(Debriefd, LoadsATrainedModelAndReloadsItOnSighup) {
  TempDir dir;
  // Two models over the same taxonomy that disagree about one phrase.
  auto write_csv = [&](const std::string& name, const std::string& label) {
    std::ofstream f(dir.file(name));
    f << "text,category\n";
    for (int i = 0; i < 20; ++i) f << "the zorblax widget is wobbly " << i << "," << label << "\n";
    for (int i = 0; i < 20; ++i) f << "I was charged twice " << i << ",billing-charge\n";
    for (int i = 0; i < 20; ++i) f << "the app crashes again " << i << ",app-crash\n";
  };
  write_csv("a.csv", "app-crash");
  write_csv("b.csv", "damaged-item");
  std::string tax = absl::StrCat(DEBRIEF_SOURCE_DIR, "/deploy/taxonomy/default.yaml");
  std::string out;
  auto train = [&](const std::string& csv) {
    return RunCommand(absl::StrCat(DEBRIEFCTL_PATH, " train --data ", dir.file(csv), " --taxonomy ",
                                   tax, " --out ", dir.file("model.bin")),
                      &out);
  };
  ASSERT_EQ(train("a.csv"), 0) << out;
  Debriefd d(dir.path(), 3, "classifier: {model: model.bin}\n");
  ASSERT_TRUE(d.Start(&out)) << out;
  auto classify = [&] {
    grpc::ClientContext c;
    v1::ClassifyRequest r;
    r.set_text("my zorblax widget is wobbly");
    v1::ClassifyResponse cr;
    EXPECT_TRUE(d.tagging()->Classify(&c, r, &cr).ok());
    return cr.classification();
  };
  EXPECT_EQ(classify().category_id(), "app-crash");
  EXPECT_EQ(classify().model(), "linear-v1");

  ASSERT_EQ(train("b.csv"), 0) << out;
  d.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return classify().category_id() == "damaged-item"; }));
  // Deliveries keep flowing across the reload.
  EXPECT_EQ(d.Post(TicketJson("1", "Charged twice", "I was charged twice", "c1"), "r1")->status,
            202);
  ASSERT_TRUE(WaitFor(
      [&] { return GetTicket(d, "1").classification().category_id() == "billing-charge"; }));
  EXPECT_EQ(d.Terminate(), 0);

  // A model with a category the taxonomy lacks is refused at start, naming it.
  {
    std::ofstream f(dir.file("c.csv"));
    f << "text,category\nhello there,greetings\nfine thanks,greetings\nbye now,farewells\n";
  }
  ASSERT_EQ(RunCommand(absl::StrCat(DEBRIEFCTL_PATH, " train --data ", dir.file("c.csv"), " --out ",
                                    dir.file("model.bin")),
                       &out),
            0)
      << out;
  EXPECT_FALSE(d.Start(&out));
  EXPECT_NE(out.find("greetings"), std::string::npos) << out;
}

TEST(Debriefd, TheShippedSamplesReplayThroughDebriefctl) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  std::string replay =
      absl::StrCat("DEBRIEF_IT_SECRET=", kWebhookSecret, " ", DEBRIEFCTL_PATH, CtlTlsFlags(),
                   " replay --config ", dir.file("debrief.yaml"), " --helpdesk support --url ",
                   d.base_url(), "/webhooks/support ", DEBRIEF_SOURCE_DIR, "/deploy/samples");
  ASSERT_EQ(RunCommand(replay, &out), 0) << out;
  auto summary = nlohmann::json::parse(out);
  EXPECT_EQ(summary["accepted"], 36);
  std::string list = absl::StrCat(d.ctl(), " tasks list");
  ASSERT_TRUE(WaitFor([&] {
    if (RunCommand(list, &out) != 0) return false;
    auto tasks = nlohmann::json::parse(out, nullptr, false);
    if (tasks.is_discarded() || !tasks.contains("tasks") || tasks["tasks"].size() < 6) return false;
    for (const auto& t : tasks["tasks"])
      if (!t.contains("external_key")) return false;
    return true;
  })) << out;
  // Replaying the same deliveries again changes nothing: each is a duplicate.
  ASSERT_EQ(RunCommand(replay, &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["duplicate"], 36);
  std::string show = absl::StrCat(d.ctl(), " tickets show support 1021");
  ASSERT_EQ(RunCommand(show, &out), 0) << out;
  auto ticket = nlohmann::json::parse(out);
  EXPECT_EQ(ticket["classification"]["category_id"], "praise-agent");
  // For a person (-o table, as on a terminal): a table of the tasks, the ticket in words.
  ASSERT_EQ(RunCommand(list + " -o table", &out), 0) << out;
  std::vector<std::string> rows = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(rows.empty());
  EXPECT_TRUE(absl::StartsWith(rows[0], "ID  CAUSE ")) << out;
  EXPECT_THAT(rows[0], ::testing::HasSubstr("TICKETS  CUSTOMERS"));
  EXPECT_GE(rows.size(), 7u) << out;
  EXPECT_THAT(out, ::testing::HasSubstr(" open ")) << out;
  ASSERT_EQ(RunCommand(show + " -o table", &out), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("Ticket support/1021: "));
  EXPECT_THAT(out, ::testing::ContainsRegex("cause: +praise-agent \\([0-9]+% confident\\)"));
  EXPECT_THAT(out, ::testing::HasSubstr("because:"));
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("\"feature\"")));
  // On a terminal (a pty from script(1)): a table by default, in colour unless NO_COLOR is set;
  // through a pipe, JSON.
  const std::string tty = absl::StrCat("TERM=xterm script -qec '", list, "' /dev/null");
  ASSERT_EQ(RunCommand(tty, &out), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("\x1b[1mID\x1b[0m  \x1b[1mCAUSE"))
      << "colour on a terminal";
  EXPECT_THAT(out, ::testing::HasSubstr(" login-access ")) << out;
  ASSERT_EQ(RunCommand("NO_COLOR=1 " + tty, &out), 0) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("ID  CAUSE ")) << out;
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("\x1b["))) << "NO_COLOR: none";
  ASSERT_EQ(RunCommand(list + " -o table", &out), 0) << out;
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr("\x1b["))) << "none through a pipe";
  ASSERT_EQ(RunCommand(list + " -o wide", &out), 0) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex("FIRST TICKET +WEEKLY +URL")) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("0 0 0 0 0 0 0 4")) << "this week's tickets, last";
  ASSERT_EQ(RunCommand(list + " -o yaml", &out), 0) << out;
  EXPECT_TRUE(absl::StartsWith(out, "tasks:\n  - id: ")) << out;
  // What waits for an agent's review, newest first.
  const std::string review = absl::StrCat(d.ctl(), " review --limit 5");
  ASSERT_EQ(RunCommand(review, &out), 0) << out;
  auto waiting = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(waiting.is_discarded()) << out;
  if (waiting.contains("tickets")) {
    EXPECT_LE(waiting["tickets"].size(), 5u);
    for (const auto& t : waiting["tickets"])
      EXPECT_EQ(t["classification"]["needs_review"], true) << out;
  }
  ASSERT_EQ(RunCommand(review + " -o table", &out), 0) << out;
  EXPECT_TRUE(absl::StartsWith(out, "TICKET ") || out == "Nothing waits for review.\n") << out;
  // Exit codes scripts tell apart: 3 not found, 4 debriefd not reached.
  EXPECT_EQ(WEXITSTATUS(RunCommand(show + "-nope -o table", &out)), 3) << out;
  EXPECT_EQ(WEXITSTATUS(RunCommand(
                absl::StrCat(DEBRIEFCTL_PATH, " --server 127.0.0.1:1 tasks list"), &out)),
            4)
      << out;
  EXPECT_THAT(out, ::testing::HasSubstr("could not reach debriefd"));
  EXPECT_NE(RunCommand(absl::StrCat(d.ctl(), " tickets show support nope"), &out), 0);
}

TEST(Debriefd, TrainsFromTicketsAlreadyTaggedInTheHelpdesk) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  // The helpdesk's own tags carry the root cause agents chose there.
  for (int i = 0; i < 6; ++i) {
    nlohmann::json j = {{"event", "ticket.created"},
                        {"ticket",
                         {{"id", absl::StrCat("t", i)},
                          {"subject", i % 2 ? "Zorblax wobble" : "Qwibble stuck"},
                          {"description", i % 2 ? "the zorblax wobbles" : "my qwibble is stuck"},
                          {"tags", {i % 2 ? "app-crash" : "damaged-item", "vip"}}}}};
    ASSERT_EQ(d.Post(j.dump(), absl::StrCat("tag", i))->status, 202);
  }
  ASSERT_TRUE(WaitFor([&] { return GetTicket(d, "t5").has_classification(); }));
  EXPECT_EQ(d.Terminate(), 0);
  std::string tax = absl::StrCat(DEBRIEF_SOURCE_DIR, "/deploy/taxonomy/default.yaml");
  ASSERT_EQ(RunCommand(absl::StrCat(DEBRIEFCTL_PATH, " train --store ", dir.file("debrief.db"),
                                    " --taxonomy ", tax, " --out ", dir.file("m.bin")),
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("6 labelled tickets"), std::string::npos) << out;
  ASSERT_EQ(RunCommand(absl::StrCat(DEBRIEFCTL_PATH, " classify --model ", dir.file("m.bin"),
                                    " \"the zorblax wobbles again\""),
                       &out),
            0)
      << out;
  EXPECT_EQ(nlohmann::json::parse(out)["classification"]["category_id"], "app-crash") << out;
}

// The rows of `table` on each side in migrate's verification table ("tickets  30  30"), or
// {-1, -1} when the table is not there.
using Rows = std::pair<int64_t, int64_t>;
Rows Verified(const std::string& out, const std::string& table) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t a = 0, b = 0;
    if (words.size() == 3 && words[0] == table && absl::SimpleAtoi(words[1], &a) &&
        absl::SimpleAtoi(words[2], &b))
      return {a, b};
  }
  return {-1, -1};
}

// A team moves from SQLite to PostgreSQL: debriefctl migrate copies the stopped debriefd's
// store, says the two agree, does nothing more when run again, and debriefd on PostgreSQL then
// serves the same tickets and tasks under the same ids, as the same installation.
TEST(Debriefd, MigrateMovesTheSqliteStoreToPostgresqlAndCanRunAgain) {
  TempDir dir;
  auto conninfo = FreshPostgresDatabase("migrate");
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  const char* texts[][2] = {
      {"Charged twice", "I was charged twice for my subscription"},
      {"Cannot log in", "I cannot log in, the password reset email never arrives"},
      {"Where is my order", "my order has not arrived and tracking has not updated"},
      {"App crashes", "the app crashes when I open it"},
      {"Thanks", "Your support team is amazing, thank you so much"},
  };
  constexpr int kTickets = 30;
  std::string out;
  std::vector<v1::ImprovementTask> tasks;
  std::map<std::string, v1::GetTicketResponse> tickets;
  {
    Debriefd d(dir.path());
    ASSERT_TRUE(d.Start(&out)) << out;
    for (int i = 0; i < kTickets; ++i) {
      const auto* text = texts[i % 5];
      ASSERT_EQ(
          d.Post(TicketJson(absl::StrCat("m", i), text[0], text[1], absl::StrCat("cust-", i % 7)),
                 absl::StrCat("del-m", i))
              ->status,
          202);
    }
    ASSERT_TRUE(WaitFor(
        [&] {
          for (int i = 0; i < kTickets; ++i)
            if (!GetTicket(d, absl::StrCat("m", i)).has_classification()) return false;
          auto t = ListTasks(d);
          if (t.size() < 3) return false;
          for (const auto& task : t)
            if (task.external_id().empty()) return false;
          return true;
        },
        absl::Seconds(60)));
    tasks = ListTasks(d);
    for (int i = 0; i < kTickets; ++i)
      tickets[absl::StrCat("m", i)] = GetTicket(d, absl::StrCat("m", i));
    EXPECT_EQ(d.Terminate(), 0);
  }

  std::ofstream(dir.file("pg.yaml")) << OnPostgres(IntegrationConfig(dir.path()), *conninfo);
  const std::string migrate =
      absl::StrCat("DEBRIEF_IT_SECRET=", kWebhookSecret, " ", DEBRIEFCTL_PATH, " migrate --from ",
                   dir.file("debrief.yaml"), " --to ", dir.file("pg.yaml"));
  // The wrong way round is refused, saying why.
  EXPECT_NE(RunCommand(absl::StrCat("DEBRIEF_IT_SECRET=", kWebhookSecret, " ", DEBRIEFCTL_PATH,
                                    " migrate --from ", dir.file("pg.yaml"), " --to ",
                                    dir.file("debrief.yaml")),
                       &out),
            0);
  EXPECT_TRUE(absl::StrContains(out, "copies from SQLite")) << out;

  ASSERT_EQ(RunCommand(migrate, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "verified")) << out;
  EXPECT_EQ(Verified(out, "tickets"), Rows(kTickets, kTickets)) << out;
  const auto n = static_cast<int64_t>(tasks.size());
  EXPECT_EQ(Verified(out, "tasks"), Rows(n, n)) << out;
  EXPECT_EQ(Verified(out, "deliveries"), Rows(kTickets, kTickets)) << out;
  const auto links = Verified(out, "task_links");
  EXPECT_GT(links.first, 0) << out;
  EXPECT_EQ(links.first, links.second) << out;
  const auto outbox = Verified(out, "outbox");
  EXPECT_GT(outbox.first, 0) << out;
  EXPECT_EQ(outbox.first, outbox.second) << out;
  EXPECT_EQ(Verified(out, "task_counts"), Rows(n, n)) << out;

  // Again, as after an interruption, with the source changed in between (a debriefd started
  // meanwhile): nothing twice, and the rows already copied take the source's values.
  {
    auto src = sqlite::OpenConnection(dir.file("debrief.db"), /*read_only=*/false);
    ASSERT_TRUE(src.ok()) << src.status();
    EXPECT_TRUE(sqlite::Exec(*src,
                             "UPDATE tasks SET title = 'Renamed meanwhile' "
                             "WHERE id = (SELECT MIN(id) FROM tasks)")
                    .ok());
    sqlite3_close(*src);
  }
  ASSERT_EQ(RunCommand(migrate, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "tickets: 30/30 rows")) << out;
  EXPECT_TRUE(absl::StrContains(out, "deliveries: 30/30 rows")) << out;
  EXPECT_EQ(Verified(out, "tickets"), Rows(kTickets, kTickets)) << out;
  EXPECT_EQ(Verified(out, "task_links"), links) << out;
  EXPECT_EQ(Verified(out, "task_counts"), Rows(n, n)) << out;
  {
    auto pgc = pg::Conn::Open(*conninfo);
    ASSERT_TRUE(pgc.ok()) << pgc.status();
    pg::Stmt q(pgc->get(), "SELECT title FROM tasks ORDER BY id LIMIT 1");
    auto row = q.Step();
    ASSERT_TRUE(row.ok() && *row) << row.status();
    EXPECT_EQ(q.Text(0), "Renamed meanwhile");
  }

  // The same installation: markers in the tracker still name this Debrief.
  auto db = sqlite::OpenConnection(dir.file("debrief.db"), /*read_only=*/true);
  ASSERT_TRUE(db.ok()) << db.status();
  std::string sqlite_id;
  {
    sqlite::Stmt q(*db, "SELECT value FROM cursors WHERE name = 'installation'");
    ASSERT_TRUE(*q.Step());
    sqlite_id = q.Text(0);
  }
  sqlite3_close(*db);
  auto pgc = pg::Conn::Open(*conninfo);
  ASSERT_TRUE(pgc.ok()) << pgc.status();
  {
    pg::Stmt q(pgc->get(), "SELECT value FROM cursors WHERE name = 'installation'");
    auto row = q.Step();
    ASSERT_TRUE(row.ok() && *row) << row.status();
    EXPECT_EQ(q.Text(0), sqlite_id);
    EXPECT_EQ(sqlite_id.size(), 32u);
  }
  // Into a database holding another installation's tickets it refuses to copy.
  const std::string other = "UPDATE cursors SET value = 'other' WHERE name = 'installation'";
  ASSERT_TRUE(pg::Stmt(pgc->get(), other).Exec().ok());
  EXPECT_NE(RunCommand(migrate, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "another installation")) << out;
  EXPECT_EQ(Verified(out, "tickets"), Rows(-1, -1)) << out;
  ASSERT_TRUE(pg::Stmt(pgc->get(), "UPDATE cursors SET value = ? WHERE name = 'installation'")
                  .Bind(sqlite_id)
                  .Exec()
                  .ok());

  // debriefd on PostgreSQL serves what it served on SQLite, under the same ids.
  Debriefd p(dir.path(), RawConfig{OnPostgres(IntegrationConfig(dir.path()), *conninfo)});
  ASSERT_TRUE(p.Start(&out)) << out;
  auto moved = ListTasks(p);
  ASSERT_EQ(moved.size(), tasks.size());
  std::map<int64_t, v1::ImprovementTask> by_id;
  for (const auto& t : moved) by_id[t.id()] = t;
  for (const auto& t : tasks) {
    ASSERT_TRUE(by_id.count(t.id())) << t.id();
    EXPECT_EQ(by_id[t.id()].category_id(), t.category_id());
    EXPECT_EQ(by_id[t.id()].external_id(), t.external_id());
    EXPECT_EQ(by_id[t.id()].ticket_count(), t.ticket_count());
    EXPECT_EQ(by_id[t.id()].customer_count(), t.customer_count());
  }
  for (const auto& [id, before] : tickets) {
    auto after = GetTicket(p, id);
    EXPECT_EQ(after.classification().category_id(), before.classification().category_id()) << id;
    EXPECT_EQ(after.ticket().subject(), before.ticket().subject()) << id;
    EXPECT_EQ(after.link().task_id(), before.link().task_id()) << id;
  }
  // New work after the move takes new ids: no clash with a copied one.
  ASSERT_EQ(
      p.Post(TicketJson("after", "Charged twice", "charged twice again", "cust-new"), "del-after")
          ->status,
      202);
  ASSERT_TRUE(WaitFor([&] { return GetTicket(p, "after").has_classification(); }));
}

TEST(Debriefd, RefusesABadConfigWithAClearMessage) {
  TempDir dir;
  std::ofstream(dir.file("debrief.yaml")) << "http: {listne: x}\n";
  std::string cmd = absl::StrCat(DEBRIEFD_PATH, " --config ", dir.file("debrief.yaml"), " 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  char buf[1024] = {0};
  size_t n = fread(buf, 1, sizeof(buf) - 1, p);
  int rc = pclose(p);
  EXPECT_NE(rc, 0);
  EXPECT_NE(std::string(buf, n).find("unknown key http.listne"), std::string::npos) << buf;
}

}  // namespace
}  // namespace debrief::testing
