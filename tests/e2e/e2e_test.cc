// End to end against real software: Request Tracker 5 (the helpdesk) and Redmine 5 (the
// tracker), from Debian's packages, started on 127.0.0.1 by tests/e2e/peers.sh (a ctest
// fixture). debriefd runs as a user runs it; RT reaches it through deploy/apps/rt's scrip.
// WholeLoop asserts everything through RT's REST2 and Redmine's REST APIs, never through
// Debrief's; the panel's test goes through RT's pages and then debriefd's sign-in and API, as an
// agent's browser does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/rest.h"
#include "integration/debriefd_process.h"
#include "mocks/scripted_http.h"
#include "outbound/curl_http_client.h"

namespace debrief::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// peers.env, written by peers.sh start: KEY=VALUE lines.
std::map<std::string, std::string> ReadPeers() {
  std::map<std::string, std::string> env;
  const char* path = std::getenv("DEBRIEF_E2E_ENV");
  if (path == nullptr) return env;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (!kv.first.empty()) env[kv.first] = kv.second;
  }
  return env;
}

std::string FileText(const std::string& path) {
  return std::string(absl::StripAsciiWhitespace(Slurp(path)));
}

// A JSON client for a peer's own REST API.
class Peer {
 public:
  Peer(std::string base, std::pair<std::string, std::string> auth)
      : base_(std::move(base)), auth_(std::move(auth)) {}

  // Sends and parses the answer (null when empty); a non-2xx answer fails the test.
  json Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    spi::HttpRequest req;
    req.method = method;
    req.url = base_ + path;
    req.headers = {auth_, {"Content-Type", "application/json"}};
    if (!body.is_null()) req.body = body.dump();
    req.timeout = absl::Seconds(30);
    auto res = http_->Send(req);
    EXPECT_TRUE(res.ok()) << method << " " << path << ": " << res.status();
    if (!res.ok()) return nullptr;
    EXPECT_TRUE(res->status >= 200 && res->status < 300)
        << method << " " << path << " -> " << res->status << " " << res->body;
    if (res->body.empty()) return nullptr;
    return json::parse(res->body, nullptr, false);
  }

 private:
  std::string base_;
  std::pair<std::string, std::string> auth_;
  std::unique_ptr<spi::HttpClient> http_ = outbound::NewCurlHttpClient();
};

// A browser as far as RT's pages need one: it keeps RT's session cookie and sends forms. It
// follows no redirect (RT's login answers its page or a redirect, with the cookie either way).
class Browser {
 public:
  explicit Browser(std::string base) : base_(std::move(base)) {}

  spi::HttpResponse Get(const std::string& path) { return Send("GET", path, ""); }
  spi::HttpResponse Post(const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& form) {
    return Send("POST", path, FormBody(form));
  }

  static std::string FormBody(const std::vector<std::pair<std::string, std::string>>& form) {
    return absl::StrJoin(form, "&", [](std::string* out, const auto& kv) {
      absl::StrAppend(out, adapters::UrlEncode(kv.first), "=", adapters::UrlEncode(kv.second));
    });
  }

 private:
  spi::HttpResponse Send(const std::string& method, const std::string& path,
                         const std::string& body) {
    spi::HttpRequest req;
    req.method = method;
    req.url = base_ + path;
    req.body = body;
    if (method == "POST") {
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      req.headers.emplace_back("Referer", base_ + path);  // as a browser sends a page's form
    }
    if (!cookies_.empty())
      req.headers.emplace_back("Cookie", absl::StrJoin(cookies_, "; ", absl::PairFormatter("=")));
    auto res = http_->Send(req);
    EXPECT_TRUE(res.ok()) << method << " " << path << ": " << res.status();
    if (!res.ok()) return {};
    for (const auto& [name, value] : res->headers) {
      if (name != "set-cookie") continue;
      std::pair<std::string, std::string> kv =
          absl::StrSplit(value.substr(0, value.find(';')), absl::MaxSplits('=', 1));
      cookies_[kv.first] = kv.second;
    }
    return *res;
  }

  std::string base_;
  std::map<std::string, std::string> cookies_;
  std::unique_ptr<spi::HttpClient> http_ = outbound::NewCurlHttpClient();
};

// HTML text as a browser reads it: RT escapes attribute values (&#34; &#38; &lt; ...).
std::string HtmlText(const std::string& html) {
  static const std::regex kEntity("&(#[0-9]+|lt|gt|amp|quot);");
  std::string out;
  auto end = std::sregex_iterator();
  size_t last = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kEntity); it != end; ++it) {
    out += html.substr(last, it->position() - last);
    const std::string e = (*it)[1];
    if (e[0] == '#') {
      int code = 0;
      (void)absl::SimpleAtoi(e.substr(1), &code);
      out += static_cast<char>(code);  // ASCII is all these pages escape in attributes
    } else {
      out += e == "lt" ? "<" : e == "gt" ? ">" : e == "amp" ? "&" : "\"";
    }
    last = it->position() + it->length();
  }
  return out + html.substr(last);
}

