#include "cli/ctl_output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/time_util.h"
#include "debrief/v1/services.pb.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace debrief::cli {
namespace {

Output g_output = Output::kAuto;
const std::string kNone = "-";
bool g_fixed_clock = false;
absl::Time g_now;
absl::TimeZone g_zone;
int g_colour = -1;  // -1: decided from the terminal and NO_COLOR

absl::Time Now() { return g_fixed_clock ? g_now : absl::Now(); }
absl::TimeZone Zone() { return g_fixed_clock ? g_zone : absl::LocalTimeZone(); }

bool Colour() {
  if (g_colour < 0) {
    const char* term = getenv("TERM");
    g_colour = ForPeople() && isatty(STDOUT_FILENO) != 0 && getenv("NO_COLOR") == nullptr &&
                       !(term != nullptr && std::string(term) == "dumb")
                   ? 1
                   : 0;
  }
  return g_colour == 1;
}

constexpr const char* kGreen = "32";
constexpr const char* kRed = "31";
constexpr const char* kYellow = "33";
constexpr const char* kDim = "2";
constexpr const char* kBold = "1";

// Characters in UTF-8 text: the bytes that do not continue a sequence.
size_t Width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// The first `n` characters of `s` (whole UTF-8 sequences), with an ellipsis if it was longer.
std::string Cut(const std::string& s, size_t n) {
  if (Width(s) <= n) return s;
  size_t chars = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && chars++ == n - 1) break;
  }
  return s.substr(0, i) + "…";
}

// Control characters (a newline in a subject, an escape sequence) never reach the terminal.
std::string Printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  return out;
}

std::string Paint(const std::string& text, const char* colour) {
  if (colour == nullptr || !Colour()) return text;
  return absl::StrCat("\x1b[", colour, "m", text, "\x1b[0m");
}

// A time as people say it: "just now", "5 min ago", "3 h ago", "2 days ago", then the date;
// "in 4 min" for one to come. With -o wide, the local date and time.
std::string When(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  const absl::Time at = base::FromTimestamp(t);
  if (g_output == Output::kWide) return absl::FormatTime("%Y-%m-%d %H:%M", at, Zone());
  const absl::Duration d = Now() - at;
  const absl::Duration ad = absl::AbsDuration(d);
  auto words = [&]() -> std::string {
    if (ad < absl::Seconds(45)) return "";
    if (ad < absl::Hours(1))
      return absl::StrCat(std::max<int64_t>(1, absl::ToInt64Minutes(ad + absl::Seconds(30))),
                          " min");
    if (ad < absl::Hours(36)) return absl::StrCat(absl::ToInt64Hours(ad + absl::Minutes(30)), " h");
    if (ad < absl::Hours(24 * 14)) {
      const int64_t days = absl::ToInt64Hours(ad + absl::Hours(12)) / 24;
      return absl::StrCat(days, days == 1 ? " day" : " days");
    }
    return "date";
  };
  const std::string w = words();
  if (w.empty()) return "just now";
  if (w == "date") return absl::FormatTime("%Y-%m-%d", at, Zone());
  return d >= absl::ZeroDuration() ? absl::StrCat(w, " ago") : absl::StrCat("in ", w);
}

std::string StatusWords(v1::TaskStatus s) {
  switch (s) {
    case v1::TASK_PENDING_CREATE:
      return "pending create";
    case v1::TASK_OPEN:
      return "open";
    case v1::TASK_IN_PROGRESS:
      return "in progress";
    case v1::TASK_DONE:
      return "fixed, not shipped";
    case v1::TASK_SHIPPED:
      return "shipped";
    case v1::TASK_WONT_DO:
      return "won't do";
    default:
      return "-";
  }
}

const char* StatusColour(v1::TaskStatus s) {
  switch (s) {
    case v1::TASK_SHIPPED:
      return kGreen;
    case v1::TASK_DONE:
    case v1::TASK_IN_PROGRESS:
      return kYellow;
    case v1::TASK_WONT_DO:
      return kDim;
    default:
      return nullptr;
  }
}

std::string Percent(double confidence) {
  return absl::StrCat(static_cast<int>(confidence * 100 + 0.5), "%");
}

