#include "pg/pg.h"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "base/utf8.h"

namespace debrief::pg {
namespace {

constexpr unsigned kByteaOid = 17;
constexpr unsigned kBoolOid = 16;

// Settings every connection runs with, whatever the server's, database's or role's defaults:
// text as UTF-8; a commit durable before it is acknowledged (synchronous_commit off would
// acknowledge webhooks that a server crash then loses); bytea read back in the hex form Text
// decodes; writable transactions; and timeouts that keep a stuck lock or a forgotten transaction
// from holding a caller forever (the caller's work is retried, never dropped).
constexpr char kSessionSettings[] =
    "SET client_encoding = 'UTF8'; SET synchronous_commit = on; SET bytea_output = 'hex'; "
    "SET default_transaction_read_only = off; SET standard_conforming_strings = on; "
    "SET lock_timeout = '30s'; SET idle_in_transaction_session_timeout = '10min'";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A bytea column in text form (PostgreSQL's hex format, `\x0a1b...`) as its bytes.
std::string DecodeBytea(const char* p, int n) {
  if (n < 2 || p[0] != '\\' || p[1] != 'x') return std::string(p, n);
  std::string out;
  out.reserve((n - 2) / 2);
  for (int i = 2; i + 1 < n; i += 2) {
    const int hi = HexValue(p[i]), lo = HexValue(p[i + 1]);
    if (hi < 0 || lo < 0) break;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// The codes for an SQLSTATE (PostgreSQL's Appendix A).
absl::StatusCode CodeOf(std::string_view state) {
  const std::string_view category = state.substr(0, 2);
  if (category == "08" ||  // connection exception
      category == "53" ||  // insufficient resources: disk full, out of memory, too many clients
      state == "40001" ||  // serialization failure
      state == "40P01" ||  // deadlock detected
      state == "55P03" ||  // lock not available (lock_timeout): SQLite's BUSY
      state == "57014" ||  // query canceled (statement_timeout)
      state.starts_with("57P0") ||  // shutting down, starting up, idle session timeout
      state == "58030" ||           // I/O error: SQLite's IOERR
      state == "25006")             // read-only transaction: a standby, after a failover
    return absl::StatusCode::kUnavailable;
  if (category == "23") return absl::StatusCode::kAlreadyExists;  // integrity constraint
  // Bytes a text column cannot hold (not UTF-8, or a NUL): the data's fault, not the database's.
  if (state == "22021" || state == "22P05") return absl::StatusCode::kInvalidArgument;
  if (state == "XX001" || state == "XX002") return absl::StatusCode::kDataLoss;
  return absl::StatusCode::kInternal;
}

}  // namespace

absl::Status StatusOf(const PGresult* res, PGconn* conn) {
  const ExecStatusType status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  switch (status) {
    case PGRES_FATAL_ERROR:
    case PGRES_NONFATAL_ERROR:
    case PGRES_BAD_RESPONSE:
    case PGRES_PIPELINE_ABORTED:
      break;
    default:
      return absl::OkStatus();
  }
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message;
  if (primary != nullptr) {
    message = primary;
  } else if (res != nullptr && *PQresultErrorMessage(res) != '\0') {
    message = PQresultErrorMessage(res);
  } else if (conn != nullptr) {
    message = PQerrorMessage(conn);
  } else {
    message = "no connection";
  }
  const std::string what =
      absl::StrCat("postgres: ", absl::StripTrailingAsciiWhitespace(message),
                   state != nullptr ? absl::StrCat(" (SQLSTATE ", state, ")") : "");
  // A connection that is gone, a result libpq could not make (the command was never sent, or
  // memory ran out) and a reply it could not read all pass with a new connection or a retry;
  // errors libpq makes itself carry no SQLSTATE.
  if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD || res == nullptr ||
      status == PGRES_BAD_RESPONSE)
    return absl::UnavailableError(what);
  if (state == nullptr) return absl::InternalError(what);
  return absl::Status(CodeOf(state), what);
}

absl::StatusOr<std::unique_ptr<Conn>> Conn::Open(const std::string& conninfo,
                                                 const std::string& password) {
  // Defaults that conninfo may override (dbname is expanded as a whole connection string, its
  // settings taking the place of these): give up connecting after 10 s; notice a peer that
  // vanished (a failover, a NAT dropping the flow) within about a minute instead of the
  // kernel's quarter of an hour; with several hosts, the one that takes writes.
  std::vector<const char*> keys = {"connect_timeout",
                                   "keepalives_idle",
                                   "keepalives_interval",
                                   "keepalives_count",
                                   "tcp_user_timeout",
                                   "target_session_attrs",
                                   "dbname"};
  std::vector<const char*> values = {
      "10", "30", "10", "3", "60000", "read-write", conninfo.c_str()};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* c = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (c == nullptr) return absl::UnavailableError("postgresql: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    // libpq's message names the host and the failure, never the password.
    absl::Status s = absl::UnavailableError(absl::StrCat(
        "cannot connect to PostgreSQL: ", absl::StripTrailingAsciiWhitespace(PQerrorMessage(c))));
    PQfinish(c);
    return s;
  }
  // Text in any other encoding could not hold what helpdesks send (a LATIN1 database refuses
  // a name in Japanese); SQL_ASCII keeps bytes as they are, as SQLite does.
  const char* encoding = PQparameterStatus(c, "server_encoding");
  const std::string enc = encoding != nullptr ? encoding : "";
  if (enc != "UTF8" && enc != "SQL_ASCII") {
    PQfinish(c);
    return absl::FailedPreconditionError(
        absl::StrCat("the PostgreSQL database's encoding is ", enc.empty() ? "unknown" : enc,
                     ": Debrief needs UTF8 (createdb --encoding=UTF8 --template=template0)"));
  }
  std::unique_ptr<Conn> conn(new Conn(c));
  if (absl::Status s = conn->Exec(kSessionSettings); !s.ok()) return s;
  return conn;
}

Conn::~Conn() { PQfinish(conn_); }

absl::Status Conn::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK && !stale_) return absl::OkStatus();
  // Inside a transaction a new connection would run the rest of it on its own, outside it:
  // the transaction fails instead, and its caller rolls back and tries again.
  if (in_transaction_)
    return absl::UnavailableError("the PostgreSQL connection was lost during a transaction");
  stale_ = false;
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK)
    return absl::UnavailableError(absl::StrCat(
        "PostgreSQL connection lost: ", absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn_))));
  ++generation_;
  PGresult* r = PQexec(conn_, kSessionSettings);
  absl::Status s = PQresultStatus(r) == PGRES_COMMAND_OK ? absl::OkStatus() : StatusOf(r, conn_);
  PQclear(r);
  return s;
}