// The attributes of the first `<tag ...>` in `html` at or after `from` (empty when none).
std::map<std::string, std::string> TagAttributes(const std::string& html, const std::string& tag,
                                                 size_t from = 0) {
  std::map<std::string, std::string> attrs;
  const size_t at = html.find("<" + tag + " ", from);
  if (at == std::string::npos) return attrs;
  const std::string text = html.substr(at, html.find('>', at) - at);
  static const std::regex kAttr(R"re(([a-zA-Z][a-zA-Z0-9-]*)="([^"]*)")re");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kAttr);
       it != std::sregex_iterator(); ++it)
    attrs[(*it)[1]] = HtmlText((*it)[2]);
  return attrs;
}

// What RT-Extension-Debrief puts on a ticket's page: the "Debrief" box's frame and the form
// that signs the agent in to Debrief inside it.
struct PanelOnPage {
  std::map<std::string, std::string> frame, form, fields;
};

std::optional<PanelOnPage> FindPanel(const std::string& page) {
  const size_t box = page.find(R"(<span class="left">Debrief</span>)");
  if (box == std::string::npos) return std::nullopt;
  const size_t form = page.find("<form ", box);
  const size_t end = form == std::string::npos ? form : page.find("</form>", form);
  if (end == std::string::npos) return std::nullopt;
  PanelOnPage p;
  p.frame = TagAttributes(page, "iframe", box);
  p.form = TagAttributes(page, "form", form);
  const std::string inside = page.substr(form, end - form);
  for (size_t at = inside.find("<input "); at != std::string::npos;
       at = inside.find("<input ", at + 1)) {
    auto input = TagAttributes(inside, "input", at);
    p.fields[input["name"]] = input["value"];
  }
  return p;
}

// The session the panel's page carries (its JSON island), or null.
json PanelSession(const std::string& page) {
  const std::string island = R"(<script id="debrief-session" type="application/json">)";
  const size_t at = page.find(island);
  if (at == std::string::npos) return nullptr;
  const size_t from = at + island.size();
  return json::parse(page.substr(from, page.find("</script>", from) - from), nullptr, false);
}

// Polls `pred` every half second (these are real servers) until it holds or `timeout` passes.
template <typename Pred>
bool Eventually(Pred pred, absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(500));
  }
  return pred();
}

// Checks `pred` every half second for `period`, and once more when it is over: false as soon
// as it fails. What proves that nothing more happens, for a period derived from the intervals
// below.
template <typename Pred>
bool Holds(Pred pred, absl::Duration period) {
  const absl::Time end = absl::Now() + period;
  while (absl::Now() < end) {
    if (!pred()) return false;
    absl::SleepFor(absl::Milliseconds(500));
  }
  return pred();
}

// The loop's intervals, as Config() writes them into debrief.yaml.
constexpr absl::Duration kImpactInterval = absl::Seconds(3);      // the tracker sync's debounce
constexpr absl::Duration kStatusPollInterval = absl::Seconds(2);  // the task follower's poll
// The longest an outbox action that has come due takes to show at a peer: the executor's
// poll (100 ms by default) and a round trip to RT or Redmine.
constexpr absl::Duration kActionLatency = absl::Seconds(2);

class RequestTrackerAndRedmine : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = ReadPeers();
    if (env_.empty())
      GTEST_SKIP() << "DEBRIEF_E2E_ENV is not set: run through ctest -L e2e (its fixture starts "
                      "Request Tracker and Redmine with tests/e2e/peers.sh)";
    rt_ = std::make_unique<Peer>(
        env_["RT_URL"] + "/REST/2.0",
        std::pair{"Authorization", "token " + FileText(env_["RT_ROOT_TOKEN_FILE"])});
    redmine_ = std::make_unique<Peer>(
        env_["REDMINE_URL"],
        std::pair{"X-Redmine-API-Key", FileText(env_["REDMINE_ADMIN_KEY_FILE"])});
    debriefd_ = std::make_unique<Debriefd>(dir_.path(), RawConfig{Config()});
  }

  void TearDown() override {
    if (HasFailure() && std::ifstream(dir_.file("debriefd.log")).good())
      std::cerr << "---- debriefd.log\n" << Slurp(dir_.file("debriefd.log")) << "----\n";
  }

  static constexpr char kReconcileHourly[] = "{interval: 1h, initial_lookback: 10m}";

  // debrief.yaml; `reconcile` is its reconcile section.
  std::string Config(const std::string& reconcile = kReconcileHourly) {
    return absl::StrCat(R"(
data_dir: )",
                        dir_.path(), R"(
http: {listen: "127.0.0.1:)",
                        env_["DEBRIEF_PORT"], R"("}
grpc: {listen: "127.0.0.1:0"}
store: {sqlite: {path: debrief.db}}
helpdesks:
  - id: rt
    type: rt
    settings:
      url: )",
                        env_["RT_URL"], R"(
      token: {file: )",
                        env_["RT_DEBRIEF_TOKEN_FILE"], R"(}
      webhook_secret: {file: )",
                        env_["RT_WEBHOOK_KEY_FILE"], R"(}
      sidebar_key: {file: )",
                        env_["RT_SIDEBAR_KEY_FILE"], R"(}
      queue: )",
                        env_["RT_QUEUE"], R"(