// A reason's feature as words: the classifier's features are quoted words and word pairs.
std::string ReasonWords(const std::string& feature) {
  std::string s = absl::StrReplaceAll(feature, {{"\"", ""}});
  return std::string(absl::StripAsciiWhitespace(s));
}

// Where a task's tickets are heading: the last four weeks against the four before ("↑" more,
// "↓" fewer, "→" as many, "-" when its weeks are unknown).
std::string Trend(const v1::ImprovementTask& k) {
  const int n = k.weekly_tickets_size();
  if (n < 2) return kNone;
  const int half = n / 2;
  int64_t before = 0, recent = 0;
  for (int i = 0; i < n; ++i) (i < n - half ? before : recent) += k.weekly_tickets(i);
  return recent > before ? "↑" : recent < before ? "↓" : "→";
}

std::string Tasks(const v1::ListTasksResponse& r) {
  if (r.tasks().empty()) return "No tasks.\n";
  Table t({"ID", "CAUSE", "STATUS", "TICKETS", "CUSTOMERS", "TREND", "LAST TICKET", "CHANGED",
           "TRACKER", "TITLE"},
          {"FIRST TICKET", "WEEKLY", "URL"});
  for (const auto& k : r.tasks()) {
    const std::string& tracker = !k.external_key().empty()  ? k.external_key()
                                 : !k.external_id().empty() ? k.external_id()
                                                            : kNone;
    const std::string status =
        absl::StrCat(StatusWords(k.status()), k.flagged() ? " (flagged)" : "");
    t.Row({absl::StrCat(k.id()), k.category_id(), Cell(status, StatusColour(k.status())),
           absl::StrCat(k.ticket_count()), absl::StrCat(k.customer_count()), Trend(k),
           When(k.last_seen()), When(k.updated_at()), absl::StrCat(k.tracker_id(), " ", tracker),
           k.title(), When(k.first_seen()),
           k.weekly_tickets().empty() ? kNone : absl::StrJoin(k.weekly_tickets(), " "),
           k.url().empty() ? kNone : k.url()});
  }
  return t.Render();
}

std::string Task(const v1::GetTaskResponse& r) {
  const auto& k = r.task();
  std::string out = absl::StrCat("Task ", k.id(), ": ", Printable(k.title()), "\n");
  absl::StrAppend(&out, "  cause:      ", k.category_id(), "\n");
  absl::StrAppend(&out, "  status:     ", Paint(StatusWords(k.status()), StatusColour(k.status())),
                  k.flagged() ? " (flagged)" : "", "\n");
  absl::StrAppend(&out, "  tracker:    ", k.tracker_id(), " ",
                  k.external_key().empty() ? "-" : k.external_key(), k.url().empty() ? "" : "  ",
                  k.url(), "\n");
  absl::StrAppend(&out, "  impact:     ", k.ticket_count(), " tickets, ", k.customer_count(),
                  " customers, first ", When(k.first_seen()), ", last ", When(k.last_seen()), "\n");
  if (k.has_done_at()) absl::StrAppend(&out, "  done:       ", When(k.done_at()), "\n");
  if (k.has_shipped_at())
    absl::StrAppend(&out, "  shipped:    ", When(k.shipped_at()),
                    k.release().empty() ? "" : absl::StrCat(" in ", Printable(k.release())), "\n");
  if (k.has_verification()) {
    const char* verdict = "-";
    const char* colour = nullptr;
    switch (k.verification().verdict()) {
      case v1::FixVerification::VERIFIED:
        verdict = "verified: the cause went down";
        colour = kGreen;
        break;
      case v1::FixVerification::NOT_YET_KNOWN:
        verdict = "not yet known";
        break;
      case v1::FixVerification::NOT_VERIFIED:
        verdict = "not verified: the cause is still coming in";
        colour = kRed;
        break;
      default:
        break;
    }
    absl::StrAppend(&out, "  fix:        ", Paint(verdict, colour), "\n");
  }
  if (!r.history().empty()) {
    absl::StrAppend(&out, "  history:\n");
    size_t w = 0;
    for (const auto& h : r.history()) w = std::max(w, Width(When(h.at())));
    for (const auto& h : r.history()) {
      const std::string when = When(h.at());
      absl::StrAppend(&out, "    ", when, std::string(w - Width(when) + 2, ' '),
                      Paint(StatusWords(h.status()), StatusColour(h.status())),
                      h.release().empty() ? "" : absl::StrCat(" in ", Printable(h.release())),
                      "\n");
    }
  }
  absl::StrAppend(&out, "  tickets:    ", r.links_size(), " linked\n");
  Table t({"HELPDESK", "TICKET", "LINKED"});
  for (const auto& l : r.links()) t.Row({l.helpdesk_id(), l.ticket_id(), When(l.linked_at())});
  if (!t.empty()) {
    for (absl::string_view line : absl::StrSplit(t.Render(), '\n', absl::SkipEmpty()))
      absl::StrAppend(&out, "    ", line, "\n");
  }
  return out;
}

