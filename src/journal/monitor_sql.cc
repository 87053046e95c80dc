#include "journal/monitor_sql.h"

#include "ledger/ids.h"
#include "ledger/money.h"

namespace ledger::monitor_sql {
namespace {

std::string signed_text(std::uint64_t v) { return std::to_string(static_cast<std::int64_t>(v)); }

bool decode(const PGresult* rows, int r, BalanceMonitor* m) {
  const auto uuid = [&](int c, Uint128* out) {
    const auto parsed = parse_uuid(PQgetvalue(rows, r, c));
    if (!parsed) return false;
    *out = *parsed;
    return true;
  };
  const auto flag = [&](int c) { return std::string_view(PQgetvalue(rows, r, c)) == "t"; };
  std::int64_t ts = 0, created = 0, field = 0, op = 0, change = 0;
  *m = BalanceMonitor{};
  if (!pg::number(rows, r, 0, &ts) || !uuid(1, &m->id.value) || !uuid(2, &m->account_id.value) ||
      !pg::number(rows, r, 3, &field) || !pg::number(rows, r, 4, &op) ||
      !pg::number(rows, r, 5, &m->threshold) ||
      !parse_decimal128(PQgetvalue(rows, r, 6), &m->value) || !pg::number(rows, r, 7, &change) ||
      !pg::number(rows, r, 10, &created) || !pg::number(rows, r, 11, &m->currency.code) ||
      field < 0 || field > 2 || op < 0 || op > 3 || change < 0 || change > 3) {
    return false;
  }
  m->timestamp = static_cast<std::uint64_t>(ts);
  m->created_timestamp = static_cast<std::uint64_t>(created);
  m->field = static_cast<BalanceField>(field);
  m->op = static_cast<BalanceOperator>(op);
  m->change = static_cast<MonitorChange>(change);
  m->triggered = flag(8);
  m->deleted = flag(9);
  return true;
}

}  // namespace

void append_row(const BalanceMonitor& m, std::string* rows) {
  std::string& s = *rows;
  s.append(signed_text(m.timestamp)).push_back('\t');
  s.append(format_uuid(m.id.value)).push_back('\t');
  s.append(format_uuid(m.account_id.value)).push_back('\t');
  s.append(std::to_string(static_cast<int>(m.field))).push_back('\t');
  s.append(std::to_string(static_cast<int>(m.op))).push_back('\t');
  s.append(std::to_string(m.threshold)).push_back('\t');
  s.append(decimal_text(m.value)).push_back('\t');
  s.append(std::to_string(static_cast<int>(m.change))).push_back('\t');
  s.append(m.triggered ? "t\t" : "f\t");
  s.append(m.deleted ? "t\t" : "f\t");
  s.append(signed_text(m.created_timestamp)).push_back('\t');
  s.append(std::to_string(m.currency.code)).push_back('\n');
}

Status visit_rows(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                  const std::function<void(const BalanceMonitor&)>& visit) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return s;
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    BalanceMonitor m;
    if (!decode(rows.get(), r, &m)) {
      return Status::error("monitor_events holds a row that does not decode");
    }
    visit(m);
  }
  return Status();
}

Status load_latest(PGconn* conn, const std::function<void(const BalanceMonitor&)>& visit,
                   std::uint64_t after_ts) {
  const std::string where = after_ts > 0 ? " WHERE ts > " + signed_text(after_ts) : "";
  return visit_rows(conn,
                    std::string("SELECT * FROM (SELECT DISTINCT ON (monitor_id) ") + columns +
                        " FROM monitor_events" + where +
                        " ORDER BY monitor_id, ts DESC) latest ORDER BY created_ts",
                    {}, visit);
}

Status load_at(PGconn* conn, const std::vector<std::uint64_t>& timestamps,
               const std::function<void(const BalanceMonitor&)>& visit) {
  if (timestamps.empty()) return Status();
  std::string list;
  for (const std::uint64_t ts : timestamps) {
    if (!list.empty()) list.push_back(',');
    list.append(signed_text(ts));
  }
  return visit_rows(conn,
                    std::string("SELECT ") + columns + " FROM monitor_events WHERE ts IN (" + list +
                        ") ORDER BY ts",
                    {}, visit);
}

}  // namespace ledger::monitor_sql