absl::Status Conn::Exec(const char* sql) {
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  PGresult* r = PQexec(conn_, sql);
  const ExecStatusType st = PQresultStatus(r);
  absl::Status s = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY
                       ? absl::OkStatus()
                       : StatusOf(r, conn_);
  PQclear(r);
  return s;
}

absl::Status Conn::Begin(const char* begin) {
  // A transaction left open (a caller that threw) ends here, undone, before the next starts.
  if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
    PQclear(PQexec(conn_, "ROLLBACK"));
  in_transaction_ = false;
  absl::Status s = Exec(begin);
  // A connection the server ended while it sat idle (a restart, a failover) is noticed only
  // when used: outside a transaction nothing is lost by connecting again and trying once more.
  if (!s.ok() && PQstatus(conn_) == CONNECTION_BAD) s = Exec(begin);
  if (!s.ok()) {
    // A `begin` of several statements (BEGIN, then a lock) may fail after the BEGIN: the
    // transaction it left open is ended here, not by whatever runs next.
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
      PQclear(PQexec(conn_, "ROLLBACK"));
    return s;
  }
  in_transaction_ = true;
  return absl::OkStatus();
}

absl::Status Conn::Commit() {
  if (absl::Status s = EnsureConnected(); !s.ok()) {
    in_transaction_ = false;
    return s;
  }
  in_transaction_ = false;
  PGresult* r = PQexec(conn_, "COMMIT");
  absl::Status s = PQresultStatus(r) == PGRES_COMMAND_OK ? absl::OkStatus() : StatusOf(r, conn_);
  // COMMIT of a transaction an error ended answers ROLLBACK: nothing was written.
  if (s.ok() && std::strcmp(PQcmdStatus(r), "COMMIT") != 0)
    s = absl::InternalError("postgresql: the transaction was rolled back by an earlier error");
  PQclear(r);
  return s;
}

