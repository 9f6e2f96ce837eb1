#include "store/pg_transaction.h"

#include "store/sql_transaction.h"

namespace debrief::store {
namespace {

struct PgDb {
  using Handle = pg::Conn*;
  using Stmt = pg::Stmt;
  using Transaction = PgTransaction;
  static int64_t Changes(pg::Conn* conn) { return conn->changes(); }
};

}  // namespace

std::unique_ptr<PgTransaction> PgTransaction::Make(pg::Conn* conn, const spi::Clock& clock,
                                                   std::string installation) {
  return std::make_unique<sql_transaction::Connection<PgDb>>(conn, clock, std::move(installation));
}

}  // namespace debrief::store
