#include "journal/spike_sql.h"

#include "ledger/ids.h"
#include "ledger/money.h"

namespace ledger::spike_sql {
namespace {

std::string signed_text(std::uint64_t v) { return std::to_string(static_cast<std::int64_t>(v)); }

bool uuid_at(const PGresult* rows, int r, int c, Uint128* out) {
  if (PQgetisnull(rows, r, c)) {
    *out = Uint128{};
    return true;
  }
  const auto parsed = parse_uuid(PQgetvalue(rows, r, c));
  if (!parsed) return false;
  *out = *parsed;
  return true;
}

bool decode_spike(const PGresult* rows, int r, SpendingSpike* s) {
  *s = SpendingSpike{};
  std::int64_t ts = 0, scope = 0, direction = 0, start = 0;
  if (!pg::number(rows, r, 0, &ts) || !uuid_at(rows, r, 1, &s->rule_id) ||
      !pg::number(rows, r, 2, &scope) || !uuid_at(rows, r, 3, &s->key) ||
      !uuid_at(rows, r, 4, &s->account_id.value) || !pg::number(rows, r, 5, &direction) ||
      !pg::number(rows, r, 6, &s->window_s) || !pg::number(rows, r, 7, &start) ||
      !pg::number(rows, r, 8, &s->window_sum) || !pg::number(rows, r, 9, &s->count) ||
      !pg::number(rows, r, 10, &s->amount_at_least) ||
      !pg::number(rows, r, 11, &s->times_usual_x100) ||
      !pg::number(rows, r, 13, &s->currency.code) || scope < 0 || scope > 2 || direction < 0 ||
      direction > 1) {
    return false;
  }
  if (PQgetisnull(rows, r, 12)) {
    s->usual = -1;
  } else if (!parse_decimal128(PQgetvalue(rows, r, 12), &s->usual)) {
    return false;
  }
  s->timestamp = static_cast<std::uint64_t>(ts);
  s->window_start = static_cast<std::uint64_t>(start);
  s->scope = static_cast<SpikeScope>(scope);
  s->direction = static_cast<SpikeDirection>(direction);
  return true;
}

constexpr const char* rule_columns =
    "id, scope, scope_id, direction, window_s, amount_at_least, currency, times_usual_x100, "
    "cooldown_s, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

Status rules_of(const pg::Result& rows, std::vector<SpikeRule>* out) {
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    SpikeRule rule;
    std::int64_t scope = 0, direction = 0;
    if (!uuid_at(rows.get(), r, 0, &rule.id) || !pg::number(rows.get(), r, 1, &scope) ||
        !uuid_at(rows.get(), r, 2, &rule.scope_id) || !pg::number(rows.get(), r, 3, &direction) ||
        !pg::number(rows.get(), r, 4, &rule.window_s) ||
        !pg::number(rows.get(), r, 5, &rule.amount_at_least) ||
        !pg::number(rows.get(), r, 6, &rule.currency.code) ||
        !pg::number(rows.get(), r, 7, &rule.times_usual_x100) ||
        !pg::number(rows.get(), r, 8, &rule.cooldown_s) || scope < 0 || scope > 2 ||
        direction < 0 || direction > 1) {
      return Status::error("spike_rules holds a row that does not decode");
    }
    rule.scope = static_cast<SpikeScope>(scope);
    rule.direction = static_cast<SpikeDirection>(direction);
    rule.created_at = PQgetvalue(rows.get(), r, 9);
    out->push_back(rule);
  }
  return Status();
}

}  // namespace

void append_row(const SpendingSpike& s, std::string* rows) {
  std::string& o = *rows;
  const auto field = [&o](const std::string& v) { o.append(v).push_back('\t'); };
  field(signed_text(s.timestamp));
  field(format_uuid(s.rule_id));
  field(std::to_string(static_cast<int>(s.scope)));
  field(format_uuid(s.key));
  field(format_uuid(s.account_id.value));
  field(std::to_string(static_cast<int>(s.direction)));
  field(std::to_string(s.window_s));
  field(signed_text(s.window_start));
  field(std::to_string(s.window_sum));
  field(std::to_string(s.count));
  field(std::to_string(s.amount_at_least));
  field(std::to_string(s.times_usual_x100));
  field(s.usual < 0 ? std::string("\\N") : decimal_text(s.usual));
  o.append(std::to_string(s.currency.code)).push_back('\n');
}