std::string Ticket(const v1::GetTicketResponse& r) {
  const auto& k = r.ticket();
  std::string out = absl::StrCat("Ticket ", k.helpdesk_id(), "/", k.ticket_id(), ": ",
                                 Printable(k.subject()), "\n");
  absl::StrAppend(&out, "  status:     ", k.status().empty() ? "-" : k.status(), "\n");
  if (r.has_classification()) {
    const auto& c = r.classification();
    absl::StrAppend(&out, "  cause:      ", c.category_id().empty() ? "none" : c.category_id());
    if (c.model() == "agent")
      absl::StrAppend(&out, " (set by an agent)");
    else if (!c.category_id().empty())
      absl::StrAppend(&out, " (", Percent(c.confidence()), " confident)");
    if (c.needs_review()) absl::StrAppend(&out, ", ", Paint("needs review", kYellow));
    absl::StrAppend(&out, "\n");
    if (!c.reasons().empty()) {
      std::vector<std::string> words;
      for (const auto& reason : c.reasons()) words.push_back(ReasonWords(reason.feature()));
      absl::StrAppend(&out, "  because:    ", absl::StrJoin(words, ", "), "\n");
    }
    if (!c.alternatives().empty()) {
      std::vector<std::string> alts;
      for (const auto& a : c.alternatives())
        if (a.confidence() >= 0.01)
          alts.push_back(absl::StrCat(a.category_id(), " ", Percent(a.confidence())));
      if (!alts.empty()) absl::StrAppend(&out, "  or else:    ", absl::StrJoin(alts, ", "), "\n");
    }
  } else {
    absl::StrAppend(&out, "  cause:      not classified yet\n");
  }
  if (r.has_task()) {
    const auto& t = r.task();
    absl::StrAppend(&out, "  task:       ", t.id(), " ", Printable(t.title()), " (",
                    StatusWords(t.status()), ", ", t.ticket_count(), " tickets)\n");
  } else {
    absl::StrAppend(&out, "  task:       not linked\n");
  }
  return out;
}

std::string Tokens(const v1::ListApiTokensResponse& r) {
  if (r.tokens().empty()) return "No API tokens.\n";
  Table t({"ID", "NAME", "ROLE", "HELPDESK", "CREATED", "LAST USED", "STATE"});
  for (const auto& k : r.tokens()) {
    const std::string role = absl::StrCat(k.role(), k.installation() ? " (installation)" : "");
    t.Row({absl::StrCat(k.id()), k.name(), role, k.helpdesk_id().empty() ? "all" : k.helpdesk_id(),
           When(k.created_at()), When(k.last_used_at()),
           k.revoked() ? Cell("revoked", kDim) : Cell("active", kGreen)});
  }
  return t.Render();
}

// OK, or what is wrong first: calls failing since the last success, actions failed for good.
Cell HealthOf(const v1::AdapterHealth& h) {
  const auto t = [](const google::protobuf::Timestamp& ts) {
    return ts.seconds() * 1'000'000'000LL + ts.nanos();
  };
  if (!h.last_error().empty() &&
      (!h.has_last_success() || t(h.last_error_at()) > t(h.last_success())))
    return Cell("FAILING", kRed);
  if (h.outbox_dead() > 0) return Cell("FAILED ACTIONS", kRed);
  if (!h.refusals_last_hour().empty()) return Cell("REFUSING", kYellow);
  return Cell("OK", kGreen);
}

