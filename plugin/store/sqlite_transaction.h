#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/store.h"
#include "store/store_time.h"

// The operations of a transaction on one SQLite connection (the store has a writing and a
// reading one): every statement prepared once, at open.
namespace debrief::store {

class SqliteTransaction : public spi::StoreTransaction {
 public:
  // The connection stays the caller's; it must outlive the result. `installation` keys the
  // person of each ticket (store/person_key.h).
  static std::unique_ptr<SqliteTransaction> Make(sqlite3* db, const spi::Clock& clock,
                                                 std::string installation);
  // Whether every statement prepared (a schema this binary does not know fails here).
  virtual absl::Status PrepareStatus() const = 0;
  virtual sqlite3* db() const = 0;
};

}  // namespace debrief::store
