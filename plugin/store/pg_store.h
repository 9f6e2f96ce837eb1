#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/store.h"

namespace debrief::store {

struct PostgresOptions {
  // A libpq connection string or URI ("host=db.internal dbname=debrief user=debrief
  // passfile=/etc/debrief/pgpass" or "postgresql://debrief@db.internal/debrief").
  std::string conninfo;
  std::string password;  // the role's, when not in a passfile (never part of conninfo)
  absl::Duration commit_delay = absl::ZeroDuration();  // longest a delivery waits for company
  int max_batch = 512;                                 // deliveries per group commit
  int read_connections = 4;  // connections serving Read (the API's and the follower's reads)
  // This replica's name in its claims on deliveries (made unique when empty: host, process,
  // random), and how long a claim holds: a replica that dies with deliveries claimed leaves
  // them to the others once this has passed.
  std::string replica;
  absl::Duration claim = absl::Seconds(30);
  // As SqliteOptions::on_group_commit.
  std::function<void(absl::Duration took, size_t deliveries)> on_group_commit;
};

// A name for this replica in its claims and leases: `prefix` (by default the host name), the
// process id and a random part, so that neither a restarted process nor replicas given the same
// prefix (one ConfigMap for all) ever take one another's claims and leases as their own.
std::string ReplicaName(const std::string& prefix);

// The store on PostgreSQL, for teams that run their database as a service of its own. The same
// queries as the SQLite store (store/sql_transaction.h) on the same tables; raw deliveries are
// committed in groups on a connection of their own (one commit acknowledges many webhooks, and
// acknowledging never waits for the pipeline's transactions); reads run on a pool of
// connections in REPEATABLE READ snapshots. A lost connection is made again on its next use;
// the work in flight fails UNAVAILABLE and is retried by its caller.
//
// Schema changes are versioned migrations (store/pg_schema.h) applied at open under an
// advisory lock; a database newer than this binary is refused.
absl::StatusOr<std::unique_ptr<spi::Store>> OpenPostgresStore(const PostgresOptions& options,
                                                              const spi::Clock& clock);

}  // namespace debrief::store