std::string Adapters(const v1::ListAdaptersResponse& r) {
  Table t({"ID", "KIND", "TYPE", "HEALTH", "LAST WEBHOOK", "REFUSED 1H", "OUTBOX", "LAST ERROR"},
          {"WEBHOOK", "CALLS OK/FAILED", "LISTED TO", "NEXT LISTING"});
  for (const auto& a : r.adapters()) {
    const v1::AdapterHealth& h = a.health();
    std::vector<std::string> refused;
    for (const auto& [reason, n] : h.refusals_last_hour())
      refused.push_back(absl::StrCat(reason, " ", n));
    std::sort(refused.begin(), refused.end());
    t.Row({a.id(), a.kind(), a.type(), HealthOf(h), When(h.last_webhook()),
           refused.empty() ? kNone : absl::StrJoin(refused, ", "),
           absl::StrCat(h.outbox_pending(), " waiting",
                        h.outbox_dead() > 0 ? absl::StrCat(", ", h.outbox_dead(), " failed") : ""),
           h.last_error().empty() ? kNone
                                  : absl::StrCat(When(h.last_error_at()), ": ", h.last_error()),
           !a.webhook_url().empty()    ? a.webhook_url()
           : !a.webhook_path().empty() ? a.webhook_path()
                                       : kNone,
           absl::StrCat(h.calls_ok(), "/", h.calls_failed(),
                        h.rate_limit_waits() > 0
                            ? absl::StrCat(" (", h.rate_limit_waits(), " rate-limited)")
                            : ""),
           When(h.reconciled_to()), When(h.next_reconcile())});
  }
  return t.Render();
}

std::string DeadActions(const v1::ListDeadActionsResponse& r) {
  if (r.dead_actions().empty()) return "No failed actions.\n";
  Table t({"ID", "ADAPTER", "ACTION", "TICKET", "TASK", "QUEUED", "ATTEMPTS", "ERROR"});
  for (const auto& d : r.dead_actions())
    t.Row(
        {absl::StrCat(d.id()), d.adapter_id(), d.kind(),
         d.has_ticket() ? absl::StrCat(d.ticket().helpdesk_id(), "/", d.ticket().ticket_id()) : "-",
         d.task_id() > 0 ? absl::StrCat(d.task_id()) : "-", When(d.created_at()),
         absl::StrCat(d.attempts()), d.error()});
  return t.Render();
}

std::string Audit(const v1::ListAuditResponse& r) {
  if (r.entries().empty()) return "Nothing recorded.\n";
  Table t({"ID", "WHEN", "WHO", "ACTION", "TARGET", "OUTCOME"});
  for (const auto& e : r.entries())
    t.Row({absl::StrCat(e.id()), When(e.at()), e.actor(), e.action(), e.target(),
           Cell(e.outcome(), e.outcome() == "ok" ? kGreen : kRed)});
  return t.Render();
}

std::string Reloaded(const v1::ReloadResponse& r) {
  std::string out;
  if (r.changes().empty()) {
    out = absl::StrCat(Printable(r.file()), ": no setting changed.\n");
  } else {
    Table t({"SETTING", "BEFORE", "AFTER"});
    for (const auto& c : r.changes())
      t.Row({Printable(c.path()), c.before().empty() ? "(unset)" : Printable(c.before()),
             c.after().empty() ? "(unset)" : Printable(c.after())});
    out = t.Render();
  }
  if (!r.restart_needed().empty()) {
    absl::StrAppend(&out, Paint("Nothing applied", kRed),
                    ": these take a restart of debriefd (or change them back):\n");
    for (const auto& why : r.restart_needed()) absl::StrAppend(&out, "  ", Printable(why), "\n");
  } else if (r.applied()) {
    absl::StrAppend(&out, Paint("Applied", kGreen), ": debriefd runs this configuration since ",
                    When(r.loaded_at()), ".\n");
  } else if (!r.changes().empty()) {
    absl::StrAppend(&out, "Not applied (--dry-run). debriefctl reload applies it.\n");
  }
  return out;
}

