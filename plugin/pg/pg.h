#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Small helpers over libpq for the PostgreSQL store. Stmt has sqlite::Stmt's interface (bind in
// order, step through rows, read columns), so one body of queries serves both stores; the SQL
// is written once in SQLite's placeholder style (? and ?N) and translated to $N here.
namespace debrief::pg {

// The outcome of a libpq call as a status whose code says what the caller can do, as
// sqlite::StatusOf does: OK for a successful result; UNAVAILABLE for what passes (a lost or
// refused connection, a serialization failure or deadlock, a lock or statement timeout, a server
// short of resources, shutting down or failing I/O), so work waits and is retried, never
// dropped; ALREADY_EXISTS for an integrity constraint; INVALID_ARGUMENT for bytes a text column
// cannot hold; DATA_LOSS for damaged data; INTERNAL otherwise. `res` may be null (no result
// could be made). The message names the SQLSTATE but never the error's DETAIL, which quotes row
// values (ticket ids, token hashes) that have no place in a log.
absl::Status StatusOf(const PGresult* res, PGconn* conn);

// One connection. Reconnects on the next use after the server or the network dropped it; the
// statements prepared on it prepare again then.
class Conn {
 public:
  // conninfo: a libpq connection string or URI; `password`, when not empty, is the role's
  // (kept out of conninfo so that it is never shown with it). Connecting gives up after 10
  // seconds unless conninfo says otherwise.
  static absl::StatusOr<std::unique_ptr<Conn>> Open(const std::string& conninfo,
                                                    const std::string& password = "");
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  PGconn* get() const { return conn_; }
  // Runs one or more statements with no results (DDL, settings).
  absl::Status Exec(const char* sql);
  // A transaction: `begin` is its BEGIN statement. Commit fails when the transaction did not
  // commit (an earlier statement failed, or the connection was lost); Rollback always ends it.
  // While one is open a lost connection is not made again (the rest of the transaction would
  // run outside it): its statements fail UNAVAILABLE until Rollback.
  absl::Status Begin(const char* begin);
  absl::Status Commit();
  void Rollback();
  // Rows changed by the last statement a Stmt of this connection ran (sqlite3_changes).
  int64_t changes() const { return changes_; }
  // Bumped by every reconnect: a statement prepared under an older one prepares again.
  int64_t generation() const { return generation_; }
  // When the connection is lost, connects again (at most once per call); OK when usable.
  absl::Status EnsureConnected();
  std::string NextStatementName() { return "s" + std::to_string(++statements_); }

 private:
  friend class Stmt;
  explicit Conn(PGconn* conn) : conn_(conn) {}
  PGconn* conn_;
  int64_t changes_ = 0;
  int64_t generation_ = 0;
  bool in_transaction_ = false;
  bool stale_ = false;  // connected to a server that refuses writes: connect again
  int64_t statements_ = 0;
};

// Whether `conninfo` is a libpq connection string or URI that holds no password (INVALID_ARGUMENT
// otherwise): a password there would be shown wherever the configuration is. Parsed as libpq
// parses it, so `password = x` and a percent-encoded URI parameter are found too.
absl::Status CheckConninfo(const std::string& conninfo);

// SQL in SQLite's placeholder style (`?`, `?N`) as PostgreSQL's ($N): a bare `?` takes the
// number after the largest so far, as SQLite numbers them. Quoted text is left alone. Sets
// *params to the number of parameters.
std::string TranslatePlaceholders(absl::string_view sql, int* params);

// A prepared statement. Parameters go as text (integers in decimal; strings PostgreSQL cannot
// hold as text get U+FFFD where they are not UTF-8 or hold a NUL), blobs as binary; results come
// as text, bytea columns decoded to their bytes.
class Stmt {
 public:
  Stmt(Conn* conn, absl::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Whether the statement prepared (a schema this binary does not know fails here).
  absl::Status status() const { return status_; }
  Stmt& Reset();
  Stmt& Bind(int64_t v);
  Stmt& Bind(const std::string& v);
  Stmt& BindBlob(const std::string& v);
  Stmt& BindNull();
  // Runs the statement at the first Step after Reset, then moves through its rows: true while
  // there is one.
  absl::StatusOr<bool> Step();
  absl::Status Exec();
  int64_t Int(int col) const;
  bool IsNull(int col) const;
  std::string Text(int col) const;

 private:
  absl::Status Prepare();

  Conn* conn_;
  std::string sql_;
  std::string name_;
  int params_ = 0;
  absl::Status status_;
  int64_t prepared_generation_ = -1;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> formats_;
  PGresult* res_ = nullptr;
  int row_ = -1;
  int next_ = 0;
  bool ran_ = false;
};

}  // namespace debrief::pg
