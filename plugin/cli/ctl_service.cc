// The commands that talk to a running debriefd over gRPC.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/time_util.h"
#include "classify/learned_classifier.h"
#include "cli/ctl.h"
#include "debrief/spi/clock.h"
#include "debrief/v1/services.grpc.pb.h"

namespace debrief::cli {
namespace {

// What the commands below read from the command line.
struct Args {
  std::string helpdesk_id, ticket_id, category, agent, text, model_path;
  int64_t task_id = 0;
  std::string tracker_id, external_id, status_name;
  uint32_t min_size = 2;
  int64_t emerging_id = 0;
  std::string new_id, new_name, new_kind = "complaint", new_description;
  std::string adapter_id;
  int dead_limit = 100;
  std::string review_order = "worth";
  int64_t seq = 0;
  bool all = false;
  bool dry_run = false;
  int days = 30;
  int64_t action_id = 0;
  int64_t before_id = 0;
  std::string actor;
  std::string since;
  std::string token_name, token_role = "agent";
  bool token_installation = false;
  int64_t token_id = 0;
  std::string person, into;
};

// A person as named on the command line: an e-mail address, or HELPDESK/TICKET for the
// requester of that ticket.
absl::StatusOr<v1::PersonRef> PersonOf(const std::string& arg) {
  v1::PersonRef p;
  if (arg.find('@') != std::string::npos) {
    p.set_email(arg);
    return p;
  }
  const size_t slash = arg.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == arg.size())
    return absl::InvalidArgumentError(
        absl::StrCat("\"", arg, "\": give an e-mail address or HELPDESK/TICKET"));
  p.mutable_ticket()->set_helpdesk_id(arg.substr(0, slash));
  p.mutable_ticket()->set_ticket_id(arg.substr(slash + 1));
  return p;
}

v1::TicketRef Ref(const Args& a) {
  v1::TicketRef r;
  r.set_helpdesk_id(a.helpdesk_id);
  r.set_ticket_id(a.ticket_id);
  return r;
}

// Streams Admin.Backfill, drawing a progress bar on a terminal (a line per update otherwise).
int Backfill(const Ctl& ctl, const std::string& helpdesk, const std::string& since_text) {
  absl::Time since;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d", since_text, absl::UTCTimeZone(), &since, &err) &&
      !absl::ParseTime(absl::RFC3339_full, since_text, &since, &err))
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--since: \"", since_text, "\" is not a date (YYYY-MM-DD)")));
  auto stub = v1::Admin::NewStub(ctl.Channel());
  v1::BackfillRequest req;
  req.set_helpdesk_id(helpdesk);
  base::SetTimestamp(req.mutable_since(), since);
  grpc::ClientContext ctx;
  auto reader = stub->Backfill(&ctx, req);
  const bool tty = isatty(STDERR_FILENO) != 0;
  v1::BackfillProgress p;
  const absl::Time start = absl::Now();
  while (reader->Read(&p)) {
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::string line;
    if (p.total() > 0) {
      const double frac = std::min(1.0, static_cast<double>(p.listed()) / p.total());
      const int width = 30, filled = static_cast<int>(frac * width);
      line = absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '.'), "] ",
                          p.listed(), "/", p.total());
    } else {
      line = absl::StrCat(p.listed(), " tickets");
    }
    absl::StrAppend(&line, " listed, ", p.stored(), " new, page ", p.pages(), ", ",
                    static_cast<int64_t>(secs > 0 ? p.listed() / secs : 0), "/s");
    if (tty)
      std::cerr << "\r" << line << "   " << std::flush;
    else
      std::cerr << line << "\n";
  }
  if (tty) std::cerr << "\n";
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s);
  nlohmann::json j = {{"helpdesk", helpdesk},
                      {"listed", p.listed()},
                      {"stored", p.stored()},
                      {"pages", p.pages()},
                      {"done", p.done()}};
  std::cout << j.dump() << "\n";
  return p.done() ? 0 : 1;
}

