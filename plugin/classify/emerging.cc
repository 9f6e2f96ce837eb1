#include "classify/emerging.h"

#include <algorithm>
#include <cmath>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/time_util.h"
#include "base/utf8.h"
#include "classify/text.h"

namespace debrief::classify {
namespace {

constexpr size_t kDaysKept = 30;
constexpr size_t kRepresentatives = 3;
constexpr size_t kRepresentativeCandidates = 200;
constexpr size_t kMaxSubjectShown = 200;

// `written`, when given, gets each stem's word as written.
std::map<std::string, double> Vectorize(const v1::Ticket& t,
                                        std::map<std::string, std::string>* written = nullptr) {
  std::vector<std::string> words;
  std::vector<std::string> tokens =
      ContentTokens(absl::StrCat(t.subject(), "\n", t.body()), written ? &words : nullptr);
  if (written != nullptr)
    for (size_t i = 0; i < tokens.size(); ++i) written->emplace(tokens[i], words[i]);
  std::map<std::string, double> v;
  for (size_t i = 0; i < tokens.size(); ++i) {
    v[tokens[i]] += 1.0;
    if (i + 1 < tokens.size()) v[absl::StrCat(tokens[i], " ", tokens[i + 1])] += 0.5;
  }
  double norm = 0;
  for (auto& [k, x] : v) norm += x * x;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (auto& [k, x] : v) x /= norm;
  return v;
}

}  // namespace

double EmergingIssues::Cosine(const std::map<std::string, double>& sum, double norm,
                              const std::map<std::string, double>& v) {
  // norm is the squared length of sum, kept by Add and Remove: recomputing it here made each
  // ticket cost the size of every cluster's vocabulary (measured: the pipeline fell from
  // 13,000 to 5,000 tickets/s as clusters grew).
  double dot = 0;
  if (norm <= 0) return 0;
  for (const auto& [k, x] : v) {
    auto it = sum.find(k);
    if (it != sum.end()) dot += it->second * x;
  }
  return dot / std::sqrt(norm);  // v is unit length
}

void EmergingIssues::Add(const v1::Ticket& t, absl::Time at) {
  std::map<std::string, std::string> written;
  std::map<std::string, double> v = Vectorize(t, &written);
  if (v.empty()) return;
  std::lock_guard<std::mutex> l(mu_);
  auto ref = std::make_pair(t.helpdesk_id(), t.ticket_id());
  if (!added_.insert(absl::HashOf(ref.first, ref.second)).second) return;
  Cluster* best = nullptr;
  double best_sim = options_.similarity;
  for (auto& [id, c] : clusters_) {
    double sim = Cosine(c.sum, c.norm2, v);
    if (sim >= best_sim) {
      best_sim = sim;
      best = &c;
    }
  }
  if (best == nullptr) {
    if (clusters_.size() >= options_.max_clusters) {
      auto victim = std::min_element(clusters_.begin(), clusters_.end(), [](auto& a, auto& b) {
        return std::make_pair(a.second.size, a.second.last_seen) <
               std::make_pair(b.second.size, b.second.last_seen);
      });
      DropLocked(victim->first);
    }
    Cluster c;
    c.id = next_id_++;
    c.first_seen = at;
    best = &clusters_.emplace(c.id, std::move(c)).first->second;
  }
  for (const auto& [k, x] : v) {
    double& cell = best->sum[k];
    best->norm2 += 2 * cell * x + x * x;
    cell += x;
  }
  ++best->size;
  // Tickets come in any order (a backfill, a restart): the group spans from its oldest to its
  // newest.
  best->first_seen = std::min(best->first_seen, at);
  best->last_seen = std::max(best->last_seen, at);
  for (auto& [stem, word] : written) best->written.emplace(stem, std::move(word));
  const int64_t day = absl::ToUnixSeconds(at) / 86400;
  ++best->per_day[day];
  while (best->per_day.size() > kDaysKept) best->per_day.erase(best->per_day.begin());
  if (best->examples.size() < 3 && !t.subject().empty()) best->examples.push_back(t.subject());
  if (best->members.size() < options_.max_members) {
    best->members.push_back(ref);
    member_of_[ref] = {best->id, std::move(v),
                       std::string(base::Utf8Prefix(t.subject(), kMaxSubjectShown)), day};
  }
}

void EmergingIssues::Remove(const std::string& helpdesk_id, const std::string& ticket_id) {
  std::lock_guard<std::mutex> l(mu_);
  added_.erase(absl::HashOf(helpdesk_id, ticket_id));
  // A member past its cluster's max_members was counted but not remembered: it stays counted.
  auto it = member_of_.find({helpdesk_id, ticket_id});
  if (it == member_of_.end()) return;
  auto c = clusters_.find(it->second.cluster);
  if (c != clusters_.end()) {
    for (const auto& [k, x] : it->second.vector) {
      auto s = c->second.sum.find(k);
      if (s == c->second.sum.end()) continue;
      const double before = s->second;
      s->second -= x;
      c->second.norm2 -= before * before;
      if (s->second < 1e-9)
        c->second.sum.erase(s);
      else
        c->second.norm2 += s->second * s->second;
    }
    auto& m = c->second.members;
    m.erase(std::remove(m.begin(), m.end(), it->first), m.end());
    auto d = c->second.per_day.find(it->second.day);
    if (d != c->second.per_day.end() && --d->second <= 0) c->second.per_day.erase(d);
    if (--c->second.size <= 0) clusters_.erase(c);
  }
  member_of_.erase(it);
}

void EmergingIssues::Drop(int64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  DropLocked(id);
}

void EmergingIssues::DropLocked(int64_t id) {
  auto c = clusters_.find(id);
  if (c == clusters_.end()) return;
  for (const auto& ref : c->second.members) {
    member_of_.erase(ref);
    added_.erase(absl::HashOf(ref.first, ref.second));
  }
  clusters_.erase(c);
}

v1::EmergingIssue EmergingIssues::Describe(const Cluster& c) const {
  v1::EmergingIssue e;
  e.set_id(c.id);
  e.set_size(c.size);
  std::vector<std::pair<double, std::string>> terms;
  for (const auto& [k, x] : c.sum) terms.emplace_back(x, k);
  std::sort(terms.rbegin(), terms.rend());
  for (size_t i = 0; i < terms.size() && i < 8; ++i) e.add_top_terms(terms[i].second);
  e.set_suggested_name(SuggestName(c, terms));
  for (const auto& ex : c.examples) e.add_examples(ex);
  // Representatives: the remembered members nearest the centre.
  // Among the latest remembered members only, so that listing stays cheap under the lock
  // ingestion takes too.
  std::vector<std::pair<double, const std::pair<std::string, std::string>*>> near;
  const size_t from = c.members.size() > kRepresentativeCandidates
                          ? c.members.size() - kRepresentativeCandidates
                          : 0;
  for (size_t i = from; i < c.members.size(); ++i) {
    const auto& ref = c.members[i];
    auto m = member_of_.find(ref);
    if (m != member_of_.end()) near.emplace_back(Cosine(c.sum, c.norm2, m->second.vector), &ref);
  }
  const size_t shown = std::min(kRepresentatives, near.size());
  std::partial_sort(near.begin(), near.begin() + shown, near.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < shown; ++i) {
    auto* r = e.add_representatives();
    r->mutable_ticket()->set_helpdesk_id(near[i].second->first);
    r->mutable_ticket()->set_ticket_id(near[i].second->second);
    r->set_subject(member_of_.at(*near[i].second).subject);
    r->set_similarity(near[i].first);
  }
  for (const auto& [day, n] : c.per_day) {
    auto* g = e.add_growth();
    g->set_day(
        absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(day * 86400), absl::UTCTimeZone()));
    g->set_tickets(n);
  }
  for (const auto& [hd, tid] : c.members) {
    auto* m = e.add_members();
    m->set_helpdesk_id(hd);
    m->set_ticket_id(tid);
  }
  base::SetTimestamp(e.mutable_first_seen(), c.first_seen);
  base::SetTimestamp(e.mutable_last_seen(), c.last_seen);
  return e;
}

