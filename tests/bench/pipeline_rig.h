#pragma once

// What the pipeline benchmarks share: one helpdesk adapter, the real SQLite store in a fresh
// temporary folder, the learned classifier on the given taxonomy, the link policy (builtin
// tracker) and the pipeline over them, wired as debriefd wires them.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "classify/emerging.h"
#include "classify/factory.h"
#include "config/config.h"
#include "debrief/spi/http_client.h"
#include "pipeline/pipeline.h"
#include "policy/link_policy.h"
#include "register.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace debrief::bench {

class PipelineRig {
 public:
  // `helpdesk_yaml`: the one helpdesk's flow mapping, e.g. "{id: support, type: generic, ...}".
  // Exits with a message when anything fails to set up (a benchmark has nothing to recover).
  PipelineRig(const std::string& name, const std::string& helpdesk_yaml,
              const std::string& taxonomy, spi::HttpClient& http)
      : dir_(std::filesystem::temp_directory_path() /
             absl::StrCat("debrief-", name, "-bench-", getpid())) {
    std::filesystem::create_directories(dir_);
    auto config = config::ParseConfig(
        absl::StrCat("helpdesks: [", helpdesk_yaml, "]\ntrackers: [{id: tasks, type: builtin}]\n",
                     "taxonomy: {file: \"", taxonomy, "\"}\n"),
        dir_.string());
    Check(config.status(), "config");
    config_ = std::move(*config);
    auto& clock = spi::SystemClock::Get();
    // BENCH_PG (a libpq conninfo of an empty database): the same rig on PostgreSQL.
    const char* pg = std::getenv("BENCH_PG");
    auto store = pg != nullptr && *pg != '\0'
                     ? store::OpenPostgresStore({.conninfo = pg}, clock)
                     : store::OpenSqliteStore({.path = (dir_ / "d.db").string()}, clock);
    Check(store.status(), "store");
    store_ = std::move(*store);
    adapters::RegisterBuiltinAdapters(registry_);
    spi::AdapterContext ctx{http, clock, dir_.string()};
    const v1::AdapterConfig& hd = config_.helpdesks(0);
    auto adapter = registry_.helpdesk(hd.type())->Create(hd, ctx);
    Check(adapter.status(), "helpdesk adapter");
    adapter_ = std::move(*adapter);
    auto classifier = classify::MakeClassifier(config_, clock);
    Check(classifier.status(), "classifier");
    classifier_ = std::move(*classifier);
    policy_ = std::make_unique<policy::LinkPolicy>(config_, clock);
    pipeline_ = std::make_unique<pipeline::Pipeline>(
        *store_, std::map<std::string, spi::HelpdeskAdapter*>{{hd.id(), adapter_.get()}},
        *classifier_, *policy_, clock, 256, absl::Milliseconds(50), &emerging_);
  }
  ~PipelineRig() {
    pipeline_.reset();
    store_->Close();
    std::filesystem::remove_all(dir_);
  }

  spi::Store& store() { return *store_; }
  spi::HelpdeskAdapter& helpdesk() { return *adapter_; }
  pipeline::Pipeline& pipeline() { return *pipeline_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static void Check(const absl::Status& s, const char* what) {
    if (s.ok()) return;
    std::cerr << "setup failed (" << what << "): " << s << "\n";
    std::exit(1);
  }

  std::filesystem::path dir_;
  v1::Config config_;
  std::unique_ptr<spi::Store> store_;
  spi::AdapterRegistry registry_;
  std::unique_ptr<spi::HelpdeskAdapter> adapter_;
  std::unique_ptr<classify::Classifier> classifier_;
  std::unique_ptr<policy::LinkPolicy> policy_;
  classify::EmergingIssues emerging_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
};

}  // namespace debrief::bench