void AddTicketAndTaskCommands(CLI::App& app, Ctl& ctl, const std::shared_ptr<Args>& a) {
  auto* tickets = app.add_subcommand("tickets", "tickets Debrief has seen")->require_subcommand(1);
  auto* tshow = tickets->add_subcommand("show", "a ticket with its classification and task");
  tshow->add_option("helpdesk_id", a->helpdesk_id)->required();
  tshow->add_option("ticket_id", a->ticket_id)->required();
  tshow->callback([a, &ctl] {
    v1::GetTicketRequest r;
    *r.mutable_ticket() = Ref(*a);
    ctl.rc = Call(&v1::Tickets::Stub::GetTicket, *v1::Tickets::NewStub(ctl.Channel()), r);
  });

  auto* tasks = app.add_subcommand("tasks", "improvement tasks")->require_subcommand(1);
  auto* tlist = tasks->add_subcommand("list", "all tasks");
  tlist->add_option("--category", a->category, "only this category");
  tlist->callback([a, &ctl] {
    v1::ListTasksRequest r;
    r.set_category_id(a->category);
    ctl.rc = Call(&v1::Improvements::Stub::ListTasks, *v1::Improvements::NewStub(ctl.Channel()), r);
  });
  auto* tget = tasks->add_subcommand("show", "a task with its linked tickets");
  tget->add_option("task_id", a->task_id)->required();
  tget->callback([a, &ctl] {
    v1::GetTaskRequest r;
    r.set_task_id(a->task_id);
    ctl.rc = Call(&v1::Improvements::Stub::GetTask, *v1::Improvements::NewStub(ctl.Channel()), r);
  });
  auto* tlink = tasks->add_subcommand("link", "link a ticket to a task (an agent's decision)");
  tlink->add_option("helpdesk_id", a->helpdesk_id)->required();
  tlink->add_option("ticket_id", a->ticket_id)->required();
  tlink->add_option("task_id", a->task_id)->required();
  tlink->callback([a, &ctl] {
    v1::LinkTicketRequest r;
    *r.mutable_ticket() = Ref(*a);
    r.set_task_id(a->task_id);
    ctl.rc =
        Call(&v1::Improvements::Stub::LinkTicket, *v1::Improvements::NewStub(ctl.Channel()), r);
  });
  auto* tunlink = tasks->add_subcommand("unlink", "unlink a ticket from its task");
  tunlink->add_option("helpdesk_id", a->helpdesk_id)->required();
  tunlink->add_option("ticket_id", a->ticket_id)->required();
  tunlink->callback([a, &ctl] {
    v1::UnlinkTicketRequest r;
    *r.mutable_ticket() = Ref(*a);
    ctl.rc =
        Call(&v1::Improvements::Stub::UnlinkTicket, *v1::Improvements::NewStub(ctl.Channel()), r);
  });
  auto* trequest = tasks->add_subcommand(
      "request", "ask for a task for this ticket now (links to the category's open task if any)");
  trequest->add_option("helpdesk_id", a->helpdesk_id)->required();
  trequest->add_option("ticket_id", a->ticket_id)->required();
  trequest->add_option("--category", a->category, "default: the ticket's category");
  trequest->callback([a, &ctl] {
    v1::RequestTaskRequest r;
    *r.mutable_ticket() = Ref(*a);
    r.set_category_id(a->category);
    ctl.rc =
        Call(&v1::Improvements::Stub::RequestTask, *v1::Improvements::NewStub(ctl.Channel()), r);
  });

  // A tracker whose tasks Debrief holds (the builtin one) is worked here, as a team would work
  // an issue in its tracker: debriefd notices a status change at its next status poll
  // (loop.status_poll_interval) and closes the loop.
  auto* tracker =
      app.add_subcommand("tracker", "work the tasks of the builtin tracker")->require_subcommand(1);
  tracker->add_option("--tracker", a->tracker_id,
                      "the tracker's id (default: the default tracker)");
  auto* trshow = tracker->add_subcommand("show", "a task as the tracker holds it");
  trshow->add_option("external_id", a->external_id)->required();
  trshow->callback([a, &ctl] {
    v1::ShowTrackerTaskRequest r;
    r.set_tracker_id(a->tracker_id);
    r.set_external_id(a->external_id);
    ctl.rc = Call(&v1::Admin::Stub::ShowTrackerTask, *v1::Admin::NewStub(ctl.Channel()), r);
  });
  auto* trset = tracker->add_subcommand("set-status",
                                        "move a task: open, in-progress, done, shipped, wont-do");
  trset->add_option("external_id", a->external_id)->required();
  trset->add_option("status", a->status_name)
      ->required()
      ->check(CLI::IsMember({"open", "in-progress", "done", "shipped", "wont-do"}));
  trset->callback([a, &ctl] {
    v1::SetTrackerTaskStatusRequest r;
    r.set_tracker_id(a->tracker_id);
    r.set_external_id(a->external_id);
    r.set_status(a->status_name == "open"          ? v1::TASK_OPEN
                 : a->status_name == "in-progress" ? v1::TASK_IN_PROGRESS
                 : a->status_name == "done"        ? v1::TASK_DONE
                 : a->status_name == "shipped"     ? v1::TASK_SHIPPED
                                                   : v1::TASK_WONT_DO);
    ctl.rc = Call(&v1::Admin::Stub::SetTrackerTaskStatus, *v1::Admin::NewStub(ctl.Channel()), r);
  });
}