std::string Check(const v1::CheckAdapterResponse& r) {
  return absl::StrCat(r.ok() ? Paint("OK", kGreen) : Paint("FAILED", kRed),
                      r.message().empty() || r.message() == "ok" ? "" : ": ",
                      r.message() == "ok" ? "" : Printable(r.message()), "\n");
}

std::string Types(const v1::ListAdapterTypesResponse& r) {
  if (r.types_size() != 1) {
    Table t({"TYPE", "KIND", "ABOUT"}, {}, 90);
    for (const auto& a : r.types()) t.Row({a.type(), a.kind(), a.help()});
    return t.Render();
  }
  const v1::AdapterType& a = r.types(0);
  std::string out = absl::StrCat(Paint(a.type(), kBold), " (", a.kind(), "): ", a.help(), "\n\n");
  Table t({"SETTING", "TYPE", "HELP"}, {}, 200);
  std::function<void(const google::protobuf::RepeatedPtrField<v1::SettingField>&)> add =
      [&](const auto& fields) {
        for (const auto& f : fields) {
          if (f.type() == "group") {
            add(f.fields());
            continue;
          }
          t.Row({f.path(), f.type(), f.help()});
        }
      };
  add(a.fields());
  return absl::StrCat(out, t.Render());
}

std::string Setup(const v1::AdapterSetup& s) {
  if (s.steps().empty()) return "";
  std::string out = "On the vendor's side:\n";
  int n = 0;
  for (const auto& step : s.steps()) {
    absl::StrAppend(&out, "  ", ++n, ". ", Paint(Printable(step.title()), kBold), "\n");
    if (!step.detail().empty()) absl::StrAppend(&out, "     ", Printable(step.detail()), "\n");
    if (!step.value().empty()) absl::StrAppend(&out, "       ", Printable(step.value()), "\n");
  }
  return out;
}

std::string Saved(const v1::SaveAdapterResponse& r) {
  std::string out = absl::StrCat(Paint("Saved", kGreen), " to ", Printable(r.file()),
                                 r.check() == "skipped" ? " (not checked)" : " (checked)", ".\n");
  for (const auto& f : r.secret_files())
    absl::StrAppend(&out, "Secret written to ", Printable(f), " (0600).\n");
  absl::StrAppend(&out, Reloaded(r.reload()));
  if (!r.setup().webhook_path().empty())
    absl::StrAppend(
        &out, "\nWebhook URL: ",
        r.setup().webhook_url().empty() ? r.setup().webhook_path() : r.setup().webhook_url(), "\n");
  std::string steps = Setup(r.setup());
  if (!steps.empty()) absl::StrAppend(&out, "\n", steps);
  return out;
}

std::string Review(const v1::ListReviewResponse& r) {
  if (r.tickets().empty()) return "Nothing waits for review.\n";
  Table t({"TICKET", "FIRST SEEN", "BEST GUESS", "WORTH", "SUBJECT"}, {"OR ELSE"});
  for (const auto& i : r.tickets()) {
    const auto& c = i.classification();
    std::vector<std::string> alts;
    for (const auto& a : c.alternatives())
      if (a.confidence() >= 0.01)
        alts.push_back(absl::StrCat(a.category_id(), " ", Percent(a.confidence())));
    t.Row({absl::StrCat(i.ticket().helpdesk_id(), "/", i.ticket().ticket_id()),
           When(i.first_seen()),
           c.category_id().empty()
               ? "none"
               : absl::StrCat(c.category_id(), " ", Percent(c.confidence()), ", ", i.cause_size(),
                              i.cause_size() == 1 ? " ticket" : " tickets"),
           absl::StrFormat("%.2f", i.worth()), i.subject(),
           alts.empty() ? kNone : absl::StrJoin(alts, ", ")});
  }
  return t.Render();
}

std::string DeadLetters(const v1::ListDeadLettersResponse& r) {
  if (r.dead_letters().empty()) return "No dead letters.\n";
  Table t({"SEQ", "ADAPTER", "DELIVERY", "RECEIVED", "FAILED", "ATTEMPTS", "ERROR"});
  for (const auto& d : r.dead_letters())
    t.Row({absl::StrCat(d.seq()), d.adapter_id(), d.delivery_key(), When(d.received_at()),
           When(d.failed_at()), absl::StrCat(d.attempts()), d.error()});
  return t.Render();
}