void Conn::Rollback() {
  in_transaction_ = false;
  if (PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
}

absl::Status CheckConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    // Not libpq's message: it quotes the part it could not read, which may be a password.
    absl::Status s = absl::InvalidArgumentError(
        "is not a libpq connection string (key=value ...) or URI (postgresql://...)");
    PQfreemem(error);
    return s;
  }
  bool password = false;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o)
    password |= std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0';
  PQconninfoFree(options);
  if (password)
    return absl::InvalidArgumentError(
        "must not hold a password: use store.postgres.password (a secret reference) or libpq's "
        "passfile");
  return absl::OkStatus();
}

std::string TranslatePlaceholders(absl::string_view sql, int* params) {
  std::string out;
  out.reserve(sql.size() + 16);
  int largest = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or a quoted name: copied as it is
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == absl::string_view::npos ? sql.size() : end + 1;
      out.append(sql.data() + i, stop - i);
      i = stop - 1;
      continue;
    }
    if (c != '?') {
      out.push_back(c);
      continue;
    }
    size_t j = i + 1;
    while (j < sql.size() && absl::ascii_isdigit(static_cast<unsigned char>(sql[j]))) ++j;
    int n = 0;
    if (j > i + 1) {
      (void)absl::SimpleAtoi(sql.substr(i + 1, j - i - 1), &n);
    } else {
      n = largest + 1;
    }
    largest = std::max(largest, n);
    absl::StrAppend(&out, "$", n);
    i = j - 1;
  }
  *params = largest;
  return out;
}

Stmt::Stmt(Conn* conn, absl::string_view sql) : conn_(conn), name_(conn->NextStatementName()) {
  sql_ = TranslatePlaceholders(sql, &params_);
  values_.resize(params_);
  null_.resize(params_, true);
  formats_.resize(params_, 0);
  status_ = Prepare();
}

Stmt::~Stmt() { PQclear(res_); }

absl::Status Stmt::Prepare() {
  if (absl::Status s = conn_->EnsureConnected(); !s.ok()) return s;
  PGresult* r = PQprepare(conn_->conn_, name_.c_str(), sql_.c_str(), params_, nullptr);
  absl::Status s = PQresultStatus(r) == PGRES_COMMAND_OK
                       ? absl::OkStatus()
                       : absl::Status(StatusOf(r, conn_->conn_).code(),
                                      absl::StrCat(StatusOf(r, conn_->conn_).message(),
                                                   " (preparing: ", sql_, ")"));
  PQclear(r);
  if (s.ok()) prepared_generation_ = conn_->generation();
  return s;
}

Stmt& Stmt::Reset() {
  PQclear(res_);
  res_ = nullptr;
  row_ = -1;
  ran_ = false;
  next_ = 0;
  std::fill(null_.begin(), null_.end(), true);
  return *this;
}

Stmt& Stmt::Bind(int64_t v) {
  if (next_ < params_) {
    values_[next_] = std::to_string(v);
    null_[next_] = false;
    formats_[next_] = 0;
  }
  ++next_;
  return *this;
}

Stmt& Stmt::Bind(const std::string& v) {
  if (next_ < params_) {
    // Text PostgreSQL cannot hold (not UTF-8, or a NUL, where libpq would cut the value short)
    // is kept with U+FFFD in place of what it cannot: an error message quoting a vendor's
    // Latin-1 answer must not fail the write that records it. Ids come from JSON, valid UTF-8
    // already: only a \u0000 escape in one is changed so.
    if (base::IsValidUtf8(v) && v.find('\0') == std::string::npos) {
      values_[next_] = v;
    } else {
      values_[next_] =
          absl::StrReplaceAll(base::ToValidUtf8(v), {{absl::string_view("\0", 1), "\xEF\xBF\xBD"}});
    }
    null_[next_] = false;
    formats_[next_] = 0;
  }
  ++next_;
  return *this;
}

