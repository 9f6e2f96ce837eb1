// debriefctl: the admin's and scripts' command line. Talks gRPC to debriefd; prints
// Protobuf JSON so scripts can read it.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/time_util.h"
#include "classify/evaluate.h"
#include "classify/learned_classifier.h"
#include "config/config.h"
#include "debrief/v1/services.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "outbound/curl_http_client.h"
#include "register.h"
#include "store/sqlite_store.h"

namespace {

namespace v1 = debrief::v1;

int Print(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  std::cout << out;
  return 0;
}

int Fail(const grpc::Status& s) {
  std::cerr << "debriefctl: " << s.error_message() << " (" << s.error_code() << ")\n";
  return s.error_code() == grpc::StatusCode::NOT_FOUND ? 3 : 1;
}

int Fail(const absl::Status& s) {
  std::cerr << "debriefctl: " << s.message() << "\n";
  return 1;
}

template <typename Stub, typename Req, typename Res>
int Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Res*), Stub& stub,
         const Req& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  Res res;
  grpc::Status s = (stub.*method)(&ctx, req, &res);
  if (!s.ok()) return Fail(s);
  return Print(res);
}

// Streams Admin.Backfill, drawing a progress bar on a terminal (a line per update otherwise).
int Backfill(const std::shared_ptr<grpc::Channel>& channel, const std::string& helpdesk,
             const std::string& since_text) {
  absl::Time since;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d", since_text, absl::UTCTimeZone(), &since, &err) &&
      !absl::ParseTime(absl::RFC3339_full, since_text, &since, &err))
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--since: \"", since_text, "\" is not a date (YYYY-MM-DD)")));
  auto stub = v1::Admin::NewStub(channel);
  v1::BackfillRequest req;
  req.set_helpdesk_id(helpdesk);
  debrief::base::SetTimestamp(req.mutable_since(), since);
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

// Posts every *.json file in dir to the helpdesk's webhook URL, signed as the helpdesk would.
int Replay(const std::string& config_path, const std::string& helpdesk, const std::string& dir,
           std::string url) {
  auto config = debrief::config::LoadConfig(config_path);
  if (!config.ok()) return Fail(config.status());
  const v1::AdapterConfig* ac = nullptr;
  for (const auto& h : config->helpdesks())
    if (h.id() == helpdesk) ac = &h;
  if (ac == nullptr)
    return Fail(absl::NotFoundError(absl::StrCat("no helpdesk ", helpdesk, " in ", config_path)));
  debrief::spi::AdapterRegistry registry;
  debrief::adapters::RegisterBuiltinAdapters(registry);
  if (!registry.status().ok()) return Fail(registry.status());
  const auto* factory = registry.helpdesk(ac->type());
  if (factory == nullptr)
    return Fail(absl::NotFoundError(absl::StrCat("unknown type ", ac->type())));
  auto http = debrief::outbound::NewCurlHttpClient();
  debrief::spi::AdapterContext ctx{*http, debrief::spi::SystemClock::Get(), config->data_dir()};
  auto adapter = factory->Create(*ac, ctx);
  if (!adapter.ok()) return Fail(adapter.status());
  if (url.empty()) {
    std::string listen = config->http().listen();
    if (listen.rfind("0.0.0.0:", 0) == 0) listen = "127.0.0.1" + listen.substr(7);
    url = absl::StrCat("http://", listen, "/webhooks/", helpdesk);
  }
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") files.push_back(e.path());
  if (ec) return Fail(absl::NotFoundError(absl::StrCat("cannot list ", dir, ": ", ec.message())));
  std::sort(files.begin(), files.end());
  int accepted = 0, duplicate = 0, refused = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string body = ss.str();
    auto headers = (*adapter)->SignDelivery(body, absl::Now());
    if (!headers.ok()) return Fail(headers.status());
    debrief::spi::HttpRequest req;
    req.method = "POST";
    req.url = url;
    req.body = body;
    for (const auto& [k, v] : *headers) req.headers.emplace_back(k, v);
    auto res = http->Send(req);
    if (!res.ok()) return Fail(res.status());
    if (res->status == 202)
      ++accepted;
    else if (res->status == 200)
      ++duplicate;
    else {
      ++refused;
      std::cerr << f.filename().string() << ": HTTP " << res->status << " " << res->body << "\n";
    }
  }
  std::cout << "{\"sent\": " << files.size() << ", \"accepted\": " << accepted
            << ", \"duplicate\": " << duplicate << ", \"refused\": " << refused << "}\n";
  return refused == 0 ? 0 : 1;
}

