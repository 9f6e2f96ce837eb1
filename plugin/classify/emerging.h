#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "debrief/v1/classifier.pb.h"
#include "debrief/v1/model.pb.h"

namespace debrief::classify {

struct EmergingOptions {
  double similarity = 0.3;    // cosine to a cluster's centroid to join it
  size_t max_clusters = 500;  // beyond it, the smallest, stalest cluster is dropped
  size_t max_members = 1000;  // members remembered per cluster (the count goes on; memory
                              // stays bounded however many tickets a backfill brings)
};

// Emerging issues: tickets that fit no category well (needs review), grouped online by what
// they say. Each ticket becomes a TF vector of its stemmed content words (unigrams and
// bigrams), L2-normalised; it joins the most similar cluster (cosine to the centroid) above
// `similarity`, or starts a new one. Clusters carry their size, top terms, a suggested name,
// a few example subjects, the members closest to their centre, their growth per day and their
// members, so an admin can promote one to a category.
//
// Thread-safe. Add is idempotent per ticket (a reprocessed delivery does not count twice).
class EmergingIssues {
 public:
  explicit EmergingIssues(EmergingOptions options = {}) : options_(options) {}

  void Add(const v1::Ticket& ticket, absl::Time at);
  // The ticket got a category (an agent's correction): it no longer counts.
  void Remove(const std::string& helpdesk_id, const std::string& ticket_id);

  // Largest first; clusters smaller than min_size are left out.
  std::vector<v1::EmergingIssue> List(size_t min_size) const;
  bool Get(int64_t id, v1::EmergingIssue* out) const;
  // Forgets a cluster (after it was promoted).
  void Drop(int64_t id);

 private:
  struct Cluster {
    int64_t id = 0;
    std::map<std::string, double> sum;  // sum of member vectors
    double norm2 = 0;                   // its squared length
    std::vector<std::pair<std::string, std::string>> members;
    std::vector<std::string> examples;
    int64_t size = 0;
    absl::Time first_seen, last_seen;
    std::map<std::string, std::string> written;  // a stem -> the word as first written
    std::map<int64_t, int64_t> per_day;          // days since the epoch -> tickets (last 30)
  };
  struct Member {
    int64_t cluster = 0;
    std::map<std::string, double> vector;
    std::string subject;
    int64_t day = 0;  // its day in per_day
  };
  static double Cosine(const std::map<std::string, double>& centroid_sum, double norm2,
                       const std::map<std::string, double>& v);
  v1::EmergingIssue Describe(const Cluster& c) const;
  static std::string SuggestName(const Cluster& c,
                                 const std::vector<std::pair<double, std::string>>& terms);
  void DropLocked(int64_t id);  // mu_ held

  EmergingOptions options_;
  mutable std::mutex mu_;
  std::map<int64_t, Cluster> clusters_;
  // The remembered members' clusters and vectors (to take one out again)...
  std::map<std::pair<std::string, std::string>, Member> member_of_;
  // ... and every ticket added, by a 64-bit hash of its reference (Add counts it once).
  absl::flat_hash_set<uint64_t> added_;
  int64_t next_id_ = 1;
};

}  // namespace debrief::classify
