// migrate: a SQLite store copied into a PostgreSQL one, with debriefd stopped. Resumable (rows
// already there take the source's values), then verified table by table.
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/ctl.h"
#include "config/config.h"
#include "debrief/spi/clock.h"
#include "pg/pg.h"
#include "settings/settings.h"
#include "sqlite/sqlite.h"
#include "store/pg_store.h"
#include "store/sqlite_store.h"

namespace debrief::cli {
namespace {

struct Args {
  std::string from, to;
};

// A table copied as it is. The trigger-maintained ones (task_counts, task_customers,
// cause_weeks) are not: the target's triggers rebuild them as tickets and links arrive, which is
// why tickets go in the order they arrived (the weekly repeat counts look at earlier tickets)
// and one row per statement. Parents before the rows that refer to them.
struct Table {
  const char* name;
  bool inbox;            // in SQLite's inbox file (store::InboxPath), not the main database
  const char* order;     // the source's ORDER BY
  const char* identity;  // the target's identity column, set past the largest after copying
};
constexpr Table kTables[] = {
    // First: the installation id replaces the one the target's schema made before any row
    // that carries it (markers in trackers) lands, so an interrupted copy resumes.
    {"cursors", false, "name", nullptr},
    {"tickets", false, "first_seen, rowid", nullptr},
    {"tasks", false, "id", "id"},
    {"task_status_changes", false, "id", "id"},
    {"task_links", false, "rowid", nullptr},
    {"outbox", false, "id", "id"},
    {"feedback", false, "id", "id"},
    {"promoted_categories", false, "id", nullptr},
    {"taxonomy_versions", false, "version", nullptr},
    {"people", false, "person", nullptr},
    {"api_tokens", false, "id", "id"},
    {"audit", false, "id", "id"},
    {"delivery_outcomes", false, "seq", nullptr},
    {"delivery_failures", false, "seq", nullptr},
    {"deliveries", true, "seq", "seq"},
};
constexpr int kRowsPerTransaction = 1000;
// The target's cursor naming the installation a copy into it came from: a resumed copy finds
// it; a database that holds anything else is refused.
constexpr char kMarker[] = "migrated_from";

std::string Quote(const std::string& name) { return absl::StrCat("\"", name, "\""); }

absl::Status Context(const absl::Status& s, absl::string_view what) {
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

// One query's single integer answer on PostgreSQL.
absl::StatusOr<int64_t> PgInt(pg::Conn& conn, const std::string& sql) {
  pg::Stmt q(&conn, sql);
  if (!q.status().ok()) return q.status();
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("no answer to ", sql));
  return q.Int(0);
}
absl::StatusOr<int64_t> SqliteInt(sqlite3* db, const std::string& sql) {
  sqlite::Stmt q(db, sql);
  if (!q.status().ok()) return q.status();
  auto row = q.Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("no answer to ", sql));
  return q.Int(0);
}

absl::StatusOr<std::string> PgCursor(pg::Conn& conn, const std::string& name) {
  pg::Stmt q(&conn, "SELECT value FROM cursors WHERE name = ?");
  if (!q.status().ok()) return q.status();
  q.Reset().Bind(name);
  auto row = q.Step();
  if (!row.ok()) return row.status();
  return *row ? q.Text(0) : std::string();
}
absl::StatusOr<std::string> SqliteCursor(sqlite3* db, const std::string& name) {
  sqlite::Stmt q(db, "SELECT value FROM cursors WHERE name = ?");
  if (!q.status().ok()) return q.status();
  q.Reset().Bind(name);
  auto row = q.Step();
  if (!row.ok()) return row.status();
  return *row ? q.Text(0) : std::string();
}

// The source's columns, each with whether the target's is bytea; an error naming the first
// column one side has and the other has not (a store of another version).
absl::StatusOr<std::vector<std::pair<std::string, bool>>> Columns(sqlite3* src, pg::Conn& dst,
                                                                  const std::string& table) {
  std::vector<std::pair<std::string, bool>> columns;
  sqlite::Stmt info(src, absl::StrCat("PRAGMA table_info(", Quote(table), ")"));
  if (!info.status().ok()) return info.status();
  while (true) {
    auto row = info.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    columns.emplace_back(info.Text(1), false);
  }
  if (columns.empty())
    return absl::FailedPreconditionError(
        absl::StrCat("the SQLite store has no table ", table,
                     "; start this version's debriefd on it once (it upgrades the file), stop "
                     "it, and migrate again"));
  std::map<std::string, std::string> target;
  pg::Stmt types(&dst,
                 "SELECT column_name, data_type FROM information_schema.columns "
                 "WHERE table_schema = current_schema() AND table_name = ?");
  if (!types.status().ok()) return types.status();
  types.Reset().Bind(table);
  while (true) {
    auto row = types.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    target[types.Text(0)] = types.Text(1);
  }
  for (auto& [name, bytea] : columns) {
    auto t = target.find(name);
    if (t == target.end())
      return absl::FailedPreconditionError(
          absl::StrCat("the PostgreSQL store has no column ", table, ".", name,
                       ": is this debriefctl the same version as the debriefd that wrote it?"));
    bytea = t->second == "bytea";
    target.erase(t);
  }
  if (!target.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        "the SQLite store has no column ", table, ".", target.begin()->first,
        "; start this version's debriefd on it once (it upgrades the file), stop it, and "
        "migrate again"));
  return columns;
}