trackers:
  - id: redmine
    type: redmine
    settings:
      url: )",
                        env_["REDMINE_URL"], R"(
      api_key: {file: )",
                        env_["REDMINE_DEBRIEF_KEY_FILE"], R"(}
      project: )",
                        env_["REDMINE_PROJECT"], R"(
taxonomy: {file: )",
                        DEBRIEF_SOURCE_DIR, R"(/deploy/taxonomy/default.yaml}
link_policy: {open_after_tickets: 3, window: 7d}
# WholeLoop: reconciliation runs at start and then hourly; until the restart, only webhooks
# bring tickets.
reconcile: )",
                        reconcile, "\n", LoopConfig());
  }

  // The loop's section, with the intervals the waits of the test are derived from.
  static std::string LoopConfig() {
    return absl::StrCat(
        "loop: {impact_interval: ", absl::FormatDuration(kImpactInterval),
        ", impact_min_growth: 0.5, impact_min_new_tickets: 1, status_poll_interval: ",
        absl::FormatDuration(kStatusPollInterval), "}\n");
  }

  // RT: a ticket from a customer, through REST2 (the scrip sends its webhook).
  std::string CreateTicket(const std::string& subject, const std::string& requestor,
                           const std::string& content) {
    json made = rt_->Call("POST", "/ticket",
                          {{"Queue", env_["RT_QUEUE"]},
                           {"Subject", subject},
                           {"Requestor", requestor},
                           {"Content", content},
                           {"ContentType", "text/plain"}});
    std::string id = made.is_object() ? made.value("id", "") : "";
    EXPECT_FALSE(id.empty()) << made;
    return id;
  }

  std::string RootCause(const std::string& ticket) {
    json t = rt_->Call("GET", "/ticket/" + ticket);
    if (!t.is_object()) return "";
    for (const json& cf : t.value("CustomFields", json::array()))
      if (cf.value("name", "") == "Root cause" && cf.contains("values") && !cf["values"].empty())
        return cf["values"][0].get<std::string>();
    return "";
  }

  // The text of the ticket's internal comments, oldest first.
  std::vector<std::string> Comments(const std::string& ticket) {
    std::vector<std::string> out;
    const std::string query = json::array({{{"field", "Type"}, {"value", "Comment"}}}).dump();
    json h =
        rt_->Call("GET", absl::StrCat("/ticket/", ticket,
                                      "/history?per_page=100&query=", adapters::UrlEncode(query)));
    if (!h.is_object()) return out;
    for (const json& txn : h.value("items", json::array())) {
      json atts = rt_->Call("GET", absl::StrCat("/transaction/", txn.value("id", ""),
                                                "/attachments?fields=Content,ContentType"));
      std::string text;
      // RT 5.0's REST2 gives textual content as it is (binary parts in base64).
      for (const json& a : atts.value("items", json::array()))
        if (absl::StartsWith(a.value("ContentType", ""), "text/")) text += a.value("Content", "");
      out.push_back(text);
    }
    return out;
  }

  // For failure messages: every comment of these tickets.
  std::string CommentsOf(const std::vector<std::string>& tickets) {
    std::string out;
    for (const std::string& t : tickets)
      for (const std::string& c : Comments(t)) absl::StrAppend(&out, "ticket ", t, ": ", c, "\n");
    return out;
  }

  int CommentsWith(const std::string& ticket, const std::string& needle) {
    int n = 0;
    for (const std::string& c : Comments(ticket)) n += absl::StrContains(c, needle) ? 1 : 0;
    return n;
  }

  // Redmine: the issues of this run's project, every status.
  json Issues() {
    json got = redmine_->Call(
        "GET", absl::StrCat("/issues.json?status_id=*&project_id=", env_["REDMINE_PROJECT"]));
    return got.is_object() ? got.value("issues", json::array()) : json::array();
  }

  // ... whose subject has `words`.
  json IssuesAbout(const std::string& words) {
    json out = json::array();
    for (const json& i : Issues())
      if (absl::StrContains(i.value("subject", ""), words)) out.push_back(i);
    return out;
  }

  json Issue(int64_t id) {
    json got = redmine_->Call("GET", absl::StrCat("/issues/", id, ".json?include=journals"));
    return got.is_object() ? got.value("issue", json::object()) : json::object();
  }

  // Journals (edits) of the issue that changed its description.
  static int DescriptionEdits(const json& issue) {
    int n = 0;
    for (const json& j : issue.value("journals", json::array()))
      for (const json& d : j.value("details", json::array()))
        n += d.value("property", "") == "attr" && d.value("name", "") == "description" ? 1 : 0;
    return n;
  }

  std::string TicketUrl(const std::string& id) {
    return absl::StrCat(env_["RT_URL"], "/Ticket/Display.html?id=", id);
  }

  bool AllTagged(const std::vector<std::string>& tickets, const std::string& category) {
    for (const std::string& t : tickets)
      if (RootCause(t) != category) return false;
    return true;
  }

  std::map<std::string, std::string> env_;
  TempDir dir_;
  std::unique_ptr<Peer> rt_, redmine_;
  std::unique_ptr<Debriefd> debriefd_;
};