void AddTaggingCommands(CLI::App& app, Ctl& ctl, const std::shared_ptr<Args>& a) {
  auto* classify =
      app.add_subcommand("classify", "classify a text (the running debriefd, or --model)");
  classify->add_option("text", a->text)->required();
  classify->add_option("--model", a->model_path, "a model file: classify locally");
  classify->callback([a, &ctl] {
    if (!a->model_path.empty()) {
      auto m = classify::LearnedClassifier::Load(a->model_path, spi::SystemClock::Get());
      if (!m.ok()) {
        ctl.rc = Fail(m.status());
        return;
      }
      v1::Ticket t;
      t.set_body(a->text);
      v1::ClassifyResponse r;
      *r.mutable_classification() = (*m)->Classify(t);
      ctl.rc = Print(r);
      return;
    }
    v1::ClassifyRequest r;
    r.set_text(a->text);
    ctl.rc = Call(&v1::Tagging::Stub::Classify, *v1::Tagging::NewStub(ctl.Channel()), r);
  });

  auto* feedback =
      app.add_subcommand("feedback", "correct a ticket's root cause (teaches the model)");
  feedback->add_option("helpdesk_id", a->helpdesk_id)->required();
  feedback->add_option("ticket_id", a->ticket_id)->required();
  feedback->add_option("category_id", a->category)->required();
  feedback->add_option("--agent", a->agent, "who made the correction");
  feedback->callback([a, &ctl] {
    v1::FeedbackRequest r;
    *r.mutable_ticket() = Ref(*a);
    r.set_category_id(a->category);
    r.set_agent(a->agent);
    ctl.rc = Call(&v1::Tagging::Stub::Feedback, *v1::Tagging::NewStub(ctl.Channel()), r);
  });

  auto* emerging = app.add_subcommand("emerging", "tickets no category explains, grouped")
                       ->require_subcommand(1);
  auto* elist = emerging->add_subcommand("list", "emerging issues, largest first");
  elist->add_option("--min-size", a->min_size, "smallest group to show (default 2)");
  elist->callback([a, &ctl] {
    v1::ListEmergingRequest r;
    r.set_min_size(a->min_size);
    ctl.rc = Call(&v1::Tagging::Stub::ListEmerging, *v1::Tagging::NewStub(ctl.Channel()), r);
  });
  auto* epromote = emerging->add_subcommand("promote", "make an emerging issue a category");
  epromote->add_option("emerging_id", a->emerging_id)->required();
  epromote->add_option("--id", a->new_id, "the new category's id (a slug)")->required();
  epromote->add_option("--name", a->new_name, "its name")->required();
  epromote->add_option("--kind", a->new_kind, "complaint, praise, suggestion or question");
  epromote->add_option("--description", a->new_description, "what it covers");
  epromote->callback([a, &ctl] {
    v1::CategoryKind kind;
    std::string upper = a->new_kind;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!v1::CategoryKind_Parse(upper, &kind) || kind == v1::CATEGORY_KIND_UNSPECIFIED) {
      ctl.rc =
          Fail(absl::InvalidArgumentError("--kind: complaint, praise, suggestion or question"));
      return;
    }
    v1::PromoteEmergingRequest r;
    r.set_emerging_id(a->emerging_id);
    r.set_category_id(a->new_id);
    r.set_name(a->new_name);
    r.set_kind(kind);
    r.set_description(a->new_description);
    ctl.rc = Call(&v1::Tagging::Stub::PromoteEmerging, *v1::Tagging::NewStub(ctl.Channel()), r);
  });
}

