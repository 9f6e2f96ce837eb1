// Requests to the JSON API (/api/v1/{Service}/{Method}) straight into its handler, as the HTTP
// front hands them over: the method's name from the path, the request message from the body
// in Protobuf's JSON mapping, the caller's rights over what it names, then the service on a
// real SQLite store (on /dev/shm where there is one, so a commit costs no disk) holding two
// tickets and a task, with the builtin tracker and no helpdesk adapter, so nothing goes out. The
// first byte picks the signed-in caller (an administrator, a lead, an agent of helpdesk support,
// that helpdesk's installation); then the path after /api/v1/ up to a newline, then the body.
// Whatever the bytes, the answer is a status with a JSON body, never a crash or a hang.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/api.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/time_util.h"
#include "base/utf8.h"
#include "classify/emerging.h"
#include "classify/keyword_classifier.h"
#include "config/config.h"
#include "debrief/spi/adapter_factory.h"
#include "metrics/metrics.h"
#include "outbound/curl_http_client.h"
#include "policy/link_policy.h"
#include "register.h"
#include "service/service.h"
#include "store/sqlite_store.h"

namespace {

using namespace debrief;

constexpr char kConfig[] = R"(
taxonomy:
  categories:
    - {id: billing, name: Billing, kind: complaint, keywords: [invoice, charged, refund]}
    - {id: login, name: Login, kind: complaint, keywords: [password, login]}
    - {id: dark-mode, name: Dark mode, kind: suggestion, keywords: [dark]}
    - {id: kudos, name: Kudos, kind: praise, keywords: [thanks]}
trackers:
  - {id: tasks, type: builtin, settings: {base_url: "http://127.0.0.1/tasks/"}}
)";