// Progress on stderr, with the seconds since the test began (these steps wait on real servers).
void Step(const std::string& what) {
  static const absl::Time start = absl::Now();
  std::cerr << absl::StrFormat("[e2e +%5.1fs] %s\n", absl::ToDoubleSeconds(absl::Now() - start),
                               what);
}

constexpr char kDone[] = "the improvement task for this ticket's root cause has shipped";

TEST_F(RequestTrackerAndRedmine, WholeLoop) {
  std::string out;
  ASSERT_TRUE(debriefd_->Start(&out)) << out;
  for (const char* id : {"rt", "redmine"}) {
    std::string check;
    EXPECT_EQ(RunCommand(absl::StrCat(debriefd_->ctl(), " adapters check ", id), &check), 0)
        << id << ": " << check;
  }

  Step("1. tickets created in RT");
  // 1. Tickets created in RT reach debriefd through the scrip's webhooks (reconciliation ran
  //    once at start, before these existed, and not again until the restart).
  std::vector<std::string> billing = {
      CreateTicket("Charged twice for my order", "alice.smith@example.com",
                   "Hello, I was charged twice for the same order this month. Please refund the "
                   "duplicate charge. Call me on +1 415 555 0134 or write to "
                   "alice.smith@example.com."),
      CreateTicket("Double charge on my invoice", "bob@example.net",
                   "My invoice shows a double charge for March although I ordered once. Please "
                   "refund the extra amount."),
      CreateTicket("Overcharged", "carol@example.org",
                   "I was overcharged: there is an unexpected charge on my card statement. I want "
                   "a refund."),
  };
  const std::string praise = CreateTicket(
      "Thank you!", "dan@example.com",
      "Thank you so much for the quick help, your support team is amazing and went above and "
      "beyond.");
  const std::string suggestion = CreateTicket(
      "Feature request: dark mode", "erin@example.com",
      "It would be great if you added a dark mode. Please add it to the app, my suggestion is to "
      "make it follow the system setting.");

  Step("2. waiting for the Root cause field");
  // 2. Debrief sets RT's "Root cause" field and comments internally, linking the task.
  ASSERT_TRUE(Eventually([&] { return AllTagged(billing, "billing-charge"); }))
      << RootCause(billing[0]) << " " << RootCause(billing[1]) << " " << RootCause(billing[2]);
  ASSERT_TRUE(Eventually([&] { return RootCause(praise) == "praise-agent"; })) << RootCause(praise);
  ASSERT_TRUE(Eventually([&] { return RootCause(suggestion) == "feature-request"; }))
      << RootCause(suggestion);

  Step("3. waiting for the Redmine issue");
  // 3. The cause crossed its threshold (3 tickets): one Redmine issue in the project, with the
  //    impact section and links to the RT tickets, personal data removed.
  constexpr char kBilling[] = "Wrong or unexpected charge";
  ASSERT_TRUE(Eventually([&] { return IssuesAbout(kBilling).size() == 1; })) << Issues().dump(2);
  const int64_t issue_id = IssuesAbout(kBilling)[0].value("id", int64_t{0});
  const std::string issue_url = absl::StrCat(env_["REDMINE_URL"], "/issues/", issue_id);
  {
    json issue = Issue(issue_id);
    const std::string d = issue.value("description", "");
    EXPECT_THAT(d, HasSubstr("<!-- debrief:impact -->"));
    EXPECT_THAT(d, HasSubstr("h3. Impact")) << "Textile, this Redmine's formatting";
    EXPECT_THAT(d, HasSubstr("Tickets: 3 from 3 customers"));
    for (const std::string& t : billing) EXPECT_THAT(d, HasSubstr(TicketUrl(t)));
    EXPECT_THAT(d, Not(HasSubstr(TicketUrl(praise))));
    EXPECT_THAT(d, Not(HasSubstr(TicketUrl(suggestion))));
    EXPECT_THAT(d, Not(HasSubstr("alice.smith")));
    EXPECT_THAT(d, Not(HasSubstr("555 0134")));
    EXPECT_EQ(issue.value("author", json::object()).value("name", ""), "Debrief Bot");
  }
  ASSERT_TRUE(Eventually([&] {
    for (const std::string& t : billing)
      if (CommentsWith(t, issue_url) != 1) return false;
    return true;
  })) << "each billing ticket links the task once:\n"
      << CommentsOf(billing);
  EXPECT_EQ(CommentsWith(praise, "/issues/"), 0);
  EXPECT_THAT(Comments(praise), ::testing::Contains(HasSubstr("praise-agent")));
  // A suggestion opens its own task at once and credits its author without naming them.
  ASSERT_TRUE(Eventually([&] { return IssuesAbout("Customer suggestion").size() == 1; }))
      << Issues().dump(2);
  {
    const std::string d = Issue(IssuesAbout("Customer suggestion")[0].value("id", int64_t{0}))
                              .value("description", "");
    EXPECT_THAT(d, HasSubstr(TicketUrl(suggestion)));
    EXPECT_THAT(d, HasSubstr(absl::StrCat("the requester of ticket rt/", suggestion)));
    EXPECT_THAT(d, Not(HasSubstr("erin")));
  }

  Step("3. later tickets");
  // Later tickets are linked; the impact section is edited in place: one journal, not one per
  // ticket.
  const int edits_before = DescriptionEdits(Issue(issue_id));
  EXPECT_EQ(edits_before, 0);
  billing.push_back(CreateTicket("Refund for double charge", "frank@example.com",
                                 "You charged me twice for one subscription. Refund please."));
  billing.push_back(CreateTicket("Billing error", "grace@example.com",
                                 "The invoice amount is wrong, I was overcharged by 20 euros."));
  ASSERT_TRUE(Eventually([&] {
    const std::string d = Issue(issue_id).value("description", "");
    return absl::StrContains(d, TicketUrl(billing[3])) &&
           absl::StrContains(d, TicketUrl(billing[4]));
  })) << Issue(issue_id).dump(2);
  // Any further edit these tickets cause is due within one debounce interval of the last and
  // shows within kActionLatency: two intervals and that latency without one mean none comes.
  EXPECT_TRUE(Holds([&] { return DescriptionEdits(Issue(issue_id)) == 1; },
                    2 * kImpactInterval + kActionLatency))
      << Issue(issue_id).dump(2);
  {
    json issue = Issue(issue_id);
    EXPECT_EQ(DescriptionEdits(issue), 1) << issue.dump(2);
    EXPECT_THAT(issue.value("description", ""), HasSubstr("Tickets: 5 from 5 customers"));
    EXPECT_EQ(IssuesAbout(kBilling).size(), 1u);
  }

  Step("4. debriefd stopped; tickets while it is down");
  // 4. debriefd is down: RT drops the webhooks of these tickets (its log says so). At start,
  //    reconciliation picks them all up.
  ASSERT_EQ(debriefd_->Terminate(), 0);
  std::vector<std::string> offline = {
      CreateTicket("Charged twice again", "heidi@example.com",
                   "I was charged twice for my order again, please refund."),
      CreateTicket("Unexpected charge", "ivan@example.com",
                   "There is an unexpected charge on my invoice that I do not recognise."),
      CreateTicket("Double charged", "judy@example.com",
                   "My card was double charged for the same invoice. Refund needed."),
  };
  const std::string rt_log = Slurp(env_["RT_LOG"]);
  for (const std::string& t : offline)
    EXPECT_THAT(rt_log, HasSubstr(absl::StrCat("Debrief webhook: ticket ", t, " transaction")));
  absl::SleepFor(absl::Seconds(1));
  for (const std::string& t : offline) EXPECT_EQ(RootCause(t), "") << "ticket " << t;

  ASSERT_TRUE(debriefd_->Start(&out)) << out;
  Step("4. debriefd started again");
  ASSERT_TRUE(Eventually([&] { return AllTagged(offline, "billing-charge"); }));
  billing.insert(billing.end(), offline.begin(), offline.end());
  ASSERT_TRUE(Eventually([&] {
    for (const std::string& t : offline)
      if (CommentsWith(t, issue_url) != 1) return false;
    return true;
  }));
  ASSERT_TRUE(Eventually([&] {
    const std::string d = Issue(issue_id).value("description", "");
    for (const std::string& t : billing)
      if (!absl::StrContains(d, TicketUrl(t))) return false;
    return true;
  })) << Issue(issue_id).dump(2);
  {
    json issue = Issue(issue_id);
    EXPECT_THAT(issue.value("description", ""), HasSubstr("Tickets: 8 from 8 customers"));
    EXPECT_EQ(DescriptionEdits(issue), 2) << issue.dump(2);
    EXPECT_EQ(IssuesAbout(kBilling).size(), 1u);
  }

  Step("5. closing the Redmine issue, its version still open");
  // 5. An engineer closes the issue in Redmine with a target version that is not released yet:
  //    fixed, not shipped, so nobody is told. Closing the version (the release) is what tells
  //    every linked RT ticket, with exactly one comment.
  json statuses = redmine_->Call("GET", "/issue_statuses.json");
  int64_t closed = 0;
  for (const json& s : statuses.value("issue_statuses", json::array()))
    if (s.value("name", "") == "Closed") closed = s.value("id", int64_t{0});
  ASSERT_NE(closed, 0) << statuses;
  const std::string release = absl::StrCat("billing 4.2 (", absl::ToUnixSeconds(absl::Now()), ")");
  json version =
      redmine_->Call("POST", absl::StrCat("/projects/", env_["REDMINE_PROJECT"], "/versions.json"),
                     {{"version", {{"name", release}, {"status", "open"}}}});
  const int64_t version_id = version["version"].value("id", int64_t{0});
  ASSERT_NE(version_id, 0) << version;
  redmine_->Call("PUT", absl::StrCat("/issues/", issue_id, ".json"),
                 {{"issue",
                   {{"status_id", closed},
                    {"fixed_version_id", version_id},
                    {"notes", "Fixed in billing 4.2"}}}});
  EXPECT_TRUE(Holds(
      [&] {
        for (const std::string& t : billing)
          if (CommentsWith(t, kDone) != 0) return false;
        return true;
      },
      3 * kStatusPollInterval + kActionLatency))
      << "fixed, not shipped: nobody is told yet\n"
      << CommentsOf(billing);
  Step("5b. releasing the version");
  redmine_->Call("PUT", absl::StrCat("/versions/", version_id, ".json"),
                 {{"version", {{"status", "closed"}}}});
  ASSERT_TRUE(Eventually([&] {
    for (const std::string& t : billing)
      if (CommentsWith(t, kDone) < 1) return false;
    return true;
  })) << "every linked ticket is told";
  // Three more status polls, and the latency of a note one of them would cause: nobody is told
  // twice.
  EXPECT_TRUE(Holds(
      [&] {
        for (const std::string& t : billing)
          if (CommentsWith(t, kDone) != 1) return false;
        return true;
      },
      3 * kStatusPollInterval + kActionLatency))
      << CommentsOf(billing);
  for (const std::string& t : billing) {
    EXPECT_EQ(CommentsWith(t, kDone), 1) << "ticket " << t;
    EXPECT_EQ(CommentsWith(t, absl::StrCat("has shipped in ", release)), 1) << "ticket " << t;
    EXPECT_EQ(CommentsWith(t, issue_url), 2) << "ticket " << t << ": linked once, told once";
  }
  EXPECT_EQ(CommentsWith(praise, kDone), 0);
  EXPECT_EQ(CommentsWith(suggestion, kDone), 0);
  EXPECT_EQ(Issues().size(), 2u) << "one task per cause, no duplicates";
}

