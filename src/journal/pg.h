// Thin RAII layer over libpq. The journal component is the only user of libpq.
// Thread ownership: a PGconn belongs to one thread at a time; nothing here is shared.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/parse.h"
#include "ledger/status.h"

namespace ledger::pg {

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// Checks that `url` is a well-formed libpq URI or key=value string, without connecting.
Status validate_url(const std::string& url);

// The URL without its password, for logs: "host=... port=... dbname=... user=...".
std::string describe_url(const std::string& url);

// Connects with a connect timeout and TCP keepalives; the URL's own settings win.
Status connect(const std::string& url, Conn* out);

// From now on every connection this process makes sets ledger.epoch to `epoch` (0: no longer),
// which the back-office tables' triggers check against the ledger lease (migration 0017): set
// once the lease is taken, so that a deposed ledgerd's back-office writes fail too. Such a
// connection is named "ledgerd epoch=N" (application_name), so that the next holder can end
// the sessions of a deposed one (end_deposed_sessions), and a fenced transaction of it may
// wait at most `idle_ms` for its next statement (ledger.fence_idle_ms, migration 0018).
void set_session_fence(std::int64_t epoch, std::uint32_t idle_ms = 1'000);

// Runs one or more statements with no parameters; fails unless every one succeeded.
Status exec(PGconn* conn, const std::string& sql);

// Runs one statement with text parameters; *out holds the rows (may be null for commands).
// On failure *sqlstate (if given) holds the server's SQLSTATE ("22021"), or is empty when the
// statement never got an answer (connection lost).
Status exec_params(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                   Result* out, std::string* sqlstate = nullptr);

// A column of a text-format row as a number; false if it is NULL or not exactly a number of T.
template <typename T>
[[nodiscard]] bool number(const PGresult* rows, int row, int column, T* out) {
  if (PQgetisnull(rows, row, column)) return false;
  return parse_number(std::string_view(PQgetvalue(rows, row, column),
                                       static_cast<std::size_t>(PQgetlength(rows, row, column))),
                      out);
}

// libpq's message for the last failure on `conn`, folded into one line.
std::string last_error(PGconn* conn);
std::string one_line(std::string text);

}  // namespace ledger::pg
