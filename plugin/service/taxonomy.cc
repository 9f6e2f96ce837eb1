// Taxonomy versions: diffing and applying a taxonomy file, the history of versions, and what a
// version's merges and splits do to tickets and tasks.
#include "config/taxonomy.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/time_util.h"
#include "config/adapter_file.h"
#include "config/config.h"
#include "service/saved_files.h"
#include "service/service.h"

namespace debrief::service {

namespace {

namespace fs = std::filesystem;

// How far back a split classifies its category's tickets again (older ones keep the split
// category: their trends stay as they were).
constexpr absl::Duration kSplitLookback = absl::Hours(24 * 90);
constexpr int kSplitMost = 10000;

std::vector<v1::Category> CategoriesOf(const v1::TaxonomyConfig& t) {
  return {t.categories().begin(), t.categories().end()};
}

std::string TaskName(const v1::ImprovementTask& t) {
  return absl::StrCat("#", t.id(), t.external_key().empty() ? "" : " (", t.external_key(),
                      t.external_key().empty() ? "" : ")");
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// What a merge does: the merged category's tickets count as the other's (the insights map
// them; nothing is rewritten), and its open task goes there: to the other category when that
// one has none, else marked a duplicate of that one's task, its tickets moving over.
absl::StatusOr<std::string> MergeEffect(spi::StoreTransaction& tx, policy::LinkPolicy& policy,
                                        const v1::TaxonomyChange& change, bool apply,
                                        absl::Time now) {
  const std::string& from = change.category_id();
  const std::string& into = change.into(0);
  auto tickets = tx.CountTickets(from, absl::InfinitePast(), now + absl::Seconds(1));
  if (!tickets.ok()) return tickets.status();
  std::string effect =
      absl::StrCat(Plural(*tickets, "ticket counts", "tickets count"), " as ", into, "'s");
  auto mine = tx.ActiveTask(from);
  if (!mine.ok()) return mine.status();
  if (!*mine) return effect;
  auto theirs = tx.ActiveTask(into);
  if (!theirs.ok()) return theirs.status();
  if (!*theirs) {
    if (apply) {
      if (absl::Status s = tx.MoveTask((*mine)->id(), into); !s.ok()) return s;
      if (absl::Status s = policy.EnqueueSync(tx, (*mine)->id(), /*force=*/true); !s.ok()) return s;
    }
    return absl::StrCat(effect, "; task ", TaskName(**mine), apply ? " is now " : " becomes ", into,
                        "'s");
  }
  auto links = tx.LinksOfTask((*mine)->id());
  if (!links.ok()) return links.status();
  int64_t moved = static_cast<int64_t>(links->size());
  if ((*mine)->status() == v1::TASK_PENDING_CREATE && (*mine)->external_id().empty()) {
    // Not in its tracker yet: it never will be; its tickets join the other task.
    if (apply) {
      auto n = policy.MoveLinks(tx, (*mine)->id(), (*theirs)->id());
      if (!n.ok()) return n.status();
      moved = *n;
      v1::ImprovementTask closed = **mine;
      closed.set_status(v1::TASK_WONT_DO);
      if (absl::Status s = tx.UpdateTask(closed); !s.ok()) return s;
      v1::TaskStatusChange change;
      change.set_task_id(closed.id());
      change.set_status(v1::TASK_WONT_DO);
      base::SetTimestamp(change.mutable_at(), now);
      change.set_source("taxonomy");
      if (absl::Status s = tx.RecordStatusChange(change); !s.ok()) return s;
    }
    return absl::StrCat(effect, "; task ", TaskName(**mine), apply ? " closed" : " is closed",
                        " before it reached its tracker, its ", Plural(moved, "ticket", "tickets"),
                        apply ? " moved" : " moving", " to ", TaskName(**theirs));
  }
  if (apply) {
    auto n = policy.MoveLinks(tx, (*mine)->id(), (*theirs)->id());
    if (!n.ok()) return n.status();
    moved = *n;
    v1::OutboxAction dup;
    auto* m = dup.mutable_mark_duplicate();
    m->set_task_id((*mine)->id());
    m->set_of_task_id((*theirs)->id());
    m->set_merged(from);
    m->set_into(into);
    if (absl::Status s =
            tx.Enqueue(absl::StrCat("duplicate:", (*mine)->id(), ":", (*theirs)->id()), dup, now);
        !s.ok())
      return s;
  }
  return absl::StrCat(effect, "; task ", TaskName(**mine), apply ? " marked" : " is marked",
                      " a duplicate of ", TaskName(**theirs), ", its ",
                      Plural(moved, "ticket", "tickets"), apply ? " moved" : " moving", " there");
}

// The split category's ticket classified among its parts only: the best part the classifier
// scored (its answer and runners-up), sure when above that part's threshold; none: review.
v1::Classification AmongParts(v1::Classification c, const std::set<std::string>& parts,
                              const policy::LinkPolicy& policy, double default_threshold) {
  std::string best;
  double score = 0;
  auto consider = [&](const std::string& id, double p) {
    if (parts.contains(id) && p > score) best = id, score = p;
  };
  consider(c.category_id(), c.confidence());
  for (const auto& alt : c.alternatives()) consider(alt.category_id(), alt.confidence());
  c.clear_alternatives();
  c.set_category_id(best);
  c.set_confidence(score);
  const v1::Category* cat = best.empty() ? nullptr : policy.category(best);
  const double threshold =
      cat != nullptr && cat->review_threshold() > 0 ? cat->review_threshold() : default_threshold;
  c.set_needs_review(best.empty() || score < threshold);
  return c;
}

// What a split does: the category's tickets of the last 90 days (the newest 10,000) are
// classified again among its parts (an unsure one goes to agents' review; one an agent
// corrected keeps the agent's answer), and its open task goes with the part that holds most of
// its tickets. A linked ticket that went to another part moves to that part's task when it has
// one; otherwise it stays where it is, so no ticket loses its task.
absl::StatusOr<std::string> SplitEffect(spi::StoreTransaction& tx, policy::LinkPolicy& policy,
                                        classify::Classifier& classifier,
                                        const v1::TaxonomyChange& change, bool apply,
                                        absl::Time now, double default_threshold) {
  const std::string& from = change.category_id();
  const std::set<std::string> parts(change.into().begin(), change.into().end());
  auto recs = tx.TicketsOfCategory(from, now - kSplitLookback, kSplitMost);
  if (!recs.ok()) return recs.status();
  auto task = tx.ActiveTask(from);
  if (!task.ok()) return task.status();
  int64_t corrected = 0;
  for (const spi::TicketRecord& r : *recs) corrected += r.agent_corrected;
  const int64_t again = static_cast<int64_t>(recs->size()) - corrected;
  const std::string kept =
      corrected == 0 ? ""
                     : absl::StrCat("; ", Plural(corrected, "ticket an agent", "tickets agents"),
                                    " tagged keep", corrected == 1 ? "s" : "", " ", from);
  if (!apply)
    return absl::StrCat(Plural(again, "ticket", "tickets"),
                        " of the last 90 days classified again among ",
                        absl::StrJoin(change.into(), ", "), kept,
                        *task ? absl::StrCat("; task ", TaskName(**task),
                                             " goes with the part that holds most of its tickets")
                              : "");
  std::map<std::string, int64_t> went;  // part (or "review") -> tickets
  std::map<std::pair<std::string, std::string>, v1::Classification> now_is;
  std::vector<const spi::TicketRecord*> classified;
  for (spi::TicketRecord& r : *recs) {
    if (r.agent_corrected) continue;  // an agent's answer is not the model's to change
    v1::Classification c =
        AmongParts(classifier.Classify(r.ticket), parts, policy, default_threshold);
    v1::Reason* why = c.add_reasons();
    why->set_feature(absl::StrCat("classified again: ", from, " was split into ",
                                  absl::StrJoin(change.into(), ", ")));
    why->set_weight(0);
    r.classification = c;
    if (absl::Status s = tx.PutTicket(r); !s.ok()) return s;
    ++went[c.needs_review() ? "review" : c.category_id()];
    now_is[{r.ticket.helpdesk_id(), r.ticket.ticket_id()}] = c;
    classified.push_back(&r);
  }
  std::string moved_to;
  if (*task) {
    auto links = tx.LinksOfTask((*task)->id());
    if (!links.ok()) return links.status();
    std::map<std::string, int64_t> of_task;
    for (const v1::TaskLink& l : *links) {
      auto it = now_is.find({l.helpdesk_id(), l.ticket_id()});
      if (it != now_is.end() && !it->second.needs_review()) ++of_task[it->second.category_id()];
    }
    std::string best;
    for (const auto& [cat, n] : of_task)
      if (best.empty() || n > of_task[best]) best = cat;
    if (!best.empty()) {
      auto theirs = tx.ActiveTask(best);
      if (!theirs.ok()) return theirs.status();
      if (!*theirs) {
        if (absl::Status s = tx.MoveTask((*task)->id(), best); !s.ok()) return s;
        if (absl::Status s = policy.EnqueueSync(tx, (*task)->id(), /*force=*/true); !s.ok())
          return s;
        moved_to = best;
      }
    }
    // A ticket sure of another part moves to that part's task, where there is one.
    for (const v1::TaskLink& l : *links) {
      auto it = now_is.find({l.helpdesk_id(), l.ticket_id()});
      if (moved_to.empty() || it == now_is.end() || l.origin() == v1::LINK_AGENT ||
          it->second.needs_review() || it->second.category_id() == moved_to)
        continue;
      auto theirs = tx.ActiveTask(it->second.category_id());
      if (!theirs.ok()) return theirs.status();
      if (!*theirs) continue;
      if (absl::Status s = policy.Unlink(tx, l.helpdesk_id(), l.ticket_id()); !s.ok()) return s;
    }
  }
  for (const spi::TicketRecord* r : classified)
    if (absl::Status s = policy.Apply(tx, r->ticket, *r->classification); !s.ok()) return s;
  std::vector<std::string> to;
  for (const auto& [cat, n] : went)
    to.push_back(cat == "review" ? absl::StrCat(n, " to agents' review")
                                 : absl::StrCat(n, " to ", cat));
  std::string effect = absl::StrCat(Plural(again, "ticket", "tickets"), " classified again",
                                    to.empty() ? "" : ": ", absl::StrJoin(to, ", "), kept);
  if (*task)
    absl::StrAppend(&effect, "; task ", TaskName(**task),
                    moved_to.empty() ? " stays (no part holds its tickets, or each has a task)"
                                     : absl::StrCat(" is now ", moved_to, "'s"));
  if (static_cast<int>(recs->size()) == kSplitMost)
    absl::StrAppend(&effect, " (the newest ", kSplitMost, "; older ones keep ", from, ")");
  return effect;
}

// Fills each change's effect (and, when `apply`, does it).
absl::Status Effects(spi::StoreTransaction& tx, policy::LinkPolicy& policy,
                     classify::Classifier& classifier, std::vector<v1::TaxonomyChange>& changes,
                     bool apply, absl::Time now, double default_threshold) {
  for (v1::TaxonomyChange& c : changes) {
    absl::StatusOr<std::string> effect;
    if (c.kind() == v1::CATEGORY_MERGED)
      effect = MergeEffect(tx, policy, c, apply, now);
    else if (c.kind() == v1::CATEGORY_SPLIT)
      effect = SplitEffect(tx, policy, classifier, c, apply, now, default_threshold);
    else if (c.kind() == v1::CATEGORY_RETIRED)
      effect = std::string("no new tickets; its history stays");
    else
      continue;
    if (!effect.ok()) return effect.status();
    c.set_effect(*std::move(effect));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<v1::TaxonomyVersion>> Service::RecordTaxonomy(
    const std::string& actor) {
  const v1::TaxonomyConfig& running = d_.config.taxonomy();
  const std::vector<v1::Category> now_cats = CategoriesOf(running);
  const absl::Time now = d_.clock.Now();
  std::optional<v1::TaxonomyVersion> recorded;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    recorded.reset();
    auto last = tx.TaxonomyVersions(1);
    if (!last.ok()) return last.status();
    std::vector<v1::Category> before;
    if (!last->empty()) {
      const v1::TaxonomyVersion& v = last->front();
      before.assign(v.categories().begin(), v.categories().end());
      if (config::SameTaxonomy(before, now_cats, v.review_threshold(), running.review_threshold()))
        return absl::OkStatus();
    }
    v1::TaxonomyVersion v;
    base::SetTimestamp(v.mutable_at(), now);
    v.set_actor(actor.empty() ? "config file" : actor);
    v.set_source(running.file());
    v.set_review_threshold(running.review_threshold());
    *v.mutable_categories() = running.categories();
    std::vector<v1::TaxonomyChange> changes = config::DiffTaxonomies(before, now_cats);
    if (!last->empty() && last->front().review_threshold() != running.review_threshold()) {
      v1::TaxonomyChange& t = changes.emplace_back();
      t.set_kind(v1::REVIEW_THRESHOLD_CHANGED);
      t.set_before(absl::StrCat(last->front().review_threshold()));
      t.set_after(absl::StrCat(running.review_threshold()));
    }
    {
      if (absl::Status e = Effects(tx, d_.policy, d_.classifier, changes, /*apply=*/true, now,
                                   running.review_threshold());
          !e.ok())
        return e;
    }
    for (auto& c : changes) *v.add_changes() = std::move(c);
    auto n = tx.PutTaxonomyVersion(v);
    if (!n.ok()) return n.status();
    v.set_version(*n);
    recorded = std::move(v);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (recorded) {
    {
      std::lock_guard<std::mutex> l(review_mu_);
      ++review_generation_;  // a split may have sent tickets to review
    }
    d_.outbox_changed();
    base::log::Info("taxonomy", "taxonomy version recorded",
                    {{"version", absl::StrCat(recorded->version())},
                     {"actor", recorded->actor()},
                     {"changes", absl::StrCat(recorded->changes_size())}});
  }
  return recorded;
}

namespace {

// A taxonomy file as the running configuration would take it: parsed, then checked with the
// rest of the configuration (trackers it routes to, keywords, merges and splits).
absl::StatusOr<v1::TaxonomyConfig> CheckedTaxonomy(const v1::Config& running,
                                                   const std::string& yaml) {
  if (yaml.empty()) return absl::InvalidArgumentError("give a taxonomy file (yaml)");
  constexpr size_t kMostBytes = 1 << 20;
  if (yaml.size() > kMostBytes)
    return absl::InvalidArgumentError(
        absl::StrCat("a taxonomy file of ", yaml.size(), " bytes: at most ", kMostBytes));
  auto t = config::ParseTaxonomyFile(yaml, "taxonomy");
  if (!t.ok()) return t.status();
  v1::Config c = running;
  if (t->review_threshold() == 0) t->set_review_threshold(running.taxonomy().review_threshold());
  *c.mutable_taxonomy() = *t;
  if (absl::Status s = config::ValidateConfig(c); !s.ok()) return s;
  return t;
}

}  // namespace

absl::StatusOr<v1::DiffTaxonomyResponse> Service::DiffTaxonomy(const v1::DiffTaxonomyRequest& req) {
  auto declared = CheckedTaxonomy(d_.config, req.yaml());
  if (!declared.ok()) return declared.status();
  v1::DiffTaxonomyResponse res;
  const absl::Time now = d_.clock.Now();
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto last = tx.TaxonomyVersions(1);
    if (!last.ok()) return last.status();
    std::vector<v1::Category> before;
    if (!last->empty()) {
      res.set_current_version(last->front().version());
      before.assign(last->front().categories().begin(), last->front().categories().end());
    }
    const v1::TaxonomyConfig next = config::EffectiveTaxonomy(*declared, before);
    std::vector<v1::TaxonomyChange> changes = config::DiffTaxonomies(before, CategoriesOf(next));
    if (!last->empty() && last->front().review_threshold() != declared->review_threshold()) {
      v1::TaxonomyChange& t = changes.emplace_back();
      t.set_kind(v1::REVIEW_THRESHOLD_CHANGED);
      t.set_before(absl::StrCat(last->front().review_threshold()));
      t.set_after(absl::StrCat(declared->review_threshold()));
    }
    if (absl::Status e = Effects(tx, d_.policy, d_.classifier, changes, /*apply=*/false, now,
                                 d_.config.taxonomy().review_threshold());
        !e.ok())
      return e;
    for (auto& c : changes) *res.add_changes() = std::move(c);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

absl::StatusOr<v1::ApplyTaxonomyResponse> Service::ApplyTaxonomy(
    const v1::ApplyTaxonomyRequest& req) {
  if (!d_.reload || d_.config.conf_dir().empty())
    return absl::FailedPreconditionError("this process cannot apply a taxonomy");
  auto declared = CheckedTaxonomy(d_.config, req.yaml());
  if (!declared.ok()) return declared.status();
  std::lock_guard<std::mutex> one_at_a_time(FilesMu());
  auto latest = [&]() -> absl::StatusOr<std::optional<v1::TaxonomyVersion>> {
    std::optional<v1::TaxonomyVersion> out;
    absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
      auto last = tx.TaxonomyVersions(1);
      if (!last.ok()) return last.status();
      if (!last->empty()) out = std::move(last->front());
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  };
  auto was = latest();
  if (!was.ok()) return was.status();
  const std::string file = (fs::path(d_.config.conf_dir()) / config::kTaxonomyFileName).string();
  auto before = BackUp(file);
  if (!before.ok()) return before.status();
  std::error_code ec;
  fs::create_directories(d_.config.conf_dir(), ec);
  std::string text = req.yaml();
  if (text.back() != '\n') text += '\n';
  if (absl::Status s = config::WriteFileAtomically(file, text, 0640); !s.ok()) return s;
  auto reload = d_.reload(v1::ReloadRequest(), req.agent());
  if (absl::Status s = KeepIfApplied(reload, {*before}, "applied"); !s.ok()) return s;
  v1::ApplyTaxonomyResponse res;
  res.set_file(file);
  auto is = latest();
  if (!is.ok()) return is.status();
  if (*is) *res.mutable_version() = **is;
  res.set_applied(*is && (!*was || (*is)->version() > (*was)->version()));
  if (!res.applied() && *was) {
    // No new version: the file was the running taxonomy, or the version could not be recorded
    // (the taxonomy runs; the next reload records it).
    const std::vector<v1::Category> last((*was)->categories().begin(), (*was)->categories().end());
    const v1::TaxonomyConfig next = config::EffectiveTaxonomy(*declared, last);
    if (!config::SameTaxonomy(last, CategoriesOf(next), (*was)->review_threshold(),
                              next.review_threshold()))
      return absl::UnavailableError(
          "the taxonomy was applied and runs, but its version could not be recorded (see "
          "debriefd's log); the next reload records it");
  }
  base::log::Info("admin", "taxonomy applied",
                  {{"file", file}, {"version", absl::StrCat(res.version().version())}});
  return res;
}

absl::StatusOr<v1::TaxonomyHistoryResponse> Service::TaxonomyHistory(
    const v1::TaxonomyHistoryRequest& req) {
  v1::TaxonomyHistoryResponse res;
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto versions = tx.TaxonomyVersions(req.limit() > 0 ? std::min(req.limit(), 1000) : 50);
    if (!versions.ok()) return versions.status();
    for (auto& v : *versions) *res.add_versions() = std::move(v);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return res;
}

}  // namespace debrief::service
