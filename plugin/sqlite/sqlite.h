#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

// Small helpers over the SQLite C API, shared by the store and adapters that keep files.
namespace debrief::sqlite {

// A failed SQLite call as a status whose code says what the caller can do: UNAVAILABLE for
// what passes (busy, locked, disk full, I/O), so work waits and is retried, never dropped;
// ALREADY_EXISTS for a constraint; DATA_LOSS for a damaged file; INTERNAL otherwise.
inline absl::Status StatusOf(int rc, sqlite3* db) {
  const std::string what =
      absl::StrCat("sqlite: ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(what);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(what);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(what);
    default:
      return absl::InternalError(what);
  }
}

// A prepared statement; resets itself so it can be reused.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  }
  Stmt(sqlite3* db, const std::string& sql) : Stmt(db, sql.c_str()) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  absl::Status status() const {
    if (rc_ == SQLITE_OK) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("sqlite prepare: ", sqlite3_errmsg(db_)));
  }
  Stmt& Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    next_ = 1;
    return *this;
  }
  Stmt& Bind(int64_t v) {
    sqlite3_bind_int64(stmt_, next_++, v);
    return *this;
  }
  Stmt& Bind(const std::string& v) {
    sqlite3_bind_text(stmt_, next_++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(const std::string& v) {
    sqlite3_bind_blob(stmt_, next_++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindNull() {
    sqlite3_bind_null(stmt_, next_++);
    return *this;
  }
  // SQLITE_ROW -> true, SQLITE_DONE -> false.
  absl::StatusOr<bool> Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return StatusOf(rc, db_);
  }
  absl::Status Exec() {
    auto r = Step();
    return r.ok() ? absl::OkStatus() : r.status();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // The value's storage class: SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or
  // SQLITE_NULL (a column's declared type does not bind what it holds).
  int Type(int col) const { return sqlite3_column_type(stmt_, col); }
  std::string Text(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
  int next_ = 1;
};

// Resets every statement of the connection. A statement left on a row keeps its read
// snapshot (and the WAL) pinned, so call this when a transaction or query is over.
void ResetAll(sqlite3* db);

// Runs one or more statements with no results.
absl::Status Exec(sqlite3* db, const char* sql);

// Opens a connection with WAL, synchronous=FULL and a busy timeout.
absl::StatusOr<sqlite3*> OpenConnection(const std::string& path, bool read_only);

}  // namespace debrief::sqlite
