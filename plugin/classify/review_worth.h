#pragma once

#include "debrief/v1/model.pb.h"

namespace debrief::classify {

// What an agent's answer on a ticket waiting for review is worth: how unsure the classifier
// is between its two best causes (1 minus their margin: a coin toss between two is worth
// most), the ticket whose answer teaches the classifier most.
//
// Measured on Banking77 (validation carved from train), from the category names alone:
// ordering by this, the accuracy after 200 and 500 answers is 52.2% and 65.8%, against
// 47.0% and 59.8% for answers picked at random (mean of four draws). Weighting it by the
// size of the cause the ticket would join taught less per answer (linear 49.5% / 56.7%,
// square root 49.5% / 55.5%, logarithm 46.1% / 60.1%): the queue shows that size beside
// the ticket instead.
//
// A ticket with no best guess (nothing to go by, or out of scope) is worth 0: an answer there
// teaches little, and such tickets are the emerging issues' to group.
inline double ReviewWorth(const v1::Classification& c) {
  if (c.category_id().empty()) return 0.0;
  const double second = c.runner_up() > 0           ? c.runner_up()
                        : c.alternatives_size() > 0 ? c.alternatives(0).confidence()
                                                    : 0.0;
  double margin = c.confidence() - second;
  if (margin < 0) margin = 0;
  if (margin > 1) margin = 1;
  return 1.0 - margin;
}

}  // namespace debrief::classify
