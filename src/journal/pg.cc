#include "journal/pg.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <string_view>

#include "ledger/limits.h"

namespace ledger::pg {
namespace {
std::atomic<std::int64_t> session_fence{0};  // set_session_fence
std::atomic<std::uint32_t> session_fence_idle_ms{1'000};
}  // namespace

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  std::string folded;
  folded.reserve(text.size());
  for (char c : text) {
    if (c == ' ' && !folded.empty() && folded.back() == ' ') continue;
    folded.push_back(c);
  }
  return folded;
}

std::string last_error(PGconn* conn) { return one_line(PQerrorMessage(conn)); }

namespace {

// libpq's parse errors quote the piece they stopped at ("invalid percent-encoded token:
// \"secret%pw\""), which may be the password: every quoted piece is left out.
std::string without_quoted_parts(const std::string& message) {
  std::string out;
  bool quoted = false;
  for (const char c : message) {
    if (c == '"') {
      if (!quoted) out += "\"...\"";
      quoted = !quoted;
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

// libpq ends a URI's user info at its first '@' (or a '/' before any '@'). A password with an
// unencoded '@' or '/' is then read partly as the host name or the database name, and those
// are logged and echoed in connection errors. Such URLs are refused before libpq sees them.
bool userinfo_is_ambiguous(std::string_view url) {
  for (const std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (!url.starts_with(scheme)) continue;
    const std::string_view rest = url.substr(scheme.size());
    const auto end = rest.find_first_of("@/");
    if (end == std::string_view::npos) return false;
    std::string_view after = rest.substr(end + 1);
    after = after.substr(0, after.find('?'));
    if (rest[end] == '/') return after.find('@') != std::string_view::npos;  // '/' in a password
    return after.substr(0, after.find('/')).find('@') != std::string_view::npos;
  }
  return false;
}

}  // namespace

Status validate_url(const std::string& url) {
  if (url.empty()) return Status::error("database URL is empty (set LEDGER_DATABASE_URL)");
  if (userinfo_is_ambiguous(url)) {
    return Status::error(
        "malformed database URL: its user or password holds an unencoded '@' or '/' "
        "(percent-encode them: %40 and %2F); the URL is not shown, it may hold a password");
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message =
        error != nullptr ? without_quoted_parts(one_line(error)) : "out of memory";
    PQfreemem(error);
    return Status::error("malformed database URL: " + message +
                         " (the URL is not shown, it may hold a password)");
  }
  PQconninfoFree(options);
  return Status();
}

std::string describe_url(const std::string& url) {
  if (!validate_url(url).ok()) return "(malformed)";
  PQconninfoOption* options = PQconninfoParse(url.c_str(), nullptr);
  if (options == nullptr) return "(malformed)";
  std::string text;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    const std::string_view key = option->keyword;
    if (option->val == nullptr || key == "password") continue;
    if (key != "host" && key != "hostaddr" && key != "port" && key != "dbname" && key != "user" &&
        key != "sslmode") {
      continue;
    }
    if (!text.empty()) text += ' ';
    text += std::string(key) + "=" + option->val;
  }
  PQconninfoFree(options);
  return text.empty() ? "(libpq defaults)" : text;
}

Status connect(const std::string& url, Conn* out) {
  if (Status status = validate_url(url); !status.ok()) return status;
  const std::int64_t epoch = session_fence.load();
  const std::string timeout = std::to_string(limits::db_connect_timeout_s);
  const std::string name = epoch > 0 ? "ledgerd epoch=" + std::to_string(epoch) : "ledgerd";
  const std::string idle = std::to_string(limits::db_keepalive_idle_s);
  const std::string interval = std::to_string(limits::db_keepalive_interval_s);
  const std::string count = std::to_string(limits::db_keepalive_count);
  const std::string user_timeout = std::to_string(limits::db_tcp_user_timeout_ms);
  // Keywords before "dbname" are defaults; the expanded URL overrides them.
  const char* keywords[] = {"connect_timeout",
                            "application_name",
                            "keepalives",
                            "keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "tcp_user_timeout",
                            "dbname",
                            nullptr};
  const char* values[] = {timeout.c_str(),      name.c_str(),     "1",
                          idle.c_str(),         interval.c_str(), count.c_str(),
                          user_timeout.c_str(), url.c_str(),      nullptr};
  Conn conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (!conn) return Status::error("cannot allocate a database connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::error("cannot connect to database (" + describe_url(url) +
                         "): " + last_error(conn.get()));
  }
  // Server notices ("relation already exists, skipping") go to the log, not to stderr.
  PQsetNoticeProcessor(
      conn.get(),
      [](void*, const char* message) {
        spdlog::debug("event=pg_notice message=\"{}\"", one_line(message));
      },
      nullptr);
  // The server's end of the connection gives up on a vanished ledgerd as this end does on a
  // vanished server (a partition, a dead host): otherwise its session, and any lock it holds,
  // lasts as long as the kernel's defaults (hours).
  std::string settings = "SELECT set_config('tcp_keepalives_idle', '" + idle +
                         "', false), set_config('tcp_keepalives_interval', '" + interval +
                         "', false), set_config('tcp_keepalives_count', '" + count +
                         "', false), set_config('tcp_user_timeout', '" + user_timeout + "', false)";
  if (epoch > 0) {
    settings += ", set_config('ledger.epoch', '" + std::to_string(epoch) +
                "', false), set_config('ledger.fence_idle_ms', '" +
                std::to_string(session_fence_idle_ms.load()) + "', false)";
  }
  Result set(PQexec(conn.get(), settings.c_str()));
  if (!set || PQresultStatus(set.get()) != PGRES_TUPLES_OK) {
    return Status::error("cannot set up a new database connection: " + last_error(conn.get()));
  }
  *out = std::move(conn);
  return Status();
}

void set_session_fence(std::int64_t epoch, std::uint32_t idle_ms) {
  session_fence_idle_ms.store(idle_ms);
  session_fence.store(epoch);
}

Status exec(PGconn* conn, const std::string& sql) {
  if (PQsendQuery(conn, sql.c_str()) == 0) return Status::error(last_error(conn));
  Status status;
  while (PGresult* raw = PQgetResult(conn)) {
    Result result(raw);
    const ExecStatusType code = PQresultStatus(raw);
    if (code != PGRES_COMMAND_OK && code != PGRES_TUPLES_OK && status.ok()) {
      status = Status::error(one_line(PQresultErrorMessage(raw)));
    }
  }
  return status;
}

Status exec_params(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                   Result* out, std::string* sqlstate) {
  if (sqlstate != nullptr) sqlstate->clear();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& param : params) values.push_back(param.c_str());
  Result result(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
  if (!result) return Status::error(last_error(conn));
  const ExecStatusType code = PQresultStatus(result.get());
  if (code != PGRES_COMMAND_OK && code != PGRES_TUPLES_OK) {
    const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    if (sqlstate != nullptr && state != nullptr) *sqlstate = state;
    return Status::error(one_line(PQresultErrorMessage(result.get())));
  }
  if (out != nullptr) *out = std::move(result);
  return Status();
}

}  // namespace ledger::pg