// The target table's primary key columns.
absl::StatusOr<std::set<std::string>> PrimaryKey(pg::Conn& dst, const std::string& table) {
  pg::Stmt q(&dst,
             "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
             "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(? AS regclass) "
             "AND i.indisprimary");
  if (!q.status().ok()) return q.status();
  q.Reset().Bind(table);
  std::set<std::string> key;
  while (true) {
    auto row = q.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    key.insert(q.Text(0));
  }
  if (key.empty()) return absl::InternalError(absl::StrCat(table, " has no primary key"));
  return key;
}

// Copies one table, kRowsPerTransaction rows per transaction, printing progress.
absl::Status CopyTable(sqlite3* src, pg::Conn& dst, const Table& t) {
  auto columns = Columns(src, dst, t.name);
  if (!columns.ok()) return columns.status();
  std::vector<std::string> names, marks;
  for (const auto& [name, bytea] : *columns) {
    names.push_back(Quote(name));
    marks.push_back("?");
  }
  const std::string list = absl::StrJoin(names, ", ");
  // A row the target has already (an earlier, interrupted run) takes the source's values: the
  // source may have changed since (a debriefd started in between). The update triggers count
  // a row that did not change as no change.
  auto key = PrimaryKey(dst, t.name);
  if (!key.ok()) return key.status();
  std::vector<std::string> sets;
  for (const auto& [name, bytea] : *columns)
    if (!key->count(name)) sets.push_back(absl::StrCat(Quote(name), " = EXCLUDED.", Quote(name)));
  std::vector<std::string> key_names;
  for (const std::string& k : *key) key_names.push_back(Quote(k));
  const std::string insert = absl::StrCat(
      "INSERT INTO ", t.name, "(", list, ") VALUES(", absl::StrJoin(marks, ", "), ") ON CONFLICT (",
      absl::StrJoin(key_names, ", "), ") ",
      sets.empty() ? "DO NOTHING" : absl::StrCat("DO UPDATE SET ", absl::StrJoin(sets, ", ")));

  auto total = SqliteInt(src, absl::StrCat("SELECT COUNT(*) FROM ", t.name));
  if (!total.ok()) return total.status();
  sqlite::Stmt read(src, absl::StrCat("SELECT ", list, " FROM ", t.name, " ORDER BY ", t.order));
  if (!read.status().ok()) return read.status();
  pg::Stmt write(&dst, insert);
  if (!write.status().ok()) return write.status();

  int64_t done = 0;
  bool open = false;
  auto rollback = absl::MakeCleanup([&] {
    if (open) dst.Rollback();
  });
  auto commit = [&]() -> absl::Status {
    open = false;
    if (absl::Status s = dst.Commit(); !s.ok()) return s;
    std::cout << "  " << t.name << ": " << done << "/" << *total << " rows\n" << std::flush;
    return absl::OkStatus();
  };
  while (true) {
    auto row = read.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    if (!open) {
      if (absl::Status s = dst.Begin("BEGIN"); !s.ok()) return s;
      open = true;
    }
    write.Reset();
    for (int c = 0; c < static_cast<int>(columns->size()); ++c) {
      switch (read.Type(c)) {
        case SQLITE_NULL:
          write.BindNull();
          break;
        case SQLITE_INTEGER:
          write.Bind(read.Int(c));
          break;
        case SQLITE_BLOB:
          write.BindBlob(read.Text(c));
          break;
        default:  // text (and a float, as its text)
          if ((*columns)[c].second)
            write.BindBlob(read.Text(c));
          else
            write.Bind(read.Text(c));
      }
    }
    if (absl::Status s = write.Exec(); !s.ok()) return s;
    if (++done % kRowsPerTransaction == 0)
      if (absl::Status s = commit(); !s.ok()) return s;
  }
  if (open) return commit();
  std::cout << "  " << t.name << ": " << done << "/" << *total << " rows\n";
  return absl::OkStatus();
}

