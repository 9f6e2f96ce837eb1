#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "debrief/spi/clock.h"
#include "debrief/spi/store.h"
#include "pg/pg.h"
#include "store/store_time.h"

// The operations of a transaction on one PostgreSQL connection: the same queries as SQLite's
// (store/sql_transaction.h), every statement prepared once, at open.
namespace debrief::store {

class PgTransaction : public spi::StoreTransaction {
 public:
  // The connection stays the caller's; it must outlive the result. `installation` keys the
  // person of each ticket (store/person_key.h).
  static std::unique_ptr<PgTransaction> Make(pg::Conn* conn, const spi::Clock& clock,
                                             std::string installation);
  // Whether every statement prepared (a schema this binary does not know fails here).
  virtual absl::Status PrepareStatus() const = 0;
  virtual pg::Conn* db() const = 0;
};

}  // namespace debrief::store