// `debriefctl tracker show|set-status`: opens the builtin tracker's file named in the config.

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"debriefctl: talk to debriefd (gRPC); output is Protobuf JSON"};
  app.require_subcommand(1);
  std::string server =
      std::getenv("DEBRIEF_SERVER") ? std::getenv("DEBRIEF_SERVER") : "127.0.0.1:9090";
  app.add_option("--server", server, "debriefd gRPC address host:port (env DEBRIEF_SERVER)");

  auto channel = [&] { return grpc::CreateChannel(server, grpc::InsecureChannelCredentials()); };
  int rc = 0;

  auto* tickets = app.add_subcommand("tickets", "tickets Debrief has seen")->require_subcommand(1);
  std::string hd, tid, category, agent, text;
  int64_t task_id = 0;
  auto* tshow = tickets->add_subcommand("show", "a ticket with its classification and task");
  tshow->add_option("helpdesk_id", hd)->required();
  tshow->add_option("ticket_id", tid)->required();
  tshow->callback([&] {
    auto stub = v1::Tickets::NewStub(channel());
    v1::GetTicketRequest r;
    r.mutable_ticket()->set_helpdesk_id(hd);
    r.mutable_ticket()->set_ticket_id(tid);
    rc = Call(&v1::Tickets::Stub::GetTicket, *stub, r);
  });

  auto* tasks = app.add_subcommand("tasks", "improvement tasks")->require_subcommand(1);
  auto* tlist = tasks->add_subcommand("list", "all tasks");
  tlist->add_option("--category", category, "only this category");
  tlist->callback([&] {
    auto stub = v1::Improvements::NewStub(channel());
    v1::ListTasksRequest r;
    r.set_category_id(category);
    rc = Call(&v1::Improvements::Stub::ListTasks, *stub, r);
  });
  auto* tget = tasks->add_subcommand("show", "a task with its linked tickets");
  tget->add_option("task_id", task_id)->required();
  tget->callback([&] {
    auto stub = v1::Improvements::NewStub(channel());
    v1::GetTaskRequest r;
    r.set_task_id(task_id);
    rc = Call(&v1::Improvements::Stub::GetTask, *stub, r);
  });
  auto* tlink = tasks->add_subcommand("link", "link a ticket to a task (an agent's decision)");
  tlink->add_option("helpdesk_id", hd)->required();
  tlink->add_option("ticket_id", tid)->required();
  tlink->add_option("task_id", task_id)->required();
  tlink->callback([&] {
    auto stub = v1::Improvements::NewStub(channel());
    v1::LinkTicketRequest r;
    r.mutable_ticket()->set_helpdesk_id(hd);
    r.mutable_ticket()->set_ticket_id(tid);
    r.set_task_id(task_id);
    rc = Call(&v1::Improvements::Stub::LinkTicket, *stub, r);
  });
  auto* tunlink = tasks->add_subcommand("unlink", "unlink a ticket from its task");
  tunlink->add_option("helpdesk_id", hd)->required();
  tunlink->add_option("ticket_id", tid)->required();
  tunlink->callback([&] {
    auto stub = v1::Improvements::NewStub(channel());
    v1::UnlinkTicketRequest r;
    r.mutable_ticket()->set_helpdesk_id(hd);
    r.mutable_ticket()->set_ticket_id(tid);
    rc = Call(&v1::Improvements::Stub::UnlinkTicket, *stub, r);
  });

  auto* trequest = tasks->add_subcommand(
      "request", "ask for a task for this ticket now (links to the category's open task if any)");
  trequest->add_option("helpdesk_id", hd)->required();
  trequest->add_option("ticket_id", tid)->required();
  trequest->add_option("--category", category, "default: the ticket's category");
  trequest->callback([&] {
    auto stub = v1::Improvements::NewStub(channel());
    v1::RequestTaskRequest r;
    r.mutable_ticket()->set_helpdesk_id(hd);
    r.mutable_ticket()->set_ticket_id(tid);
    r.set_category_id(category);
    rc = Call(&v1::Improvements::Stub::RequestTask, *stub, r);
  });

  // A tracker whose tasks Debrief holds (the builtin one) is worked here, as a team would work
  // an issue in its tracker: debriefd notices a status change at its next status poll
  // (loop.status_poll_interval) and closes the loop.
  auto* tracker =
      app.add_subcommand("tracker", "work the tasks of the builtin tracker")->require_subcommand(1);
  std::string tracker_id, external_id, status_name;
  tracker->add_option("--tracker", tracker_id, "the tracker's id (default: the default tracker)");
  auto* trshow = tracker->add_subcommand("show", "a task as the tracker holds it");
  trshow->add_option("external_id", external_id)->required();
  trshow->callback([&] {
    auto stub = v1::Admin::NewStub(channel());
    v1::ShowTrackerTaskRequest r;
    r.set_tracker_id(tracker_id);
    r.set_external_id(external_id);
    rc = Call(&v1::Admin::Stub::ShowTrackerTask, *stub, r);
  });
  auto* trset =
      tracker->add_subcommand("set-status", "move a task: open, in-progress, done, wont-do");
  trset->add_option("external_id", external_id)->required();
  trset->add_option("status", status_name)
      ->required()
      ->check(CLI::IsMember({"open", "in-progress", "done", "wont-do"}));
  trset->callback([&] {
    auto stub = v1::Admin::NewStub(channel());
    v1::SetTrackerTaskStatusRequest r;
    r.set_tracker_id(tracker_id);
    r.set_external_id(external_id);
    r.set_status(status_name == "open"          ? v1::TASK_OPEN
                 : status_name == "in-progress" ? v1::TASK_IN_PROGRESS
                 : status_name == "done"        ? v1::TASK_DONE
                                                : v1::TASK_WONT_DO);
    rc = Call(&v1::Admin::Stub::SetTrackerTaskStatus, *stub, r);
  });

  auto* classify =
      app.add_subcommand("classify", "classify a text (the running debriefd, or --model)");
  std::string model_path;
  classify->add_option("text", text)->required();
  classify->add_option("--model", model_path, "a model file: classify locally");
  classify->callback([&] {
    if (!model_path.empty()) {
      auto m =
          debrief::classify::LearnedClassifier::Load(model_path, debrief::spi::SystemClock::Get());
      if (!m.ok()) {
        rc = Fail(m.status());
        return;
      }
      v1::Ticket t;
      t.set_body(text);
      v1::ClassifyResponse r;
      *r.mutable_classification() = (*m)->Classify(t);
      rc = Print(r);
      return;
    }
    auto stub = v1::Tagging::NewStub(channel());
    v1::ClassifyRequest r;
    r.set_text(text);
    rc = Call(&v1::Tagging::Stub::Classify, *stub, r);
  });

  // train / eval: local, on CSV files (text,category).
  std::vector<std::string> data_paths;
  std::string taxonomy_path, out_path;
  int epochs = 0, bits = 0, char_min = -1, char_max = -1;
  double learning_rate = 0, char_weight = 0, calibration = -1;
  std::string loss;
  bool json_out = false;
  auto read_rows = [&](std::vector<debrief::classify::LabeledText>* rows) -> bool {
    for (const auto& p : data_paths) {
      auto r = debrief::classify::ReadLabeledCsv(p);
      if (!r.ok()) {
        rc = Fail(r.status());
        return false;
      }
      rows->insert(rows->end(), r->begin(), r->end());
    }
    return true;
  };
  std::string store_path;
  auto* train = app.add_subcommand(
      "train", "train a model from labelled CSV (text,category) and/or tickets already tagged");
  train->add_option("--data", data_paths, "CSV file(s)");
  train->add_option("--store", store_path,
                    "debriefd's SQLite store: tickets an agent tagged, or whose helpdesk tags name "
                    "a category, are labelled examples");
  train->add_option("--taxonomy", taxonomy_path,
                    "taxonomy YAML (categories:); default: the labels");
  train->add_option("--out", out_path, "model file to write")->required();
  train->add_option("--epochs", epochs, "passes over the data (default 12)");
  train->add_option("--bits", bits, "2^bits feature buckets (default 20)");
  train->add_option("--learning-rate", learning_rate, "AdaGrad step or PA aggressiveness");
  train->add_option("--loss", loss, "auto (default), pa (averaged passive-aggressive) or logistic");
  train->add_option("--char-min", char_min, "shortest character n-gram (0: none)");
  train->add_option("--char-max", char_max, "longest character n-gram");
  train->add_option("--char-weight", char_weight, "weight of character n-grams vs words");
  train->add_option("--calibration", calibration, "share held out for calibration (0: none)");
  train->callback([&] {
    std::vector<debrief::classify::LabeledText> rows;
    if (!read_rows(&rows)) return;
    if (data_paths.empty() && store_path.empty()) {
      rc = Fail(absl::InvalidArgumentError("give --data CSV and/or --store DB"));
      return;
    }
    v1::TaxonomyConfig taxonomy;
    if (!taxonomy_path.empty()) {
      auto c =
          debrief::config::ParseConfig(absl::StrCat("taxonomy: {file: \"", taxonomy_path, "\"}"),
                                       std::filesystem::current_path().string());
      if (!c.ok()) {
        rc = Fail(c.status());
        return;
      }
      taxonomy = c->taxonomy();
    }
    if (!store_path.empty()) {
      std::set<std::string> known;
      for (const auto& c : taxonomy.categories()) known.insert(c.id());
      for (const auto& r : rows) known.insert(r.label);
      auto store =
          debrief::store::OpenSqliteStore({.path = store_path}, debrief::spi::SystemClock::Get());
      if (!store.ok()) {
        rc = Fail(store.status());
        return;
      }
      size_t before = rows.size();
      absl::Status s = (*store)->Read([&](debrief::spi::StoreTransaction& tx) {
        return tx.ForEachTicket([&](const debrief::spi::TicketRecord& r) {
          std::string label;
          if (r.agent_corrected && r.classification) label = r.classification->category_id();
          for (const auto& tag : r.ticket.tags())
            if (label.empty() && known.count(tag)) label = tag;
          if (!label.empty())
            rows.push_back({absl::StrCat(r.ticket.subject(), "\n", r.ticket.body()), label});
          return true;
        });
      });
      if (!s.ok()) {
        rc = Fail(s);
        return;
      }
      std::cerr << "debriefctl: " << rows.size() - before << " labelled tickets from " << store_path
                << "\n";
    }
    debrief::classify::TrainConfig tc;
    if (epochs > 0) tc.options.epochs = epochs;
    // Hashing flags change the defaults that suit the data's size, nothing else.
    tc.adjust_hashing = [&](debrief::v1::HashingParams* h) {
      if (bits > 0) h->set_bits(bits);
      if (char_min >= 0) h->set_char_min(char_min);
      if (char_max >= 0) h->set_char_max(char_max);
      if (char_weight > 0) h->set_char_weight(static_cast<float>(char_weight));
    };
    if (learning_rate > 0) tc.options.learning_rate = static_cast<float>(learning_rate);
    if (loss == "logistic") tc.options.loss = debrief::classify::Loss::kLogistic;
    if (loss == "pa") tc.options.loss = debrief::classify::Loss::kPassiveAggressive;
    if (calibration >= 0) tc.calibration_fraction = calibration;
    debrief::classify::TrainReport report;
    auto m = debrief::classify::LearnedClassifier::Train(taxonomy, rows, tc,
                                                         debrief::spi::SystemClock::Get(), &report);
    if (!m.ok()) {
      rc = Fail(m.status());
      return;
    }
    if (auto s = (*m)->Save(out_path); !s.ok()) {
      rc = Fail(s);
      return;
    }
    std::error_code ec;
    auto size = std::filesystem::file_size(out_path, ec);
    nlohmann::json j = {{"examples", report.examples},
                        {"seed_examples", report.seed_examples},
                        {"categories", (*m)->categories().size()},
                        {"seconds", report.seconds},
                        {"temperature", report.temperature},
                        {"abstain_below", report.abstain_below},
                        {"model_bytes", size},
                        {"out", out_path}};
    std::cout << j.dump() << "\n";
  });
  auto* eval = app.add_subcommand("eval", "evaluate a model on labelled CSV");
  eval->add_option("--model", model_path, "model file")->required();
  eval->add_option("--data", data_paths, "CSV file(s)")->required();
  eval->add_flag("--json", json_out, "one JSON line instead of the table");
  eval->callback([&] {
    auto m =
        debrief::classify::LearnedClassifier::Load(model_path, debrief::spi::SystemClock::Get());
    if (!m.ok()) {
      rc = Fail(m.status());
      return;
    }
    std::vector<debrief::classify::LabeledText> rows;
    if (!read_rows(&rows)) return;
    auto report = debrief::classify::Evaluate(**m, rows);
    std::cout << (json_out ? report.ToJson() + "\n" : report.ToText());
  });

  auto* feedback =
      app.add_subcommand("feedback", "correct a ticket's root cause (teaches the model)");
  feedback->add_option("helpdesk_id", hd)->required();
  feedback->add_option("ticket_id", tid)->required();
  feedback->add_option("category_id", category)->required();
  feedback->add_option("--agent", agent, "who made the correction");
  feedback->callback([&] {
    auto stub = v1::Tagging::NewStub(channel());
    v1::FeedbackRequest r;
    r.mutable_ticket()->set_helpdesk_id(hd);
    r.mutable_ticket()->set_ticket_id(tid);
    r.set_category_id(category);
    r.set_agent(agent);
    rc = Call(&v1::Tagging::Stub::Feedback, *stub, r);
  });

  auto* emerging = app.add_subcommand("emerging", "tickets no category explains, grouped")
                       ->require_subcommand(1);
  uint32_t min_size = 2;
  int64_t emerging_id = 0;
  std::string new_id, new_name, new_kind = "complaint", new_description;
  auto* elist = emerging->add_subcommand("list", "emerging issues, largest first");
  elist->add_option("--min-size", min_size, "smallest group to show (default 2)");
  elist->callback([&] {
    auto stub = v1::Tagging::NewStub(channel());
    v1::ListEmergingRequest r;
    r.set_min_size(min_size);
    rc = Call(&v1::Tagging::Stub::ListEmerging, *stub, r);
  });
  auto* epromote = emerging->add_subcommand("promote", "make an emerging issue a category");
  epromote->add_option("emerging_id", emerging_id)->required();
  epromote->add_option("--id", new_id, "the new category's id (a slug)")->required();
  epromote->add_option("--name", new_name, "its name")->required();
  epromote->add_option("--kind", new_kind, "complaint, praise, suggestion or question");
  epromote->add_option("--description", new_description, "what it covers");
  epromote->callback([&] {
    v1::CategoryKind kind;
    std::string upper = new_kind;
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!v1::CategoryKind_Parse(upper, &kind) || kind == v1::CATEGORY_KIND_UNSPECIFIED) {
      rc = Fail(absl::InvalidArgumentError("--kind: complaint, praise, suggestion or question"));
      return;
    }
    auto stub = v1::Tagging::NewStub(channel());
    v1::PromoteEmergingRequest r;
    r.set_emerging_id(emerging_id);
    r.set_category_id(new_id);
    r.set_name(new_name);
    r.set_kind(kind);
    r.set_description(new_description);
    rc = Call(&v1::Tagging::Stub::PromoteEmerging, *stub, r);
  });

  auto* adapters =
      app.add_subcommand("adapters", "configured helpdesks and trackers")->require_subcommand(1);
  std::string adapter_id;
  adapters->add_subcommand("list", "all adapters")->callback([&] {
    auto stub = v1::Admin::NewStub(channel());
    rc = Call(&v1::Admin::Stub::ListAdapters, *stub, v1::ListAdaptersRequest());
  });
  auto* acheck = adapters->add_subcommand("check", "check an adapter's configuration and reach");
  acheck->add_option("id", adapter_id)->required();
  acheck->callback([&] {
    auto stub = v1::Admin::NewStub(channel());
    v1::CheckAdapterRequest r;
    r.set_id(adapter_id);
    rc = Call(&v1::Admin::Stub::CheckAdapter, *stub, r);
  });

  auto* deliveries = app.add_subcommand("deliveries", "webhook deliveries the pipeline gave up on")
                         ->require_subcommand(1);
  int dead_limit = 100;
  int64_t seq = 0;
  auto* dlist = deliveries->add_subcommand("list", "dead letters with their errors, newest first");
  dlist->add_option("--limit", dead_limit, "at most this many (default 100)");
  dlist->callback([&] {
    auto stub = v1::Admin::NewStub(channel());
    v1::ListDeadLettersRequest r;
    r.set_limit(dead_limit);
    rc = Call(&v1::Admin::Stub::ListDeadLetters, *stub, r);
  });
  auto* dreplay =
      deliveries->add_subcommand("replay", "process a dead letter again, once its cause is fixed");
  dreplay->add_option("seq", seq, "the delivery's seq (from deliveries list)")->required();
  dreplay->callback([&] {
    auto stub = v1::Admin::NewStub(channel());
    v1::ReplayDeliveryRequest r;
    r.set_seq(seq);
    rc = Call(&v1::Admin::Stub::ReplayDelivery, *stub, r);
  });

  auto* backfill = app.add_subcommand(
      "backfill", "import a helpdesk's tickets updated since a date (resumable)");
  std::string since_text;
  backfill->add_option("helpdesk_id", hd)->required();
  backfill->add_option("--since", since_text, "first date to import, YYYY-MM-DD (UTC)")->required();
  backfill->callback([&] { rc = Backfill(channel(), hd, since_text); });

  auto* cfg = app.add_subcommand("config", "configuration files")->require_subcommand(1);
  std::string config_path;
  auto* ccheck = cfg->add_subcommand("check", "load and validate a config file, print it resolved");
  ccheck->add_option("file", config_path)->required();
  ccheck->callback([&] {
    auto c = debrief::config::LoadConfig(config_path);
    if (!c.ok()) {
      rc = Fail(c.status());
      return;
    }
    // Adapters check their own settings (and that their secrets resolve).
    debrief::spi::AdapterRegistry registry;
    debrief::adapters::RegisterBuiltinAdapters(registry);
    if (!registry.status().ok()) {
      rc = Fail(registry.status());
      return;
    }
    auto http = debrief::outbound::NewCurlHttpClient();
    std::string tmp = (std::filesystem::temp_directory_path() / "debriefctl-check").string();
    std::filesystem::create_directories(tmp);
    debrief::spi::AdapterContext ctx{*http, debrief::spi::SystemClock::Get(), tmp};
    for (const auto& h : c->helpdesks()) {
      const auto* f = registry.helpdesk(h.type());
      auto a = f ? f->Create(h, ctx)
                 : absl::StatusOr<std::unique_ptr<debrief::spi::HelpdeskAdapter>>(
                       absl::InvalidArgumentError(absl::StrCat("unknown type ", h.type())));
      if (!a.ok()) {
        rc = Fail(absl::InvalidArgumentError(
            absl::StrCat("helpdesk ", h.id(), ": ", a.status().message())));
        return;
      }
    }
    for (const auto& t : c->trackers()) {
      if (registry.tracker(t.type()) == nullptr) {
        rc = Fail(absl::InvalidArgumentError(
            absl::StrCat("tracker ", t.id(), ": unknown type ", t.type())));
        return;
      }
    }
    rc = Print(*c);
  });

  auto* replay = app.add_subcommand("replay", "sign sample deliveries and POST them to debriefd");
  std::string dir, url;
  replay->add_option("--config", config_path, "debriefd's config (for the secret and address)")
      ->required();
  replay->add_option("--helpdesk", hd, "helpdesk adapter id")->required();
  replay->add_option("--url", url, "webhook URL (default: from http.listen)");
  replay->add_option("dir", dir, "folder of *.json deliveries")->required();
  replay->callback([&] { rc = Replay(config_path, hd, dir, url); });

  CLI11_PARSE(app, argc, argv);
  return rc;
}