// The tickets, customers per task the triggers counted: (task_id, tickets, customers). Rows
// of no tickets (every link moved away) are left out: a copy never makes them.
using Counts = std::set<std::tuple<int64_t, int64_t, int64_t>>;
constexpr char kCountsSql[] =
    "SELECT task_id, tickets, customers FROM task_counts WHERE tickets <> 0 OR customers <> 0";

// Prints each table's rows on both sides, and whether the trigger-kept counts agree; false on
// any difference.
absl::StatusOr<bool> Verify(sqlite3* db, sqlite3* inbox, pg::Conn& dst) {
  bool same = true;
  std::cout << "\n"
            << std::left << std::setw(22) << "table" << std::right << std::setw(12) << "sqlite"
            << std::setw(12) << "postgresql"
            << "\n";
  for (const Table& t : kTables) {
    auto a = SqliteInt(t.inbox ? inbox : db, absl::StrCat("SELECT COUNT(*) FROM ", t.name));
    if (!a.ok()) return a.status();
    auto b = PgInt(dst, absl::StrCat("SELECT COUNT(*) FROM ", t.name,
                                     std::string(t.name) == "cursors"
                                         ? absl::StrCat(" WHERE name <> '", kMarker, "'")
                                         : ""));
    if (!b.ok()) return b.status();
    std::cout << std::left << std::setw(22) << t.name << std::right << std::setw(12) << *a
              << std::setw(12) << *b << (*a == *b ? "" : "  DIFFERENT") << "\n";
    same = same && *a == *b;
  }
  Counts a, b;
  sqlite::Stmt qa(db, kCountsSql);
  while (true) {
    auto row = qa.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    a.emplace(qa.Int(0), qa.Int(1), qa.Int(2));
  }
  pg::Stmt qb(&dst, kCountsSql);
  while (true) {
    auto row = qb.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    b.emplace(qb.Int(0), qb.Int(1), qb.Int(2));
  }
  std::cout << std::left << std::setw(22) << "task_counts" << std::right << std::setw(12)
            << a.size() << std::setw(12) << b.size() << (a == b ? "" : "  DIFFERENT") << "\n";
  same = same && a == b;
  return same;
}

// The config at `path`, an error naming the flag that gave it.
absl::StatusOr<v1::Config> Load(const std::string& path, const char* flag) {
  auto c = config::LoadConfig(path);
  if (!c.ok()) return Context(c.status(), absl::StrCat(flag, " ", path));
  return c;
}

