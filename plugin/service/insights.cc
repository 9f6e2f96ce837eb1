// The leads' insights: each answer is assembled from the store's aggregates (cause_weeks, the
// tasks' kept counts, the outbox's record of who was told), never from a pass over tickets.

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/time_util.h"
#include "loop/stall.h"
#include "service/service.h"

namespace debrief::service {
namespace {

constexpr int kDefaultWeeks = 26;
constexpr int kMaxWeeks = 520;
constexpr int kGrowthWeeks = 4;

// The weeks an insight covers: [from_week, to_week), and the same as times.
struct Window {
  int64_t from_week = 0;
  int64_t to_week = 0;
  absl::Time from;
  absl::Time to;
};

absl::StatusOr<Window> WindowOf(const v1::InsightsFilter& f, absl::Time now) {
  Window w;
  const absl::Time to = f.has_to() ? base::FromTimestamp(f.to()) : now;
  w.to_week = spi::WeekOf(to) + 1;
  w.from_week =
      f.has_from() ? spi::WeekOf(base::FromTimestamp(f.from())) : w.to_week - kDefaultWeeks;
  if (w.from_week >= w.to_week)
    return absl::InvalidArgumentError("the filter's `from` must come before its `to`");
  if (w.to_week - w.from_week > kMaxWeeks)
    return absl::InvalidArgumentError(
        absl::StrCat("an insight covers at most ", kMaxWeeks, " weeks; narrow `from` and `to`"));
  w.from = spi::WeekStart(w.from_week);
  w.to = spi::WeekStart(w.to_week);
  return w;
}

void SetDuration(google::protobuf::Duration* out, absl::Duration d) {
  const int64_t us = absl::ToInt64Microseconds(d);
  out->set_seconds(us / 1000000);
  out->set_nanos(static_cast<int32_t>((us % 1000000) * 1000));
}

// The nearest-rank percentile of sorted durations.
absl::Duration Percentile(const std::vector<absl::Duration>& sorted, int pct) {
  const size_t rank = (sorted.size() * pct + 99) / 100;
  return sorted[std::max<size_t>(rank, 1) - 1];
}

void AddStage(v1::CauseCycle* cycle, const char* stage, std::vector<absl::Duration> d) {
  if (d.empty()) return;
  std::sort(d.begin(), d.end());
  v1::CycleStage* s = cycle->add_stages();
  s->set_stage(stage);
  s->set_tasks(static_cast<int32_t>(d.size()));
  SetDuration(s->mutable_median(), Percentile(d, 50));
  SetDuration(s->mutable_p90(), Percentile(d, 90));
}

}  // namespace

std::map<std::string, v1::Category> Service::CategoriesById() const {
  std::map<std::string, v1::Category> out;
  for (v1::Category& c : d_.policy.Categories()) {
    std::string id = c.id();
    out.emplace(std::move(id), std::move(c));
  }
  return out;
}

absl::StatusOr<v1::CausesOverTimeResponse> Service::CausesOverTime(
    const v1::CausesOverTimeRequest& req) {
  auto window = WindowOf(req.filter(), d_.clock.Now());
  if (!window.ok()) return window.status();
  const auto categories = CategoriesById();
  const size_t weeks = static_cast<size_t>(window->to_week - window->from_week);
  std::map<std::string, v1::CauseTrend> trends;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto rows = tx.CauseWeeks(req.filter().helpdesk_id(), window->from_week, window->to_week);
    if (!rows.ok()) return rows.status();
    for (const spi::CauseWeek& r : *rows) {
      // A merged category's tickets count as the one it went into, before the merge as well.
      const std::string& id = d_.policy.counts_as()(r.category_id);
      auto c = categories.find(id);
      const v1::CategoryKind kind =
          c != categories.end() ? c->second.kind() : v1::CATEGORY_KIND_UNSPECIFIED;
      if (req.filter().kind() != v1::CATEGORY_KIND_UNSPECIFIED && kind != req.filter().kind())
        continue;
      v1::CauseTrend& t = trends[id];
      if (t.category_id().empty()) {
        t.set_category_id(id);
        t.set_name(c != categories.end() && !c->second.name().empty() ? c->second.name() : id);
        t.set_kind(kind);
        t.mutable_weekly_tickets()->Resize(static_cast<int>(weeks), 0);
      }
      const int at = static_cast<int>(r.week - window->from_week);
      t.set_weekly_tickets(at, t.weekly_tickets(at) + r.tickets);
      t.set_tickets(t.tickets() + r.tickets);
      t.set_repeat_contacts(t.repeat_contacts() + r.repeats);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  v1::CausesOverTimeResponse res;
  for (int64_t w = window->from_week; w < window->to_week; ++w)
    base::SetTimestamp(res.add_weeks(), spi::WeekStart(w));
  std::vector<v1::CauseTrend*> order;
  for (auto& [id, t] : trends) order.push_back(&t);
  std::stable_sort(
      order.begin(), order.end(),
      [](const v1::CauseTrend* a, const v1::CauseTrend* b) { return a->tickets() > b->tickets(); });
  for (v1::CauseTrend* t : order) *res.add_causes() = std::move(*t);
  return res;
}

absl::StatusOr<v1::TasksByImpactResponse> Service::TasksByImpact(
    const v1::TasksByImpactRequest& req) {
  const absl::Time now = d_.clock.Now();
  const auto categories = CategoriesById();
  const v1::LoopConfig& loop = d_.config.loop();
  v1::TasksByImpactResponse res;
  res.set_stall_min_tickets(loop.stall_min_tickets());
  *res.mutable_stall_window() = loop.stall_window();
  std::vector<v1::TaskImpact> rows;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto tasks = tx.ListTasks({});
    if (!tasks.ok()) return tasks.status();
    for (v1::ImprovementTask& task : *tasks) {
      const v1::TaskStatus st = task.status();
      if (st != v1::TASK_PENDING_CREATE && st != v1::TASK_OPEN && st != v1::TASK_IN_PROGRESS)
        continue;
      auto c = categories.find(task.category_id());
      const v1::CategoryKind kind =
          c != categories.end() ? c->second.kind() : v1::CATEGORY_KIND_UNSPECIFIED;
      if (req.kind() != v1::CATEGORY_KIND_UNSPECIFIED && kind != req.kind()) continue;
      if (auto d = Decorate(tx, &task); !d.ok()) return d;
      v1::TaskImpact row;
      row.set_category_name(c != categories.end() ? c->second.name() : task.category_id());
      row.set_kind(kind);
      const int n = task.weekly_tickets_size();
      int64_t recent = 0, earlier = 0;
      for (int i = 0; i < n; ++i) {
        if (i >= n - kGrowthWeeks)
          recent += task.weekly_tickets(i);
        else if (i >= n - 2 * kGrowthWeeks)
          earlier += task.weekly_tickets(i);
      }
      row.set_recent_tickets(recent);
      row.set_earlier_tickets(earlier);
      row.set_growth(earlier > 0 ? static_cast<double>(recent) / static_cast<double>(earlier) - 1
                                 : 0);
      auto stall = loop::CheckStall(tx, task, loop, now);
      if (!stall.ok()) return stall.status();
      base::SetTimestamp(row.mutable_status_changed_at(), stall->status_changed_at);
      row.set_window_tickets(stall->window_tickets);
      row.set_stalled(stall->stalled);
      *row.mutable_task() = std::move(task);
      rows.push_back(std::move(row));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::stable_sort(rows.begin(), rows.end(), [](const v1::TaskImpact& a, const v1::TaskImpact& b) {
    if (a.task().ticket_count() != b.task().ticket_count())
      return a.task().ticket_count() > b.task().ticket_count();
    if (a.task().customer_count() != b.task().customer_count())
      return a.task().customer_count() > b.task().customer_count();
    return a.growth() > b.growth();
  });
  const size_t limit = req.limit() > 0 ? static_cast<size_t>(req.limit()) : 50;
  for (size_t i = 0; i < rows.size() && i < limit; ++i) *res.add_tasks() = std::move(rows[i]);
  return res;
}

absl::StatusOr<v1::FixOutcomesResponse> Service::FixOutcomes(const v1::FixOutcomesRequest& req) {
  auto window = WindowOf(req.filter(), d_.clock.Now());
  if (!window.ok()) return window.status();
  const auto categories = CategoriesById();
  std::vector<v1::FixOutcome> fixes;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto tasks = tx.ListTasks({});
    if (!tasks.ok()) return tasks.status();
    std::map<int64_t, int64_t> came_back;  // done task -> the task of its regression
    for (const v1::ImprovementTask& t : *tasks)
      if (t.regression_of() != 0) came_back[t.regression_of()] = t.id();
    for (v1::ImprovementTask& task : *tasks) {
      const bool shipped = task.status() == v1::TASK_SHIPPED;
      if ((!shipped && task.status() != v1::TASK_DONE) || !task.has_done_at()) continue;
      const absl::Time done = base::FromTimestamp(task.done_at());
      if (done < window->from || done >= window->to) continue;
      auto c = categories.find(task.category_id());
      const v1::CategoryKind kind =
          c != categories.end() ? c->second.kind() : v1::CATEGORY_KIND_UNSPECIFIED;
      if (req.filter().kind() != v1::CATEGORY_KIND_UNSPECIFIED && kind != req.filter().kind())
        continue;
      v1::FixOutcome f;
      f.set_category_name(c != categories.end() ? c->second.name() : task.category_id());
      if (auto b = came_back.find(task.id()); b != came_back.end()) f.set_came_back_as(b->second);
      if (task.has_first_seen()) *f.mutable_first_ticket() = task.first_seen();
      *f.mutable_opened() = task.created_at();
      *f.mutable_done() = task.done_at();
      if (shipped && task.has_shipped_at()) *f.mutable_shipped() = task.shipped_at();
      auto told = tx.ToldOfTask(task.id());
      if (!told.ok()) return told.status();
      f.set_tickets_told(told->tickets);
      f.set_customers_replied(told->replies);
      if (told->last) base::SetTimestamp(f.mutable_told(), *told->last);
      *f.mutable_task() = std::move(task);
      fixes.push_back(std::move(f));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::stable_sort(fixes.begin(), fixes.end(),
                   [](const v1::FixOutcome& a, const v1::FixOutcome& b) {
                     return base::FromTimestamp(a.done()) > base::FromTimestamp(b.done());
                   });

  // The steps of the loop, for every cause together and for each.
  struct Steps {
    std::vector<absl::Duration> to_task, to_done, to_shipped, to_told;
  };
  Steps all;
  std::map<std::string, std::pair<std::string, Steps>> per_cause;
  for (const v1::FixOutcome& f : fixes) {
    const absl::Time opened = base::FromTimestamp(f.opened());
    const absl::Time done = base::FromTimestamp(f.done());
    auto& [name, steps] = per_cause[f.task().category_id()];
    name = f.category_name();
    for (Steps* st : {&all, &steps}) {
      // A task an agent asked for before the cause's first linked ticket took no time to open.
      if (f.has_first_ticket())
        st->to_task.push_back(
            std::max(absl::ZeroDuration(), opened - base::FromTimestamp(f.first_ticket())));
      st->to_done.push_back(std::max(absl::ZeroDuration(), done - opened));
      if (!f.has_shipped()) continue;
      const absl::Time shipped = base::FromTimestamp(f.shipped());
      st->to_shipped.push_back(std::max(absl::ZeroDuration(), shipped - done));
      if (f.has_told())
        st->to_told.push_back(
            std::max(absl::ZeroDuration(), base::FromTimestamp(f.told()) - shipped));
    }
  }
  v1::FixOutcomesResponse res;
  auto add_cycle = [&res](const std::string& id, const std::string& name, Steps steps) {
    v1::CauseCycle* c = res.add_cycles();
    c->set_category_id(id);
    c->set_name(name);
    AddStage(c, "to_task", std::move(steps.to_task));
    AddStage(c, "to_done", std::move(steps.to_done));
    AddStage(c, "to_shipped", std::move(steps.to_shipped));
    AddStage(c, "to_told", std::move(steps.to_told));
  };
  if (!fixes.empty()) add_cycle("", "Every cause", std::move(all));
  for (auto& [id, entry] : per_cause) add_cycle(id, entry.first, std::move(entry.second));
  for (v1::FixOutcome& f : fixes) *res.add_fixes() = std::move(f);
  return res;
}

absl::StatusOr<v1::CustomersVoiceResponse> Service::CustomersVoice(
    const v1::CustomersVoiceRequest& req) {
  auto window = WindowOf(req.filter(), d_.clock.Now());
  if (!window.ok()) return window.status();
  const std::string& helpdesk = req.filter().helpdesk_id();
  const auto categories = CategoriesById();
  v1::CustomersVoiceResponse res;
  std::vector<v1::SuggestionVoice> suggestions;
  std::vector<v1::PraiseVoice> praise;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto rows = tx.CauseWeeks(helpdesk, window->from_week, window->to_week);
    if (!rows.ok()) return rows.status();
    std::map<std::string, int64_t> tickets;
    for (const spi::CauseWeek& r : *rows)
      tickets[d_.policy.counts_as()(r.category_id)] += r.tickets;
    for (const auto& [id, c] : categories) {
      if (!c.merged_into().empty()) continue;  // counted with the one it went into
      if (c.kind() == v1::SUGGESTION) {
        v1::SuggestionVoice v;
        v.set_category_id(id);
        v.set_name(c.name());
        v.set_tickets(tickets[id]);
        auto customers = tx.CountCustomers(id, helpdesk, window->from, window->to);
        if (!customers.ok()) return customers.status();
        v.set_customers(*customers);
        auto tasks = tx.ListTasks({.category_id = id});
        if (!tasks.ok()) return tasks.status();
        if (!tasks->empty()) {
          const v1::ImprovementTask& newest = tasks->back();
          v.set_task_id(newest.id());
          v.set_task_status(newest.status());
          v.set_task_url(newest.url());
          auto told = tx.ToldOfTask(newest.id());
          if (!told.ok()) return told.status();
          v.set_tickets_told(told->tickets);
          v.set_customers_replied(told->replies);
        }
        if (v.tickets() > 0 || v.task_id() != 0) suggestions.push_back(std::move(v));
      } else if (c.kind() == v1::PRAISE && tickets[id] > 0) {
        auto agents = tx.TicketsByAssignee(id, helpdesk, window->from, window->to);
        if (!agents.ok()) return agents.status();
        for (auto& [agent, n] : *agents) {
          v1::PraiseVoice p;
          p.set_category_id(id);
          p.set_name(c.name());
          p.set_agent(agent);
          p.set_tickets(n);
          praise.push_back(std::move(p));
        }
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::stable_sort(suggestions.begin(), suggestions.end(),
                   [](const v1::SuggestionVoice& a, const v1::SuggestionVoice& b) {
                     if (a.customers() != b.customers()) return a.customers() > b.customers();
                     return a.tickets() > b.tickets();
                   });
  std::stable_sort(
      praise.begin(), praise.end(),
      [](const v1::PraiseVoice& a, const v1::PraiseVoice& b) { return a.tickets() > b.tickets(); });
  for (auto& v : suggestions) *res.add_suggestions() = std::move(v);
  for (auto& p : praise) *res.add_praise() = std::move(p);
  return res;
}

}  // namespace debrief::service
