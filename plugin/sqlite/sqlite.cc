#include "sqlite/sqlite.h"

namespace debrief::sqlite {

void ResetAll(sqlite3* db) {
  for (sqlite3_stmt* s = sqlite3_next_stmt(db, nullptr); s != nullptr; s = sqlite3_next_stmt(db, s))
    sqlite3_reset(s);
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    absl::Status s = StatusOf(rc, nullptr);
    s = absl::Status(s.code(), absl::StrCat("sqlite: ", err ? err : sqlite3_errstr(rc)));
    sqlite3_free(err);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<sqlite3*> OpenConnection(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("cannot open SQLite database ", path, ": ", db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 10000);
  absl::Status s = Exec(db,
                        "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; "
                        "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8000;");
  if (s.ok() && !read_only) s = Exec(db, "PRAGMA journal_mode=WAL;");
  if (!s.ok()) {
    sqlite3_close(db);
    return s;
  }
  return db;
}

}  // namespace debrief::sqlite