// The panel on RT's ticket page (deploy/apps/rt/RT-Extension-Debrief): an agent signed in to RT
// opens a ticket; the page's form signs them in to debriefd, whose session reads that ticket.
// What a browser does with the page (the frame, the script posting the form) is not run here:
// the test reads the form and posts it as the browser would.
TEST_F(RequestTrackerAndRedmine, AgentOpensThePanelOnRTsTicketPage) {
  // Reconciliation off: this ticket comes by its webhook, and the queue's other tickets (of
  // WholeLoop) stay out of this debriefd.
  debriefd_ = std::make_unique<Debriefd>(dir_.path(), RawConfig{Config("{interval: 0s}")});
  std::string out;
  ASSERT_TRUE(debriefd_->Start(&out)) << out;

  Step("panel: a ticket through the webhook");
  const std::string ticket =
      CreateTicket("Thanks a lot", "kim@example.com",
                   "Thank you so much for the quick help, your support team is amazing and went "
                   "above and beyond.");
  ASSERT_TRUE(Eventually([&] { return !RootCause(ticket).empty(); })) << "ticket " << ticket;
  const std::string root_cause = RootCause(ticket);

  Step("panel: the agent signs in to RT and opens the ticket");
  Browser browser(env_["RT_URL"]);
  spi::HttpResponse login = browser.Get("/NoAuth/Login.html");
  ASSERT_EQ(login.status, 200) << login.body;
  ASSERT_THAT(login.body, HasSubstr(R"(name="pass")"));
  spi::HttpResponse signed_in =
      browser.Post("/NoAuth/Login.html", {{"user", env_["RT_AGENT"]},
                                          {"pass", FileText(env_["RT_AGENT_PASSWORD_FILE"])},
                                          {"next", ""}});
  ASSERT_TRUE(signed_in.status == 200 || signed_in.status == 302) << signed_in.status;
  ASSERT_THAT(signed_in.body, Not(HasSubstr("Your username or password is incorrect")));
  spi::HttpResponse page = browser.Get("/Ticket/Display.html?id=" + ticket);
  ASSERT_EQ(page.status, 200);
  ASSERT_THAT(page.body, HasSubstr(absl::StrCat("#", ticket, ":"))) << "RT shows the ticket";

  std::optional<PanelOnPage> panel = FindPanel(page.body);
  ASSERT_TRUE(panel.has_value()) << "no Debrief box on the ticket's page:\n" << page.body;
  const std::string frame = absl::StrCat("debrief-panel-", ticket);
  EXPECT_EQ(panel->frame["name"], frame);
  EXPECT_EQ(panel->frame["title"], "Debrief: root cause and task");
  EXPECT_EQ(panel->form["target"], frame) << "the form signs in inside the frame";
  EXPECT_EQ(absl::AsciiStrToLower(panel->form["method"]), "post");
  const std::string debriefd_url = absl::StrCat("http://127.0.0.1:", env_["DEBRIEF_PORT"]);
  EXPECT_EQ(panel->form["action"], debriefd_url + "/app/signin/rt") << "nothing in the URL";
  EXPECT_EQ(panel->fields["user"], env_["RT_AGENT"]);
  EXPECT_EQ(panel->fields["ticket"], ticket);
  int64_t expires = 0;
  EXPECT_TRUE(absl::SimpleAtoi(panel->fields["expires"], &expires)) << panel->fields["expires"];
  EXPECT_GT(expires, absl::ToUnixSeconds(absl::Now()));
  EXPECT_LE(expires, absl::ToUnixSeconds(absl::Now() + absl::Minutes(10)));
  EXPECT_THAT(panel->fields["signature"], ::testing::MatchesRegex("[0-9a-f]{64}"));
  ASSERT_EQ(panel->fields.size(), 4u);

  Step("panel: the form posted to debriefd");
  std::vector<std::pair<std::string, std::string>> form(panel->fields.begin(), panel->fields.end());
  const spi::HttpHeaders form_type = {{"Content-Type", "application/x-www-form-urlencoded"}};
  auto signin = debriefd_->PostTo("/app/signin/rt", Browser::FormBody(form), form_type);
  ASSERT_TRUE(signin.ok()) << signin.status();
  ASSERT_EQ(signin->status, 200) << signin->body;
  {
    const std::string csp = signin->Header("content-security-policy");
    const size_t at = csp.find("frame-ancestors ");
    ASSERT_NE(at, std::string::npos) << csp;
    const std::vector<std::string> ancestors =
        absl::StrSplit(csp.substr(at, csp.find(';', at) - at), ' ', absl::SkipEmpty());
    EXPECT_THAT(ancestors, ::testing::Contains(env_["RT_URL"]))
        << "RT's page may frame it: " << csp;
  }
  const json session = PanelSession(signin->body);
  ASSERT_TRUE(session.is_object()) << signin->body;
  EXPECT_EQ(session.value("ticketId", ""), ticket);
  EXPECT_EQ(session.value("helpdeskId", ""), "rt");
  EXPECT_EQ(session.value("name", ""), env_["RT_AGENT"]);

  // The panel's first call, with that session: the ticket's root cause, as RT's field shows it.
  auto got =
      debriefd_->PostTo("/api/v1/Tickets/GetTicket",
                        json{{"ticket", {{"helpdeskId", "rt"}, {"ticketId", ticket}}}}.dump(),
                        {{"Content-Type", "application/json"},
                         {"Authorization", "Bearer " + session.value("token", "")}});
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->status, 200) << got->body;
  const json answer = json::parse(got->body, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << got->body;
  EXPECT_EQ(answer.value("ticket", json::object()).value("ticketId", ""), ticket) << got->body;
  EXPECT_EQ(answer.value("classification", json::object()).value("categoryId", ""), root_cause)
      << got->body;

  // The same signed fields for another ticket: refused.
  for (auto& [name, value] : form)
    if (name == "ticket") value = std::to_string(std::stoll(ticket) + 1);
  auto forged = debriefd_->PostTo("/app/signin/rt", Browser::FormBody(form), form_type);
  ASSERT_TRUE(forged.ok()) << forged.status();
  EXPECT_EQ(forged->status, 401) << forged->body;
  EXPECT_THAT(forged->body, Not(HasSubstr("debrief-session")));

  Step("panel: the same page in Chromium, as the agent sees it");
  std::string cause_name;
  {
    grpc::ClientContext ctx;
    v1::ListCategoriesResponse categories;
    ASSERT_TRUE(
        debriefd_->tagging()->ListCategories(&ctx, v1::ListCategoriesRequest(), &categories).ok());
    for (const auto& c : categories.categories())
      if (c.id() == root_cause) cause_name = c.name();
  }
  ASSERT_FALSE(cause_name.empty()) << root_cause;
  const std::string shots =
      absl::StrCat(std::string(std::getenv("DEBRIEF_E2E_ENV"))
                       .substr(0, std::string(std::getenv("DEBRIEF_E2E_ENV")).rfind('/')),
                   "/screenshots");
  auto quoted = [](const std::string& v) {
    return "'" + absl::StrReplaceAll(v, {{"'", "'\\''"}}) + "'";
  };
  const std::string run = absl::StrCat(
      "RT_URL=", quoted(env_["RT_URL"]), " RT_USER=", quoted(env_["RT_AGENT"]),
      " RT_PASSWORD_FILE=", quoted(env_["RT_AGENT_PASSWORD_FILE"]), " RT_TICKET=", ticket,
      " DEBRIEF_CAUSE=", quoted(cause_name), " DEBRIEF_SCREENSHOTS=", quoted(shots), " bash ",
      DEBRIEF_SOURCE_DIR, "/tests/web/rt_page.sh");
  std::string browser_out;
  EXPECT_EQ(RunCommand(run, &browser_out), 0) << browser_out;
  Step("panel: done");
}