void AddAdminCommands(CLI::App& app, Ctl& ctl, const std::shared_ptr<Args>& a) {
  auto* review = app.add_subcommand(
      "review",
      "tickets waiting for an agent's review (no confident cause), the answers worth most first");
  review->add_option("--limit", a->dead_limit, "at most this many (default 100)");
  review->add_option("--helpdesk", a->helpdesk_id, "only this helpdesk's");
  review->add_option("--days", a->days, "first seen in the last this many days (default 30)");
  review
      ->add_option("--order", a->review_order,
                   "worth (default: how unsure the classifier is between the two best causes) "
                   "or newest")
      ->check(CLI::IsMember({"worth", "newest"}));
  review->callback([a, &ctl] {
    v1::ListReviewRequest r;
    r.set_limit(a->dead_limit);
    r.set_helpdesk_id(a->helpdesk_id);
    r.set_days(a->days);
    r.set_order(a->review_order);
    ctl.rc = Call(&v1::Tagging::Stub::ListReview, *v1::Tagging::NewStub(ctl.Channel()), r);
  });

  auto* adapters =
      app.add_subcommand("adapters", "configured helpdesks and trackers")->require_subcommand(1);
  adapters->add_subcommand("list", "all adapters")->callback([&ctl] {
    ctl.rc = Call(&v1::Admin::Stub::ListAdapters, *v1::Admin::NewStub(ctl.Channel()),
                  v1::ListAdaptersRequest());
  });
  auto* acheck = adapters->add_subcommand("check", "check an adapter's configuration and reach");
  acheck->add_option("id", a->adapter_id)->required();
  acheck->callback([a, &ctl] {
    v1::CheckAdapterRequest r;
    r.set_id(a->adapter_id);
    ctl.rc = Call(&v1::Admin::Stub::CheckAdapter, *v1::Admin::NewStub(ctl.Channel()), r);
  });
  AddAdapterCommands(*adapters, ctl);

  auto* deliveries = app.add_subcommand("deliveries", "webhook deliveries the pipeline gave up on")
                         ->require_subcommand(1);
  auto* dlist = deliveries->add_subcommand("list", "dead letters with their errors, newest first");
  dlist->add_option("--limit", a->dead_limit, "at most this many (default 100)");
  dlist->callback([a, &ctl] {
    v1::ListDeadLettersRequest r;
    r.set_limit(a->dead_limit);
    ctl.rc = Call(&v1::Admin::Stub::ListDeadLetters, *v1::Admin::NewStub(ctl.Channel()), r);
  });
  auto* dreplay =
      deliveries->add_subcommand("replay", "process a dead letter again, once its cause is fixed");
  dreplay->add_option("seq", a->seq, "the delivery's seq (from deliveries list)")->required();
  dreplay->callback([a, &ctl] {
    v1::ReplayDeliveryRequest r;
    r.set_seq(a->seq);
    ctl.rc = Call(&v1::Admin::Stub::ReplayDelivery, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* ddiscard = deliveries->add_subcommand(
      "discard", "give up on a dead letter (or --all): kept in the inbox, never processed");
  ddiscard->add_option("seq", a->seq, "the delivery's seq (from deliveries list)");
  ddiscard->add_flag("--all", a->all, "every dead letter");
  ddiscard->callback([a, &ctl] {
    if ((a->seq > 0) == a->all) {
      ctl.rc = Fail(absl::InvalidArgumentError("give a seq or --all"));
      return;
    }
    v1::DiscardDeliveryRequest r;
    r.set_seq(a->seq);
    r.set_all(a->all);
    ctl.rc = Call(&v1::Admin::Stub::DiscardDelivery, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* actions =
      app.add_subcommand("actions", "outbox actions a helpdesk or tracker refused for good")
          ->require_subcommand(1);
  auto* alist = actions->add_subcommand("list", "failed actions with their errors, newest first");
  alist->add_option("--limit", a->dead_limit, "at most this many (default 100)");
  alist->callback([a, &ctl] {
    v1::ListDeadActionsRequest r;
    r.set_limit(a->dead_limit);
    ctl.rc = Call(&v1::Admin::Stub::ListDeadActions, *v1::Admin::NewStub(ctl.Channel()), r);
  });
  auto* aretry = actions->add_subcommand(
      "retry", "put a failed action (or --all) back in the outbox, once its cause is fixed");
  aretry->add_option("id", a->action_id, "the action's id (from actions list)");
  aretry->add_flag("--all", a->all, "every failed action");
  aretry->callback([a, &ctl] {
    if ((a->action_id > 0) == a->all) {
      ctl.rc = Fail(absl::InvalidArgumentError("give an action id or --all"));
      return;
    }
    v1::RetryDeadActionRequest r;
    r.set_id(a->action_id);
    r.set_all(a->all);
    ctl.rc = Call(&v1::Admin::Stub::RetryDeadAction, *v1::Admin::NewStub(ctl.Channel()), r);
  });
  auto* adiscard = actions->add_subcommand(
      "discard", "give up on a failed action (or --all): never carried out");
  adiscard->add_option("id", a->action_id, "the action's id (from actions list)");
  adiscard->add_flag("--all", a->all, "every failed action");
  adiscard->callback([a, &ctl] {
    if ((a->action_id > 0) == a->all) {
      ctl.rc = Fail(absl::InvalidArgumentError("give an action id or --all"));
      return;
    }
    v1::DiscardDeadActionRequest r;
    r.set_id(a->action_id);
    r.set_all(a->all);
    ctl.rc = Call(&v1::Admin::Stub::DiscardDeadAction, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* reload = app.add_subcommand(
      "reload",
      "read debriefd's configuration file again and apply it without a restart (like SIGHUP); "
      "prints what changed");
  reload->add_flag("--dry-run", a->dry_run, "only validate the file and list the changes");
  reload->callback([a, &ctl] {
    v1::ReloadRequest r;
    r.set_dry_run(a->dry_run);
    v1::ReloadResponse res;
    grpc::ClientContext cc;
    // Making the new adapters and classifier may take longer than a read.
    cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    grpc::Status st = v1::Admin::NewStub(ctl.Channel())->Reload(&cc, r, &res);
    if (!st.ok()) {
      ctl.rc = Fail(st);
      return;
    }
    Print(res);
    // A reload that applies nothing because a restart is needed is not a success.
    ctl.rc = res.restart_needed().empty() ? 0 : 1;
  });

  auto* audit = app.add_subcommand(
      "audit", "who changed what, when (feedback, links, retries, tokens, ...), newest first");
  audit->add_option("--limit", a->dead_limit, "at most this many (default 100)");
  audit->add_option("--actor", a->actor, "only this actor's (a token's name, debriefctl:USER)");
  audit->add_option("--before", a->before_id, "entries older than this id (the next page)");
  audit->callback([a, &ctl] {
    v1::ListAuditRequest r;
    r.set_limit(a->dead_limit);
    r.set_actor(a->actor);
    r.set_before_id(a->before_id);
    ctl.rc = Call(&v1::Admin::Stub::ListAudit, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* tokens = app.add_subcommand("tokens",
                                    "API tokens for people and tools (the JSON API, "
                                    "the panel's sign-in)")
                     ->require_subcommand(1);
  auto* tcreate = tokens->add_subcommand(
      "create", "make a token; its secret is printed this once and kept only as a hash");
  tcreate->add_option("name", a->token_name, "who or what will hold it")->required();
  tcreate->add_option("--role", a->token_role, "agent (default), lead or admin")
      ->check(CLI::IsMember({"agent", "lead", "admin"}));
  tcreate->add_option("--helpdesk", a->helpdesk_id,
                      "an agent token for this helpdesk's tickets only");
  tcreate->add_flag("--installation", a->token_installation,
                    "for a helpdesk app's installation, not a person (a helpdesk app whose "
                    "platform signs no agent): reading, "
                    "correcting and linking only");
  tcreate->callback([a, &ctl] {
    v1::CreateApiTokenRequest r;
    r.set_name(a->token_name);
    r.set_role(a->token_role);
    r.set_helpdesk_id(a->helpdesk_id);
    r.set_installation(a->token_installation);
    ctl.rc = Call(&v1::Admin::Stub::CreateApiToken, *v1::Admin::NewStub(ctl.Channel()), r);
  });
  tokens->add_subcommand("list", "every token, revoked ones too (never their secrets)")
      ->callback([&ctl] {
        ctl.rc = Call(&v1::Admin::Stub::ListApiTokens, *v1::Admin::NewStub(ctl.Channel()),
                      v1::ListApiTokensRequest());
      });
  auto* trevoke = tokens->add_subcommand("revoke", "refuse a token from now on");
  trevoke->add_option("id", a->token_id, "the token's id (from tokens list)")->required();
  trevoke->callback([a, &ctl] {
    v1::RevokeApiTokenRequest r;
    r.set_id(a->token_id);
    ctl.rc = Call(&v1::Admin::Stub::RevokeApiToken, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* people = app.add_subcommand("people",
                                    "one person under several identities: the journey joins "
                                    "them (a person is an e-mail address or HELPDESK/TICKET)")
                     ->require_subcommand(1);
  auto* pmerge = people->add_subcommand("merge", "make PERSON and INTO one person");
  pmerge->add_option("person", a->person, "e-mail address or HELPDESK/TICKET")->required();
  pmerge->add_option("into", a->into, "e-mail address or HELPDESK/TICKET")->required();
  pmerge->callback([a, &ctl] {
    auto person = PersonOf(a->person);
    auto into = PersonOf(a->into);
    if (!person.ok() || !into.ok()) {
      ctl.rc = Fail(!person.ok() ? person.status() : into.status());
      return;
    }
    v1::MergePeopleRequest r;
    *r.mutable_person() = *person;
    *r.mutable_into() = *into;
    ctl.rc = Call(&v1::Admin::Stub::MergePeople, *v1::Admin::NewStub(ctl.Channel()), r);
  });
  auto* psplit = people->add_subcommand(
      "split", "take PERSON out of the person it was merged into (the others stay together)");
  psplit->add_option("person", a->person, "e-mail address or HELPDESK/TICKET")->required();
  psplit->callback([a, &ctl] {
    auto person = PersonOf(a->person);
    if (!person.ok()) {
      ctl.rc = Fail(person.status());
      return;
    }
    v1::SplitPersonRequest r;
    *r.mutable_person() = *person;
    ctl.rc = Call(&v1::Admin::Stub::SplitPerson, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* backfill = app.add_subcommand(
      "backfill", "import a helpdesk's tickets updated since a date (resumable)");
  backfill->add_option("helpdesk_id", a->helpdesk_id)->required();
  backfill->add_option("--since", a->since, "first date to import, YYYY-MM-DD (UTC)")->required();
  backfill->callback([a, &ctl] { ctl.rc = Backfill(ctl, a->helpdesk_id, a->since); });
}

}  // namespace

void AddServiceCommands(CLI::App& app, Ctl& ctl) {
  auto args = std::make_shared<Args>();
  AddTicketAndTaskCommands(app, ctl, args);
  AddTaggingCommands(app, ctl, args);
  AddAdminCommands(app, ctl, args);
}

}  // namespace debrief::cli
