#include "loop/report.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/time_util.h"
#include "base/utf8.h"
#include "redact/redactor.h"

namespace debrief::loop {
namespace {

constexpr int kWeeks = 8;
constexpr size_t kQuoteChars = 240;
constexpr size_t kListedTickets = 50;

std::string Day(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

// A quote: the start of the customer's words, cut at a sentence or word end.
std::string Excerpt(const std::string& text) {
  std::string s = text;
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (s.size() <= kQuoteChars) return s;
  size_t cut = s.find_last_of(".!?", kQuoteChars);
  if (cut == std::string::npos || cut < kQuoteChars / 2) cut = s.rfind(' ', kQuoteChars);
  // Text without spaces (Japanese, say) is cut between characters, never inside one: the
  // quote goes into JSON and Protobuf strings, which must stay UTF-8.
  if (cut == std::string::npos) return absl::StrCat(base::Utf8Prefix(s, kQuoteChars), "…");
  return absl::StrCat(s.substr(0, cut + 1), "…");
}

std::string Trend(const std::vector<int64_t>& weeks) {
  static const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  int64_t top = *std::max_element(weeks.begin(), weeks.end());
  std::string bars;
  for (int64_t w : weeks) absl::StrAppend(&bars, kBars[top == 0 ? 0 : (w * 7 + top - 1) / top]);
  const int64_t recent = weeks[kWeeks - 1] + weeks[kWeeks - 2];
  const int64_t earlier = weeks[kWeeks - 3] + weeks[kWeeks - 4];
  const char* word = recent > earlier * 5 / 4 + 1   ? "rising"
                     : recent * 5 / 4 + 1 < earlier ? "falling"
                                                    : "steady";
  return absl::StrCat(bars, "  ", absl::StrJoin(weeks, " "), " (", word, ")");
}

}  // namespace

std::string WeeklyTrend(const std::vector<spi::TicketRecord>& records, absl::Time now) {
  std::vector<int64_t> weeks(kWeeks, 0);
  for (const spi::TicketRecord& rec : records) {
    int64_t ago = (now - rec.first_seen) / absl::Hours(24 * 7);
    if (ago >= 0 && ago < kWeeks) ++weeks[kWeeks - 1 - ago];
  }
  return Trend(weeks);
}

std::string CustomerKey(const v1::Ticket& t) {
  if (!t.requester().id().empty()) return absl::StrCat(t.helpdesk_id(), "/", t.requester().id());
  if (!t.requester().email().empty())
    return absl::StrCat(t.helpdesk_id(), "/", t.requester().email());
  return absl::StrCat(t.helpdesk_id(), "/ticket-", t.ticket_id());
}

absl::StatusOr<TaskReport> BuildReport(spi::StoreTransaction& tx, const v1::ImprovementTask& task,
                                       const v1::Category* cat, const v1::LoopConfig& loop,
                                       absl::Time now) {
  const redact::Redactor& redactor = redact::DefaultRedactor();
  auto records = tx.TicketsOfTask(task.id());
  if (!records.ok()) return records.status();
  TaskReport r;

  // Description: what the cause is, written once.
  const v1::CategoryKind kind = cat ? cat->kind() : v1::COMPLAINT;
  const std::string name = cat ? cat->name() : task.category_id();
  switch (kind) {
    case v1::PRAISE:
      absl::StrAppend(&r.description, "Customers praise: ", name,
                      ". Keep doing this, and tell the people who do it.\n");
      break;
    case v1::SUGGESTION:
      absl::StrAppend(&r.description, "Customers suggest: ", name,
                      ". The customers who asked are credited below and thanked when it ships.\n");
      break;
    case v1::QUESTION:
      absl::StrAppend(&r.description, "Customers keep asking about: ", name,
                      ". Answer it for good (product, docs or onboarding).\n");
      break;
    default:
      absl::StrAppend(&r.description, "Root cause: ", name, "\n");
  }
  if (cat && !cat->description().empty())
    absl::StrAppend(&r.description, "\n", cat->description(), "\n");
  if (task.regression_of() != 0) {
    auto old = tx.GetTask(task.regression_of());
    if (!old.ok()) return old.status();
    if (*old) {
      absl::StrAppend(
          &r.description, "\nRegression: this cause came back after ",
          (*old)->external_key().empty() ? absl::StrCat("task ", (*old)->id())
                                         : (*old)->external_key(),
          (*old)->url().empty() ? "" : absl::StrCat(" (", (*old)->url(), ")"), " was done",
          (*old)->has_done_at() ? absl::StrCat(" on ", Day(base::FromTimestamp((*old)->done_at())))
                                : "",
          ".\n");
    }
  }
  absl::StrAppend(&r.description,
                  "\nOpened by Debrief from support tickets tagged with this cause. Debrief keeps "
                  "the impact below current, tells every linked ticket when this ships, and "
                  "then checks that the tickets stop.\n");

  // Impact.
  std::set<std::string> customers;
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  for (const spi::TicketRecord& rec : *records) {
    customers.insert(CustomerKey(rec.ticket));
    first = std::min(first, rec.first_seen);
    last = std::max(last, rec.first_seen);
  }
  std::string& im = r.impact;
  absl::StrAppend(&im, "### Impact (kept current by Debrief; updated ",
                  absl::FormatTime("%Y-%m-%d %H:%M UTC", now, absl::UTCTimeZone()), ")\n\n");
  absl::StrAppend(&im, "- Tickets: ", records->size(), " from ", customers.size(), " customers\n");
  if (!records->empty())
    absl::StrAppend(&im, "- First seen ", Day(first), ", last seen ", Day(last), "\n");
  absl::StrAppend(&im, "- Weekly tickets, last ", kWeeks, " weeks: ", WeeklyTrend(*records, now),
                  "\n");
  if (task.status() == v1::TASK_DONE && task.has_done_at())
    absl::StrAppend(&im, "- Fixed on ", Day(base::FromTimestamp(task.done_at())),
                    ", not yet shipped: the linked tickets are told when the release is out.\n");
  if (task.status() == v1::TASK_SHIPPED && task.has_shipped_at())
    absl::StrAppend(
        &im, "- Shipped", task.release().empty() ? "" : absl::StrCat(" in ", task.release()),
        " on ", Day(base::FromTimestamp(task.shipped_at())), "; the linked tickets were told.\n");
  if (task.has_verification()) absl::StrAppend(&im, "- ", task.verification().summary(), "\n");

  // Quotes: the most confident tickets, one per customer and each saying something new (a
  // macro or a form sends the same words many times), personal data removed.
  std::vector<const spi::TicketRecord*> by_conf;
  for (const auto& rec : *records)
    if (!rec.ticket.body().empty() || !rec.ticket.subject().empty()) by_conf.push_back(&rec);
  std::stable_sort(by_conf.begin(), by_conf.end(), [](const auto* a, const auto* b) {
    double ca = a->classification ? a->classification->confidence() : 0;
    double cb = b->classification ? b->classification->confidence() : 0;
    return ca > cb;
  });
  std::set<std::string> quoted;
  std::vector<std::string> quotes;
  for (const auto* rec : by_conf) {
    if (quotes.size() >= loop.quotes()) break;
    if (!quoted.insert(CustomerKey(rec->ticket)).second) continue;
    const std::string& words =
        rec->ticket.body().empty() ? rec->ticket.subject() : rec->ticket.body();
    std::string quote = redactor.Redact(Excerpt(words), rec->ticket.requester());
    if (std::find(quotes.begin(), quotes.end(), quote) == quotes.end())
      quotes.push_back(std::move(quote));
  }
  if (!quotes.empty()) {
    absl::StrAppend(&im, "\nWhat customers say (personal data removed):\n");
    for (const auto& q : quotes) absl::StrAppend(&im, "> ", q, "\n");
  }

  // Credits.
  if (kind == v1::SUGGESTION && !records->empty()) {
    absl::StrAppend(&im, "\nSuggested by ", customers.size(),
                    customers.size() == 1 ? " customer" : " customers", " (earliest first):\n");
    std::set<std::string> credited;
    size_t listed = 0;
    for (const auto& rec : *records) {
      if (!credited.insert(CustomerKey(rec.ticket)).second) continue;
      if (++listed > kListedTickets) break;
      // The helpdesk's id for the person, never a name or address (some helpdesks use the
      // e-mail address as the id: then the ticket names the person instead).
      const std::string& id = rec.ticket.requester().id();
      const std::string shown = id.empty() ? id : redactor.Redact(id, rec.ticket.requester());
      absl::StrAppend(&im, "- ",
                      shown.empty() || shown != id ? std::string("the requester")
                                                   : absl::StrCat("customer ", shown),
                      " of ticket ", rec.ticket.helpdesk_id(), "/", rec.ticket.ticket_id(), ", ",
                      Day(rec.first_seen), "\n");
    }
  }
  if (kind == v1::PRAISE) {
    std::map<std::string, int> agents;
    for (const auto& rec : *records)
      if (!rec.ticket.assignee().name().empty()) ++agents[rec.ticket.assignee().name()];
    if (!agents.empty()) {
      std::vector<std::string> names;
      for (const auto& [n, c] : agents) names.push_back(absl::StrCat(n, " (", c, ")"));
      absl::StrAppend(
          &im, "\nCredited agents (tickets praising them): ", absl::StrJoin(names, ", "), "\n");
    }
  }

  // Links back.
  absl::StrAppend(&im, "\nLinked tickets:\n");
  size_t listed = 0;
  for (const auto& rec : *records) {
    spi::LinkedTicket lt{rec.ticket.helpdesk_id(), rec.ticket.ticket_id(),
                         redactor.Redact(rec.ticket.subject(), rec.ticket.requester()),
                         rec.ticket.url()};
    if (++listed <= kListedTickets) {
      absl::StrAppend(&im, "- ", lt.helpdesk_id, "/", lt.ticket_id,
                      lt.subject.empty() ? "" : absl::StrCat(": ", lt.subject),
                      lt.url.empty() ? "" : absl::StrCat(" ", lt.url), "\n");
    }
    r.tickets.push_back(std::move(lt));
  }
  if (records->size() > kListedTickets)
    absl::StrAppend(&im, "- … and ", records->size() - kListedTickets,
                    " more (linked on the task)\n");
  return r;
}

}  // namespace debrief::loop