Status visit_spikes(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                    const std::function<void(const SpendingSpike&)>& visit) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return s;
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    SpendingSpike spike;
    if (!decode_spike(rows.get(), r, &spike)) {
      return Status::error("spike_events holds a row that does not decode");
    }
    visit(spike);
  }
  return Status();
}

Status load_at(PGconn* conn, const std::vector<std::uint64_t>& timestamps,
               const std::function<void(const SpendingSpike&)>& visit) {
  if (timestamps.empty()) return Status();
  std::string list;
  for (const std::uint64_t ts : timestamps) {
    if (!list.empty()) list.push_back(',');
    list.append(signed_text(ts));
  }
  return visit_spikes(conn,
                      std::string("SELECT ") + event_columns + " FROM spike_events WHERE ts IN (" +
                          list + ") ORDER BY ts",
                      {}, visit);
}

Status run(PGconn* conn, const SpikeRuleRequest& q, SpikeRuleReply* reply) {
  *reply = SpikeRuleReply{};
  pg::Result rows;
  const std::string id = format_uuid(q.op == SpikeRuleRequest::Op::create ? q.rule.id : q.id);
  const std::string select = std::string("SELECT ") + rule_columns + " FROM spike_rules";
  switch (q.op) {
    case SpikeRuleRequest::Op::create: {
      const SpikeRule& r = q.rule;
      Status s = pg::exec_params(
          conn,
          "INSERT INTO spike_rules (id, scope, scope_id, direction, window_s, amount_at_least, "
          "currency, times_usual_x100, cooldown_s) VALUES ($1, $2, NULLIF($3, '')::uuid, $4, $5, "
          "$6, $7, "
          "$8, $9) "
          "ON CONFLICT (id) DO NOTHING RETURNING id",
          {id, std::to_string(static_cast<int>(r.scope)),
           r.scope_id.is_zero() ? std::string() : format_uuid(r.scope_id),
           std::to_string(static_cast<int>(r.direction)), std::to_string(r.window_s),
           std::to_string(r.amount_at_least), std::to_string(r.currency.code),
           std::to_string(r.times_usual_x100), std::to_string(r.cooldown_s)},
          &rows);
      if (!s.ok()) return s;
      reply->created = PQntuples(rows.get()) == 1;
      pg::Result stored;
      if (s = pg::exec_params(conn, select + " WHERE id = $1", {id}, &stored); !s.ok()) return s;
      if (s = rules_of(stored, &reply->rules); !s.ok()) return s;
      reply->conflict = !reply->rules.empty() && !reply->rules[0].same_settings(r);
      return Status();
    }
    case SpikeRuleRequest::Op::list: {
      Status s = pg::exec_params(
          conn, select + " WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT $1",
          {std::to_string(q.limit)}, &rows);
      return s.ok() ? rules_of(rows, &reply->rules) : s;
    }
    case SpikeRuleRequest::Op::get:
    case SpikeRuleRequest::Op::remove: {
      const std::string sql =
          q.op == SpikeRuleRequest::Op::get
              ? select + " WHERE id = $1 AND deleted_at IS NULL"
              : "UPDATE spike_rules SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL "
                "RETURNING " +
                    std::string(rule_columns);
      Status s = pg::exec_params(conn, sql, {id}, &rows);
      if (!s.ok()) return s;
      if (s = rules_of(rows, &reply->rules); !s.ok()) return s;
      reply->found = !reply->rules.empty();
      return Status();
    }
  }
  return Status::error("unknown spike rule operation");
}

Status live_rules(PGconn* conn, std::vector<SpikeRule>* rules) {
  rules->clear();
  pg::Result rows;
  Status s = pg::exec_params(conn,
                             std::string("SELECT ") + rule_columns +
                                 " FROM spike_rules WHERE deleted_at IS NULL ORDER BY id",
                             {}, &rows);
  return s.ok() ? rules_of(rows, rules) : s;
}

}  // namespace ledger::spike_sql