std::string Emerging(const v1::ListEmergingResponse& r) {
  if (r.issues().empty()) return "No emerging issues.\n";
  Table t({"ID", "TICKETS", "NAME TO START FROM", "FIRST", "LAST", "CLOSEST TICKET"}, {"WORDS"});
  for (const auto& e : r.issues()) {
    const std::string example = !e.representatives().empty() ? e.representatives(0).subject()
                                : !e.examples().empty()      ? e.examples(0)
                                                             : "-";
    t.Row({absl::StrCat(e.id()), absl::StrCat(e.size()),
           e.suggested_name().empty() ? "-" : e.suggested_name(), When(e.first_seen()),
           When(e.last_seen()), example, absl::StrJoin(e.top_terms(), ", ")});
  }
  return t.Render();
}

// One change between two taxonomy versions, as diff, apply and history print it: what happened,
// padded so that the categories line up, the category, what it became, and what that does to
// the data in brackets.
std::string TaxonomyChangeLine(const v1::TaxonomyChange& c) {
  const char* word = "other";  // a kind this debriefctl does not know yet
  std::string detail;
  const std::string into = Printable(absl::StrJoin(c.into(), ", "));
  switch (c.kind()) {
    case v1::CATEGORY_ADDED:
      word = "added";
      break;
    case v1::CATEGORY_RENAMED:
      word = "renamed";
      detail = absl::StrCat(": \"", Printable(c.before()), "\" -> \"", Printable(c.after()), "\"");
      break;
    case v1::CATEGORY_CHANGED:
      word = "changed";
      if (!c.fields().empty())
        detail = absl::StrCat(": ", Printable(absl::StrJoin(c.fields(), ", ")));
      break;
    case v1::CATEGORY_RETIRED:
      word = "retired";
      break;
    case v1::CATEGORY_MERGED:
      word = "merged";
      if (!into.empty()) detail = absl::StrCat(" into ", into);
      break;
    case v1::CATEGORY_SPLIT:
      word = "split";
      if (!into.empty()) detail = absl::StrCat(" into ", into);
      break;
    case v1::CATEGORY_RESTORED:
      word = "restored";
      break;
    case v1::REVIEW_THRESHOLD_CHANGED:
      word = "threshold";
      detail = absl::StrCat("review below ", Printable(c.before()), " -> ", Printable(c.after()));
      break;
    default:
      break;
  }
  return absl::StrCat(absl::StrFormat("%-9s", word), Printable(c.category_id()), detail,
                      c.effect().empty() ? "" : absl::StrCat("  (", Printable(c.effect()), ")"));
}

std::string TaxonomyDiff(const v1::DiffTaxonomyResponse& r) {
  // debriefctl taxonomy diff names the file it read instead of "the file".
  if (r.changes().empty())
    return absl::StrCat("No change: the file is the running taxonomy (version ",
                        r.current_version(), ").\n");
  std::string out;
  for (const auto& c : r.changes()) absl::StrAppend(&out, TaxonomyChangeLine(c), "\n");
  return out;
}

std::string TaxonomyApplied(const v1::ApplyTaxonomyResponse& r) {
  const v1::TaxonomyVersion& v = r.version();
  if (!r.applied()) return absl::StrCat("No change; version ", v.version(), " stays.\n");
  std::string out = absl::StrCat("Taxonomy version ", v.version(), " applied by ",
                                 v.actor().empty() ? kNone : Printable(v.actor()), ", written to ",
                                 Printable(r.file()), "\n");
  for (const auto& c : v.changes()) absl::StrAppend(&out, "  ", TaxonomyChangeLine(c), "\n");
  return out;
}

