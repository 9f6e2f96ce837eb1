#include "store/sqlite_transaction.h"

#include "sqlite/sqlite.h"
#include "store/sql_transaction.h"

namespace debrief::store {
namespace {

struct SqliteDb {
  using Handle = sqlite3*;
  using Stmt = sqlite::Stmt;
  using Transaction = SqliteTransaction;
  static int64_t Changes(sqlite3* db) { return sqlite3_changes(db); }
};

}  // namespace

std::unique_ptr<SqliteTransaction> SqliteTransaction::Make(sqlite3* db, const spi::Clock& clock,
                                                           std::string installation) {
  return std::make_unique<sql_transaction::Connection<SqliteDb>>(db, clock,
                                                                 std::move(installation));
}

}  // namespace debrief::store