int Migrate(const Args& a) {
  auto from = Load(a.from, "--from");
  if (!from.ok()) return Fail(from.status());
  auto to = Load(a.to, "--to");
  if (!to.ok()) return Fail(to.status());
  if (from->store().has_postgres())
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--from ", a.from, " names a PostgreSQL store: migrate copies from SQLite")));
  if (!to->store().has_postgres())
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--to ", a.to, " names no PostgreSQL store (store: {postgres: {conninfo: ...}})")));

  const std::string db_path = from->store().sqlite().path();
  const std::string inbox_path = store::InboxPath(db_path);
  // Both files held with their write locks for the whole copy and its check: one unchanging
  // state is copied and verified, and a debriefd still running is noticed instead of changing
  // the source behind the copy. Nothing is written (the transactions are rolled back).
  auto db = sqlite::OpenConnection(db_path, /*read_only=*/false);
  if (!db.ok()) return Fail(db.status());
  absl::Cleanup close_db = [&] { sqlite3_close(*db); };
  auto inbox = sqlite::OpenConnection(inbox_path, /*read_only=*/false);
  if (!inbox.ok()) return Fail(inbox.status());
  absl::Cleanup close_inbox = [&] { sqlite3_close(*inbox); };
  for (sqlite3* c : {*db, *inbox}) {
    sqlite3_busy_timeout(c, 2000);
    // The tickets' sort by arrival spills to a file, not memory (a million tickets' blobs).
    if (absl::Status s = sqlite::Exec(c, "PRAGMA temp_store = FILE; BEGIN IMMEDIATE"); !s.ok())
      return Fail(absl::FailedPreconditionError(absl::StrCat(
          "the SQLite store is in use (", s.message(), "): stop debriefd, then migrate")));
  }
  absl::Cleanup end = [&] {
    for (sqlite3* c : {*db, *inbox}) sqlite::Exec(c, "ROLLBACK").IgnoreError();
  };

  const auto& pc = to->store().postgres();
  std::string password;
  if (pc.password().source_case() != v1::SecretRef::SOURCE_NOT_SET) {
    auto p = settings::ResolveSecret(pc.password(), to->data_dir(), false);
    if (!p.ok()) return Fail(Context(p.status(), "store.postgres.password"));
    password = std::move(*p);
  }
  {
    // Makes the target's schema (or checks it is this version's), then lets it go.
    store::PostgresOptions options;
    options.conninfo = pc.conninfo();
    options.password = password;
    auto target = store::OpenPostgresStore(options, spi::SystemClock::Get());
    if (!target.ok()) return Fail(Context(target.status(), "the PostgreSQL store"));
  }
  auto dst = pg::Conn::Open(pc.conninfo(), password);
  if (!dst.ok()) return Fail(Context(dst.status(), "the PostgreSQL store"));

  // Another installation's data is never mixed with this one's.
  auto source_id = SqliteCursor(*db, "installation");
  if (!source_id.ok()) return Fail(source_id.status());
  auto target_id = PgCursor(**dst, "installation");
  if (!target_id.ok()) return Fail(target_id.status());
  auto marker = PgCursor(**dst, kMarker);
  if (!marker.ok()) return Fail(marker.status());
  // Anything but the schema's own installation id: taxonomy versions or tokens a debriefd made
  // there, as much as tickets.
  std::vector<std::string> any;
  for (const Table& t : kTables)
    any.push_back(
        absl::StrCat("(SELECT COUNT(*) FROM (SELECT 1 FROM ", t.name,
                     std::string(t.name) == "cursors"
                         ? absl::StrCat(" WHERE name NOT IN ('installation', '", kMarker, "')")
                         : "",
                     " LIMIT 1) x)"));
  auto held = PgInt(**dst, absl::StrCat("SELECT ", absl::StrJoin(any, " + ")));
  if (!held.ok()) return Fail(held.status());
  if (*held > 0 && (*target_id != *source_id || *marker != *source_id))
    return Fail(absl::FailedPreconditionError(absl::StrCat(
        "the PostgreSQL store already holds data that no copy of this installation (", *source_id,
        ") put there",
        *target_id != *source_id ? absl::StrCat(": another installation's, ", *target_id) : "",
        "; migrate into an empty database, or drop this one's tables first")));
  {
    pg::Stmt mark(&**dst,
                  "INSERT INTO cursors(name, value, updated_at) VALUES(?, ?, 0) "
                  "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value");
    if (!mark.status().ok()) return Fail(mark.status());
    if (absl::Status s = mark.Reset().Bind(std::string(kMarker)).Bind(*source_id).Exec(); !s.ok())
      return Fail(s);
  }

  std::cout << "copying " << db_path << " and " << inbox_path << " to PostgreSQL\n";
  for (const Table& t : kTables)
    if (absl::Status s = CopyTable(t.inbox ? *inbox : *db, **dst, t); !s.ok())
      return Fail(Context(s, absl::StrCat("copying ", t.name)));
  for (const Table& t : kTables) {
    if (t.identity == nullptr) continue;
    auto s =
        PgInt(**dst, absl::StrCat("SELECT setval(pg_get_serial_sequence('", t.name, "', '",
                                  t.identity, "'), GREATEST(COALESCE(MAX(", t.identity,
                                  "), 1), COALESCE(pg_sequence_last_value(pg_get_serial_sequence('",
                                  t.name, "', '", t.identity, "')), 1))) FROM ", t.name));
    if (!s.ok()) return Fail(Context(s.status(), absl::StrCat("the ", t.name, " sequence")));
  }
  auto same = Verify(*db, *inbox, **dst);
  if (!same.ok()) return Fail(Context(same.status(), "verifying"));
  if (!*same) {
    std::cerr << "debriefctl: the PostgreSQL store differs from the SQLite one (above); was "
                 "debriefd running on either?\n";
    return 1;
  }
  std::cout << "\nverified: the PostgreSQL store holds everything the SQLite one does\n";
  return 0;
}

}  // namespace

void AddMigrateCommand(CLI::App& app, Ctl& ctl) {
  auto a = std::make_shared<Args>();
  auto* migrate = app.add_subcommand(
      "migrate",
      "copy a SQLite store into a PostgreSQL one (debriefd stopped); resumable, then verified");
  migrate->add_option("--from", a->from, "debriefd's config whose store is SQLite (store.sqlite)")
      ->required();
  migrate->add_option("--to", a->to, "a config whose store is PostgreSQL (store.postgres)")
      ->required();
  migrate->callback([a, &ctl] { ctl.rc = Migrate(*a); });
}

}  // namespace debrief::cli