// Newest first: a line per version (the version and the actor padded so that the columns line
// up), its changes indented under it. Times are exact: a version is looked up by when.
std::string TaxonomyVersions(const v1::TaxonomyHistoryResponse& r) {
  if (r.versions().empty()) return "No taxonomy version yet.\n";
  size_t vw = 0, aw = 0;
  for (const auto& v : r.versions()) {
    vw = std::max(vw, absl::StrCat(v.version()).size());
    aw = std::max(aw, Width(v.actor().empty() ? kNone : Printable(v.actor())));
  }
  std::string out;
  for (const auto& v : r.versions()) {
    const std::string n = absl::StrCat(v.version());
    const std::string actor = v.actor().empty() ? kNone : Printable(v.actor());
    const std::string at =
        v.has_at() ? absl::FormatTime("%Y-%m-%d %H:%M", base::FromTimestamp(v.at()), Zone())
                   : absl::StrFormat("%-16s", kNone);
    absl::StrAppend(&out, "v", n, std::string(vw - n.size() + 2, ' '), at, "  by ", actor,
                    std::string(aw - Width(actor) + 2, ' '), v.changes_size(),
                    v.changes_size() == 1 ? " change" : " changes", "\n");
    for (const auto& c : v.changes()) absl::StrAppend(&out, "  ", TaxonomyChangeLine(c), "\n");
  }
  return out;
}

}  // namespace

void SetOutput(Output o) { g_output = o; }
Output GetOutput() { return g_output; }

bool ForPeople() {
  if (g_output == Output::kAuto) return isatty(STDOUT_FILENO) != 0;
  return g_output == Output::kTable || g_output == Output::kWide;
}

void SetClockForTest(absl::Time now, absl::TimeZone zone) {
  g_fixed_clock = true;
  g_now = now;
  g_zone = zone;
}

void SetColour(bool on) { g_colour = on ? 1 : 0; }

Table::Table(std::vector<std::string> headers, std::vector<std::string> wide, size_t max_cell)
    : headers_(std::move(headers)), narrow_(headers_.size()), max_cell_(max_cell) {
  headers_.insert(headers_.end(), wide.begin(), wide.end());
}

