#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "debrief/v1/model.pb.h"

namespace debrief::classify {

// Tags a ticket with a root-cause category. Implementations are thread-safe: Classify runs
// on pipeline and gRPC threads concurrently with Learn.
//
// The result always carries a confidence in 0..1 and the reasons (features and weights)
// behind it. Below the category's review threshold, needs_review is set: the ticket waits
// for an agent instead of being guessed. A ticket that matches nothing has an empty
// category_id and needs_review set.
class Classifier {
 public:
  virtual ~Classifier() = default;
  virtual v1::Classification Classify(const v1::Ticket& ticket) const = 0;
  // An agent said this ticket belongs to category_id. NOT_FOUND for an unknown category.
  virtual absl::Status Learn(const v1::Ticket& ticket, const std::string& category_id) = 0;
  virtual std::string name() const = 0;
  // A new category (an emerging issue promoted by an admin), taught with example texts.
  // ALREADY_EXISTS if the id is taken.
  virtual absl::Status AddCategory(const v1::Category& category,
                                   const std::vector<std::string>& examples) = 0;
};

}  // namespace debrief::classify
