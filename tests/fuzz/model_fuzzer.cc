// A classifier model file on any bytes: what debriefd loads at start and on SIGHUP. A file
// that parses must be checked (shapes, finite weights) before it classifies, and then classify
// without reading out of bounds.
#include <cstdint>
#include <string>

#include "classify/learned_classifier.h"
#include "debrief/spi/clock.h"
#include "debrief/v1/model.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  debrief::v1::ClassifierModel model;
  if (!model.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto c = debrief::classify::LearnedClassifier::FromProto(model, debrief::spi::SystemClock::Get());
  if (!c.ok()) return 0;
  debrief::v1::Ticket t;
  t.set_subject("Refund");
  t.set_body("I was charged twice for my order and want my money back");
  (void)(*c)->Classify(t);
  return 0;
}
