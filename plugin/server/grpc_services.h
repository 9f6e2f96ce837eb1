#pragma once

#include <map>
#include <memory>
#include <string>

#include "classify/classifier.h"
#include "classify/emerging.h"
#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/store.h"
#include "debrief/spi/tracker_adapter.h"
#include "debrief/v1/config.pb.h"
#include "grpcpp/grpcpp.h"
#include "policy/link_policy.h"

namespace debrief::server {

// What the services read and change. All references outlive the services.
struct ServiceDeps {
  const v1::Config& config;
  spi::Store& store;
  classify::Classifier& classifier;
  policy::LinkPolicy& policy;
  const spi::Clock& clock;
  std::map<std::string, spi::HelpdeskAdapter*> helpdesks;
  std::map<std::string, spi::TrackerAdapter*> trackers;
  std::function<void()> outbox_changed;  // wakes the executor
  classify::EmergingIssues& emerging;
  // Processes a dead letter again (pipeline::Pipeline::Replay).
  std::function<absl::StatusOr<spi::DeliveryState>(int64_t seq)> replay_delivery;
};

// The one place an absl::Status becomes a grpc::Status.
grpc::Status ToGrpc(const absl::Status& s);

// Tagging, Improvements, Tickets and Admin (callback API), registered on `builder`.
class Services {
 public:
  explicit Services(ServiceDeps deps);
  ~Services();
  void Register(grpc::ServerBuilder& builder);
  // Asks running Admin.Backfill listings to stop after their current page, and waits.
  void StopBackfills();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace debrief::server