// An admin adds a second Redmine tracker with debriefctl, against the real Redmine: a wrong
// key fails the check with Redmine's answer and saves nothing; the right one is checked, saved
// into conf_dir and running at once; then it is removed.
TEST_F(RequestTrackerAndRedmine, AdminAddsARedmineTrackerWithDebriefctl) {
  debriefd_ = std::make_unique<Debriefd>(dir_.path(), RawConfig{Config("{interval: 0s}")});
  std::string out;
  ASSERT_TRUE(debriefd_->Start(&out)) << out;
  const std::string add = absl::StrCat(
      debriefd_->ctl(), " adapters add redmine --id redmine2 --set url=", env_["REDMINE_URL"],
      " --set project=", env_["REDMINE_PROJECT"]);

  Step("adapters add: a wrong key");
  EXPECT_NE(RunCommand(absl::StrCat(add, " --secret api_key=0123456789abcdef0123"), &out), 0);
  EXPECT_THAT(out, HasSubstr("the check failed, nothing was saved"));
  EXPECT_THAT(out, HasSubstr("401"));
  EXPECT_THAT(out, Not(HasSubstr("0123456789abcdef0123")));
  EXPECT_FALSE(std::filesystem::exists(dir_.file("conf.d/redmine2.yaml")));

  Step("adapters add: the right key");
  ASSERT_EQ(
      RunCommand(absl::StrCat(add, " --secret api_key=@", env_["REDMINE_DEBRIEF_KEY_FILE"]), &out),
      0)
      << out;
  EXPECT_THAT(out, HasSubstr("\"check\": \"ok\""));
  const std::string yaml = Slurp(dir_.file("conf.d/redmine2.yaml"));
  EXPECT_THAT(yaml, HasSubstr("api_key: {file: secrets/redmine2.api_key}"));
  EXPECT_THAT(yaml, HasSubstr(absl::StrCat("project: ", env_["REDMINE_PROJECT"])));
  ASSERT_EQ(RunCommand(absl::StrCat(debriefd_->ctl(), " adapters check redmine2"), &out), 0) << out;

  Step("adapters remove");
  ASSERT_EQ(RunCommand(absl::StrCat(debriefd_->ctl(), " adapters remove redmine2"), &out), 0)
      << out;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("conf.d/redmine2.yaml")));
}

}  // namespace
}  // namespace debrief::testing