Stmt& Stmt::BindBlob(const std::string& v) {
  if (next_ < params_) {
    values_[next_] = v;
    null_[next_] = false;
    formats_[next_] = 1;
  }
  ++next_;
  return *this;
}

Stmt& Stmt::BindNull() {
  if (next_ < params_) null_[next_] = true;
  ++next_;
  return *this;
}

absl::StatusOr<bool> Stmt::Step() {
  if (!ran_) {
    ran_ = true;
    if (absl::Status s = conn_->EnsureConnected(); !s.ok()) return s;
    if (prepared_generation_ != conn_->generation()) {
      if (status_ = Prepare(); !status_.ok()) return status_;
    }
    std::vector<const char*> values(params_);
    std::vector<int> lengths(params_);
    for (int i = 0; i < params_; ++i) {
      values[i] = null_[i] ? nullptr : values_[i].data();
      lengths[i] = static_cast<int>(values_[i].size());
    }
    res_ = PQexecPrepared(conn_->conn_, name_.c_str(), params_, values.data(), lengths.data(),
                          formats_.data(), /*resultFormat=*/0);
    // As Conn::Begin: a query of its own (no transaction around it) on a connection that turns
    // out to have been ended runs again, once, on a new one. Not a write: the server may have
    // committed it before the connection went (shifting every due time twice, say).
    if (PQresultStatus(res_) != PGRES_COMMAND_OK && PQresultStatus(res_) != PGRES_TUPLES_OK &&
        PQstatus(conn_->conn_) == CONNECTION_BAD && !conn_->in_transaction_ &&
        absl::StartsWithIgnoreCase(sql_, "SELECT")) {
      PQclear(res_);
      res_ = nullptr;
      if (absl::Status s = conn_->EnsureConnected(); !s.ok()) return s;
      if (status_ = Prepare(); !status_.ok()) return status_;
      res_ = PQexecPrepared(conn_->conn_, name_.c_str(), params_, values.data(), lengths.data(),
                            formats_.data(), /*resultFormat=*/0);
    }
    const ExecStatusType st = PQresultStatus(res_);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      absl::Status s = StatusOf(res_, conn_->conn_);
      // A standby answers writes so (a failover that kept this connection, to a server now in
      // recovery; a READ ONLY transaction's refusal is not that): the next use connects
      // again, to the server that takes them.
      const char* state = PQresultErrorField(res_, PG_DIAG_SQLSTATE);
      const char* standby = PQparameterStatus(conn_->conn_, "in_hot_standby");
      if (state != nullptr && std::strcmp(state, "25006") == 0 && standby != nullptr &&
          std::strcmp(standby, "on") == 0)
        conn_->stale_ = true;
      PQclear(res_);
      res_ = nullptr;
      return s;
    }
    char* changed = PQcmdTuples(res_);
    conn_->changes_ = changed != nullptr && *changed != '\0' ? std::atoll(changed) : 0;
  }
  if (res_ == nullptr) return false;
  ++row_;
  if (row_ < PQntuples(res_)) return true;
  // Past the last row: the result is let go now rather than kept until the statement's next
  // use (a listing of thousands of tickets would stay in memory on every connection).
  PQclear(res_);
  res_ = nullptr;
  return false;
}

absl::Status Stmt::Exec() {
  auto r = Step();
  return r.ok() ? absl::OkStatus() : r.status();
}

int64_t Stmt::Int(int col) const {
  if (res_ == nullptr || row_ < 0 || row_ >= PQntuples(res_) || PQgetisnull(res_, row_, col))
    return 0;
  const char* v = PQgetvalue(res_, row_, col);
  if (PQftype(res_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
  return std::strtoll(v, nullptr, 10);
}

bool Stmt::IsNull(int col) const {
  return res_ == nullptr || row_ < 0 || row_ >= PQntuples(res_) || PQgetisnull(res_, row_, col);
}

std::string Stmt::Text(int col) const {
  if (IsNull(col)) return std::string();
  const char* v = PQgetvalue(res_, row_, col);
  const int n = PQgetlength(res_, row_, col);
  if (PQftype(res_, col) == kByteaOid) return DecodeBytea(v, n);
  return std::string(v, n);
}

}  // namespace debrief::pg
