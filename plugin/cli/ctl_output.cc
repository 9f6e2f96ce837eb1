#include "cli/ctl_output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/time_util.h"
#include "debrief/v1/services.pb.h"

namespace debrief::cli {
namespace {

Output g_output = Output::kAuto;
const std::string kNone = "-";

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

std::string When(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M", base::FromTimestamp(t), absl::LocalTimeZone());
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
      return "done";
    case v1::TASK_WONT_DO:
      return "won't do";
    default:
      return "-";
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

std::string Tasks(const v1::ListTasksResponse& r) {
  if (r.tasks().empty()) return "No tasks.\n";
  Table t({"ID", "CAUSE", "STATUS", "TICKETS", "CUSTOMERS", "LAST TICKET", "TRACKER", "TITLE"});
  for (const auto& k : r.tasks()) {
    const std::string& tracker = !k.external_key().empty() ? k.external_key()
                                 : !k.url().empty()        ? k.url()
                                                           : kNone;
    const std::string status =
        absl::StrCat(StatusWords(k.status()), k.flagged() ? " (flagged)" : "");
    t.Row({absl::StrCat(k.id()), k.category_id(), status, absl::StrCat(k.ticket_count()),
           absl::StrCat(k.customer_count()), When(k.last_seen()),
           absl::StrCat(k.tracker_id(), " ", tracker), k.title()});
  }
  return t.Render();
}

std::string Task(const v1::GetTaskResponse& r) {
  const auto& k = r.task();
  std::string out = absl::StrCat("Task ", k.id(), ": ", Printable(k.title()), "\n");
  absl::StrAppend(&out, "  cause:      ", k.category_id(), "\n");
  absl::StrAppend(&out, "  status:     ", StatusWords(k.status()), k.flagged() ? " (flagged)" : "",
                  "\n");
  absl::StrAppend(&out, "  tracker:    ", k.tracker_id(), " ",
                  k.external_key().empty() ? "-" : k.external_key(), k.url().empty() ? "" : "  ",
                  k.url(), "\n");
  absl::StrAppend(&out, "  impact:     ", k.ticket_count(), " tickets, ", k.customer_count(),
                  " customers, first ", When(k.first_seen()), ", last ", When(k.last_seen()), "\n");
  if (k.has_done_at()) absl::StrAppend(&out, "  done:       ", When(k.done_at()), "\n");
  if (k.has_verification()) {
    const char* verdict = "-";
    switch (k.verification().verdict()) {
      case v1::FixVerification::VERIFIED:
        verdict = "verified: the cause went down";
        break;
      case v1::FixVerification::NOT_YET_KNOWN:
        verdict = "not yet known";
        break;
      case v1::FixVerification::NOT_VERIFIED:
        verdict = "not verified: the cause is still coming in";
        break;
      default:
        break;
    }
    absl::StrAppend(&out, "  fix:        ", verdict, "\n");
  }
  if (!r.history().empty()) {
    absl::StrAppend(&out, "  history:\n");
    for (const auto& h : r.history())
      absl::StrAppend(&out, "    ", When(h.at()), "  ", StatusWords(h.status()), "\n");
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
    if (c.needs_review()) absl::StrAppend(&out, ", needs review");
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
           When(k.created_at()), When(k.last_used_at()), k.revoked() ? "revoked" : "active"});
  }
  return t.Render();
}

std::string Adapters(const v1::ListAdaptersResponse& r) {
  Table t({"ID", "KIND", "TYPE", "WEBHOOK", "LAST WEBHOOK", "REFUSED 1H", "CALLS OK/FAILED",
           "LAST ERROR", "OUTBOX"});
  for (const auto& a : r.adapters()) {
    const v1::AdapterHealth& h = a.health();
    std::vector<std::string> refused;
    for (const auto& [reason, n] : h.refusals_last_hour())
      refused.push_back(absl::StrCat(reason, " ", n));
    std::sort(refused.begin(), refused.end());
    t.Row(
        {a.id(), a.kind(), a.type(),
         !a.webhook_url().empty()    ? a.webhook_url()
         : !a.webhook_path().empty() ? a.webhook_path()
                                     : "-",
         When(h.last_webhook()), refused.empty() ? "-" : absl::StrJoin(refused, ", "),
         absl::StrCat(h.calls_ok(), "/", h.calls_failed(),
                      h.rate_limit_waits() > 0
                          ? absl::StrCat(" (", h.rate_limit_waits(), " rate-limited)")
                          : ""),
         h.last_error().empty() ? "-" : absl::StrCat(When(h.last_error_at()), " ", h.last_error()),
         absl::StrCat(h.outbox_pending(), " waiting",
                      h.outbox_dead() > 0 ? absl::StrCat(", ", h.outbox_dead(), " failed") : "")});
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
    t.Row({absl::StrCat(e.id()), When(e.at()), e.actor(), e.action(), e.target(), e.outcome()});
  return t.Render();
}

std::string Check(const v1::CheckAdapterResponse& r) {
  return absl::StrCat(r.ok() ? "OK" : "FAILED", r.message().empty() ? "" : ": ",
                      Printable(r.message()), "\n");
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
  Table t({"ID", "TICKETS", "WORDS", "FIRST", "LAST", "EXAMPLE"});
  for (const auto& e : r.issues())
    t.Row({absl::StrCat(e.id()), absl::StrCat(e.size()), absl::StrJoin(e.top_terms(), ", "),
           When(e.first_seen()), When(e.last_seen()), e.examples().empty() ? "-" : e.examples(0)});
  return t.Render();
}

}  // namespace

void SetOutput(Output o) { g_output = o; }

bool ForPeople() {
  if (g_output == Output::kAuto) return isatty(STDOUT_FILENO) != 0;
  return g_output == Output::kTable;
}

Table::Table(std::vector<std::string> headers, size_t max_cell)
    : headers_(std::move(headers)), max_cell_(max_cell) {}

void Table::Row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (auto& c : cells) c = Cut(Printable(c), max_cell_);
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> width(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) width[i] = Width(headers_[i]);
  for (const auto& r : rows_)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], Width(r[i]));
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(width[i] - Width(cells[i]) + 2, ' ');
    }
    out += std::string(absl::StripTrailingAsciiWhitespace(l)) + "\n";
  };
  line(headers_);
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
  return "";
}

}  // namespace debrief::cli
