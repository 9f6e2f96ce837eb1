#include "classify/emerging.h"

#include <algorithm>
#include <cmath>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "base/time_util.h"
#include "classify/text.h"

namespace debrief::classify {
namespace {

std::map<std::string, double> Vectorize(const v1::Ticket& t) {
  std::vector<std::string> tokens = ContentTokens(absl::StrCat(t.subject(), "\n", t.body()));
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
  std::map<std::string, double> v = Vectorize(t);
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
  best->last_seen = at;
  if (best->examples.size() < 3 && !t.subject().empty()) best->examples.push_back(t.subject());
  if (best->members.size() < options_.max_members) {
    best->members.push_back(ref);
    member_of_[ref] = {best->id, std::move(v)};
  }
}

void EmergingIssues::Remove(const std::string& helpdesk_id, const std::string& ticket_id) {
  std::lock_guard<std::mutex> l(mu_);
  added_.erase(absl::HashOf(helpdesk_id, ticket_id));
  // A member past its cluster's max_members was counted but not remembered: it stays counted.
  auto it = member_of_.find({helpdesk_id, ticket_id});
  if (it == member_of_.end()) return;
  auto c = clusters_.find(it->second.first);
  if (c != clusters_.end()) {
    for (const auto& [k, x] : it->second.second) {
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
  for (const auto& ex : c.examples) e.add_examples(ex);
  for (const auto& [hd, tid] : c.members) {
    auto* m = e.add_members();
    m->set_helpdesk_id(hd);
    m->set_ticket_id(tid);
  }
  base::SetTimestamp(e.mutable_first_seen(), c.first_seen);
  base::SetTimestamp(e.mutable_last_seen(), c.last_seen);
  return e;
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