void Table::Row(std::vector<Cell> cells) {
  cells.resize(headers_.size(), Cell(""));
  for (auto& c : cells) c.text = Cut(Printable(c.text), max_cell_);
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  const size_t n = g_output == Output::kWide ? headers_.size() : narrow_;
  std::vector<size_t> width(n);
  for (size_t i = 0; i < n; ++i) width[i] = Width(headers_[i]);
  for (const auto& r : rows_)
    for (size_t i = 0; i < n; ++i) width[i] = std::max(width[i], Width(r[i].text));
  std::string out;
  auto line = [&](const std::vector<Cell>& cells) {
    std::string l;
    for (size_t i = 0; i < n; ++i) {
      l += Paint(cells[i].text, cells[i].colour);
      if (i + 1 < n) l += std::string(width[i] - Width(cells[i].text) + 2, ' ');
    }
    out += std::string(absl::StripTrailingAsciiWhitespace(l)) + "\n";
  };
  std::vector<Cell> head;
  for (size_t i = 0; i < n; ++i) head.emplace_back(headers_[i], kBold);
  line(head);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string Readable(const google::protobuf::Message& m) {
  if (auto* r = dynamic_cast<const v1::ListTasksResponse*>(&m)) return Tasks(*r);
  if (auto* r = dynamic_cast<const v1::GetTaskResponse*>(&m)) return Task(*r);
  if (auto* r = dynamic_cast<const v1::GetTicketResponse*>(&m)) return Ticket(*r);
  if (auto* r = dynamic_cast<const v1::ListApiTokensResponse*>(&m)) return Tokens(*r);
  if (auto* r = dynamic_cast<const v1::ListAdaptersResponse*>(&m)) return Adapters(*r);
  if (auto* r = dynamic_cast<const v1::CheckAdapterResponse*>(&m)) return Check(*r);
  if (auto* r = dynamic_cast<const v1::ListDeadLettersResponse*>(&m)) return DeadLetters(*r);
  if (auto* r = dynamic_cast<const v1::ListDeadActionsResponse*>(&m)) return DeadActions(*r);
  if (auto* r = dynamic_cast<const v1::ListAuditResponse*>(&m)) return Audit(*r);
  if (auto* r = dynamic_cast<const v1::ListReviewResponse*>(&m)) return Review(*r);
  if (auto* r = dynamic_cast<const v1::ReloadResponse*>(&m)) return Reloaded(*r);
  if (auto* r = dynamic_cast<const v1::ListAdapterTypesResponse*>(&m)) return Types(*r);
  if (auto* r = dynamic_cast<const v1::SaveAdapterResponse*>(&m)) return Saved(*r);
  if (auto* r = dynamic_cast<const v1::RemoveAdapterResponse*>(&m))
    return absl::StrCat("Removed. ", Reloaded(r->reload()));
  if (auto* r = dynamic_cast<const v1::GetAdapterSetupResponse*>(&m)) {
    std::string steps = Setup(r->setup());
    return steps.empty() ? "Nothing to set up on the vendor's side: it sends no webhooks.\n"
                         : absl::StrCat("Webhook URL: ",
                                        r->setup().webhook_url().empty() ? r->setup().webhook_path()
                                                                         : r->setup().webhook_url(),
                                        "\n", steps);
  }
  if (auto* r = dynamic_cast<const v1::RetryDeadActionResponse*>(&m))
    return absl::StrCat(r->retried(), r->retried() == 1 ? " action" : " actions",
                        " back in the outbox, due now.\n");
  if (auto* r = dynamic_cast<const v1::DiscardDeadActionResponse*>(&m))
    return absl::StrCat(r->discarded(), r->discarded() == 1 ? " action" : " actions",
                        " discarded: never carried out.\n");
  if (auto* r = dynamic_cast<const v1::DiscardDeliveryResponse*>(&m))
    return absl::StrCat(r->discarded(), r->discarded() == 1 ? " delivery" : " deliveries",
                        " discarded: kept in the inbox, never processed.\n");
  if (auto* r = dynamic_cast<const v1::ListEmergingResponse*>(&m)) return Emerging(*r);
  if (auto* r = dynamic_cast<const v1::DiffTaxonomyResponse*>(&m)) return TaxonomyDiff(*r);
  if (auto* r = dynamic_cast<const v1::ApplyTaxonomyResponse*>(&m)) return TaxonomyApplied(*r);
  if (auto* r = dynamic_cast<const v1::TaxonomyHistoryResponse*>(&m)) return TaxonomyVersions(*r);
  return "";
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

namespace {

// Block-style YAML of a JSON value: strings double-quoted with JSON's escapes (valid YAML),
// keys bare where they are plain words.
void YamlOf(const nlohmann::ordered_json& v, int indent, std::string* out);

bool BareKey(const std::string& k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  }) && !absl::ascii_isdigit(static_cast<unsigned char>(k[0]));
}

std::string Scalar(const nlohmann::ordered_json& v) {
  return v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

bool Nested(const nlohmann::ordered_json& v) {
  return (v.is_object() || v.is_array()) && !v.empty();
}

void YamlOf(const nlohmann::ordered_json& v, int indent, std::string* out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (v.is_object()) {
    for (const auto& [k, x] : v.items()) {
      absl::StrAppend(out, pad, BareKey(k) ? k : Scalar(nlohmann::ordered_json(k)), ":");
      if (Nested(x)) {
        absl::StrAppend(out, "\n");
        YamlOf(x, indent + 2, out);
      } else {
        absl::StrAppend(out, " ", Scalar(x), "\n");
      }
    }
  } else if (v.is_array()) {
    for (const auto& x : v) {
      if (Nested(x)) {
        // "- " then the first line of the item on the same line, the rest indented under it.
        std::string item;
        YamlOf(x, indent + 2, &item);
        absl::StrAppend(out, pad, "- ", item.substr(static_cast<size_t>(indent) + 2));
      } else {
        absl::StrAppend(out, pad, "- ", Scalar(x), "\n");
      }
    }
  } else {
    absl::StrAppend(out, pad, Scalar(v), "\n");
  }
}

}  // namespace

std::string Yaml(const google::protobuf::Message& m) {
  // In the .proto's field order, as the JSON has it.
  const nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(Json(m), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Json(m);
  if (j.empty()) return j.is_array() ? "[]\n" : "{}\n";
  std::string out;
  YamlOf(j, 0, &out);
  return out;
}

}  // namespace debrief::cli