// The strongest pair of words, then the strongest other word, as the group's tickets write
// them: "label printer driver". Without a pair, the two strongest words.
std::string EmergingIssues::SuggestName(const Cluster& c,
                                        const std::vector<std::pair<double, std::string>>& terms) {
  auto written = [&](const std::string& stem) {
    auto w = c.written.find(stem);
    return w == c.written.end() ? stem : w->second;
  };
  std::vector<std::string> stems;
  for (size_t i = 0; i < terms.size() && i < 8; ++i) {
    const std::string& t = terms[i].second;
    const size_t space = t.find(' ');
    if (space == std::string::npos || !stems.empty()) continue;
    if (t.substr(0, space) == t.substr(space + 1)) continue;  // "refund refund"
    stems = {t.substr(0, space), t.substr(space + 1)};
  }
  const size_t wanted = stems.empty() ? 2 : 3;
  for (size_t i = 0; i < terms.size() && i < 8 && stems.size() < wanted; ++i) {
    const std::string& t = terms[i].second;
    if (t.find(' ') == std::string::npos && std::find(stems.begin(), stems.end(), t) == stems.end())
      stems.push_back(t);
  }
  std::string name;
  for (const auto& s : stems) absl::StrAppend(&name, name.empty() ? "" : " ", written(s));
  if (!name.empty()) name[0] = absl::ascii_toupper(static_cast<unsigned char>(name[0]));
  return name;
}

std::vector<v1::EmergingIssue> EmergingIssues::List(size_t min_size) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<v1::EmergingIssue> out;
  for (const auto& [id, c] : clusters_)
    if (static_cast<size_t>(c.size) >= min_size) out.push_back(Describe(c));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.size() != b.size() ? a.size() > b.size() : a.id() < b.id();
  });
  return out;
}

bool EmergingIssues::Get(int64_t id, v1::EmergingIssue* out) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = clusters_.find(id);
  if (it == clusters_.end()) return false;
  *out = Describe(it->second);
  return true;
}

}  // namespace debrief::classify