struct World {
  std::string dir;
  v1::Config config;
  std::unique_ptr<spi::Store> store;
  std::unique_ptr<spi::HttpClient> http;
  spi::AdapterRegistry registry;
  std::unique_ptr<spi::TrackerAdapter> tracker;
  std::unique_ptr<classify::KeywordClassifier> classifier;
  std::unique_ptr<policy::LinkPolicy> policy;
  classify::EmergingIssues emerging;
  std::unique_ptr<auth::Sessions> sessions;
  std::unique_ptr<service::Service> service;
  metrics::Metrics metrics;
  std::unique_ptr<api::Api> api;
  std::vector<std::string> bearers;  // one session token per caller
  ~World() {
    api.reset();
    service.reset();
    if (store) store->Close();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

World* world = nullptr;

void Shutdown() { delete world; }

void Check(const absl::Status& s, const char* what) {
  if (s.ok()) return;
  fprintf(stderr, "api_request_fuzzer: %s: %s\n", what, s.ToString().c_str());
  abort();
}

// What the service finds to read and change: a ticket tagged billing, linked to an open task
// made in the builtin tracker, and an untagged one counted as emerging.
void Populate(World& w) {
  const absl::Time now = spi::SystemClock::Get().Now();
  spi::TaskDraft draft;
  draft.idempotency_key = "debrief-task-1-billing";
  draft.title = "Root cause: Billing";
  draft.impact = "Tickets: 1";
  draft.tickets = {{"support", "1", "Charged twice", ""}};
  auto made = w.tracker->CreateTask(draft);
  Check(made.status(), "tracker task");
  Check(w.store->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    v1::ImprovementTask t;
    t.set_category_id("billing");
    t.set_tracker_id("tasks");
    t.set_external_id(made->external_id);
    t.set_title(draft.title);
    t.set_status(v1::TASK_OPEN);
    auto id = tx.InsertTask(t);
    if (!id.ok()) return id.status();
    for (const char* n : {"1", "2"}) {
      spi::TicketRecord r;
      r.ticket.set_helpdesk_id("support");
      r.ticket.set_ticket_id(n);
      r.ticket.set_subject("Charged twice");
      r.ticket.set_body("I was charged twice for my invoice, please refund");
      r.ticket.mutable_requester()->set_email("ann@example.com");
      r.first_seen = now - absl::Hours(1);
      if (std::string(n) == "1") {
        v1::Classification& c = r.classification.emplace();
        c.set_category_id("billing");
        c.set_confidence(0.9);
      } else {
        w.emerging.Add(r.ticket, now);
      }
      if (auto s = tx.PutTicket(r); !s.ok()) return s;
    }
    v1::TaskLink l;
    l.set_helpdesk_id("support");
    l.set_ticket_id("1");
    l.set_task_id(*id);
    base::SetTimestamp(l.mutable_linked_at(), now);
    return tx.PutLink(l);
  }),
        "populate");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  base::log::SetLevel(base::log::Level::kError);
  world = new World;
  std::string tmpl = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  tmpl += "/debrief-fuzz-api-XXXXXX";
  world->dir = mkdtemp(tmpl.data());
  World& w = *world;
  auto config = config::ParseConfig(kConfig, w.dir);
  Check(config.status(), "config");
  w.config = *config;
  auto store = store::OpenSqliteStore({.path = w.dir + "/debrief.db"}, spi::SystemClock::Get());
  Check(store.status(), "store");
  w.store = std::move(*store);
  w.http = outbound::NewCurlHttpClient();
  adapters::RegisterBuiltinAdapters(w.registry);
  spi::AdapterContext ctx{*w.http, spi::SystemClock::Get(), w.dir};
  auto tracker = w.registry.tracker("builtin")->Create(w.config.trackers(0), ctx);
  Check(tracker.status(), "tracker");
  w.tracker = std::move(*tracker);
  auto classifier =
      classify::KeywordClassifier::Create(w.config.taxonomy(), spi::SystemClock::Get());
  Check(classifier.status(), "classifier");
  w.classifier = std::move(*classifier);
  w.policy = std::make_unique<policy::LinkPolicy>(w.config, spi::SystemClock::Get());
  w.sessions = std::make_unique<auth::Sessions>(std::string(48, 'k'), spi::SystemClock::Get(),
                                                absl::Hours(24));
  service::Deps deps{w.config,
                     *w.store,
                     *w.classifier,
                     *w.policy,
                     spi::SystemClock::Get(),
                     {},
                     {{"tasks", w.tracker.get()}},
                     [] {},
                     w.emerging,
                     [](int64_t) -> absl::StatusOr<spi::DeliveryState> {
                       return absl::NotFoundError("no such dead letter");
                     },
                     nullptr,
                     nullptr};
  deps.sessions = w.sessions.get();
  w.service = std::make_unique<service::Service>(std::move(deps));
  w.api = std::make_unique<api::Api>(*w.service, std::map<std::string, spi::HelpdeskAdapter*>{},
                                     spi::SystemClock::Get(), w.metrics, *w.sessions,
                                     api::ApiOptions{});
  Populate(w);
  auto caller = [](const char* name, auth::Role role, const char* helpdesk, bool installation) {
    auth::Caller c;
    c.name = name;
    c.role = role;
    c.helpdesk_id = helpdesk;
    c.installation_only = installation;
    return c;
  };
  for (const auth::Caller& c : {caller("fuzz-admin", auth::Role::kAdmin, "", false),
                                caller("fuzz-lead", auth::Role::kLead, "", false),
                                caller("fuzz-agent", auth::Role::kAgent, "support", false),
                                caller("fuzz-installation", auth::Role::kAgent, "support", true)})
    w.bearers.push_back("Bearer " + w.sessions->Mint(c));
  atexit(Shutdown);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  ingress::HttpCall call;
  call.method = "POST";
  const size_t nl = rest.find('\n');
  // The target as the front splits it: the path (made valid UTF-8 there) and the query.
  absl::string_view target = rest.substr(0, nl);
  if (const size_t q = target.find('?'); q != absl::string_view::npos) {
    call.query = std::string(target.substr(q + 1));
    target = target.substr(0, q);
  }
  call.path = base::ToValidUtf8(absl::StrCat("/api/v1/", target));
  if (nl != absl::string_view::npos) call.body = std::string(rest.substr(nl + 1));
  call.headers["authorization"] = world->bearers[data[0] % world->bearers.size()];
  call.headers["content-type"] = "application/json";
  const ingress::HttpReply r = world->api->HandleApi(call);
  // Every answer, refusals included, is a JSON document.
  if (r.status < 200 || r.status > 599 || !nlohmann::json::accept(r.body)) abort();
  return 0;
}
