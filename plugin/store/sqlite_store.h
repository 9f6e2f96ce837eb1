#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/store.h"

namespace debrief::store {

struct SqliteOptions {
  std::string path;  // ":memory:" is not supported (two connections)
  absl::Duration commit_delay = absl::ZeroDuration();  // longest a delivery waits for company
  int max_batch = 512;                                 // deliveries per group commit
  int read_connections = 4;  // connections serving Read (the API's and the follower's reads)
  // Each group commit of the inbox: how long it took (BEGIN to COMMIT, fsync included) and how
  // many deliveries it held (debriefd's histograms). Optional; called on the commit thread.
  std::function<void(absl::Duration took, size_t deliveries)> on_group_commit;
};

// The embedded default store: SQLite in WAL mode, synchronous=FULL, so a committed delivery
// survives power loss. Raw webhook deliveries go to their own file (the inbox, InboxPath),
// written by one commit thread that gathers them into a single transaction (group commit):
// one fsync acknowledges many deliveries, and acknowledging never waits for the pipeline's
// transactions on the main file. The pipeline records each delivery's outcome in the main
// file in the same transaction as its effects.
//
// Schema changes are versioned migrations applied in order at Open, each in its own
// transaction; a database newer than this binary is refused.
//
// Example:
//   auto store = SqliteStore::Open({.path = "debrief.db"}, spi::SystemClock::Get());
//   if (!store.ok()) return store.status();
class SqliteStore;
absl::StatusOr<std::unique_ptr<spi::Store>> OpenSqliteStore(const SqliteOptions& options,
                                                            const spi::Clock& clock);

// The schema version this binary writes.
int SqliteSchemaVersion();

// The inbox file beside the database: "debrief.db" -> "debrief.inbox.db".
std::string InboxPath(const std::string& path);

}  // namespace debrief::store
