#include "journal/direct_debit_sql.h"

#include "journal/clearing_sql.h"
#include "journal/credit_transfer_sql.h"
#include "ledger/ids.h"
#include "ledger/units.h"

namespace ledger::direct_debit_sql {
namespace {

std::string signed_text(std::uint64_t v) { return std::to_string(static_cast<std::int64_t>(v)); }

}  // namespace

bool decode(const PGresult* rows, int r, int first, DirectDebit* dd) {
  *dd = DirectDebit{};
  const auto uuid = [&](int c, Uint128* out) {
    if (PQgetisnull(rows, r, first + c)) return true;
    const auto parsed = parse_uuid(PQgetvalue(rows, r, first + c));
    if (!parsed) return false;
    *out = *parsed;
    return true;
  };
  const auto num = [&](int c, auto* out) { return pg::number(rows, r, first + c, out); };
  const auto flag = [&](int c) { return std::string_view(PQgetvalue(rows, r, first + c)) == "t"; };
  std::int64_t ts = 0, settle = 0, window = 0, latest = 0, wait = 0, paid = 0, created = 0;
  std::int64_t scheme = 0, sequence = 0, status = 0, change = 0, reason = 0;
  if (!num(0, &ts) || !uuid(1, &dd->id.value) || PQgetisnull(rows, r, first + 1) ||
      !uuid(2, &dd->account_id.value) || !num(3, &dd->amount) || !num(4, &dd->currency.code) ||
      !num(5, &dd->due_day) || !num(6, &settle) || !num(7, &window) || !num(8, &latest) ||
      !num(9, &wait) || !num(10, &paid) || !num(11, &dd->missing) || !num(12, &scheme) ||
      !num(13, &sequence) || !num(14, &status) || !num(15, &change) || !num(16, &reason) ||
      !num(19, &created) || scheme < 0 || scheme > 1 || sequence < 0 || sequence > 3 ||
      status < 0 || status > 6 || change < 0 || change > 7 || reason < 0 ||
      reason >= sepa::reason_count) {
    return false;
  }
  dd->timestamp = static_cast<std::uint64_t>(ts);
  dd->settle_at = static_cast<std::uint64_t>(settle);
  dd->wait_window_ns = static_cast<std::uint64_t>(window);
  dd->latest_deadline = static_cast<std::uint64_t>(latest);
  dd->wait_deadline = static_cast<std::uint64_t>(wait);
  dd->paid_at = static_cast<std::uint64_t>(paid);
  dd->created_timestamp = static_cast<std::uint64_t>(created);
  dd->scheme = static_cast<DirectDebitScheme>(scheme);
  dd->sequence = static_cast<SequenceType>(sequence);
  dd->status = static_cast<DirectDebitStatus>(status);
  dd->change = static_cast<DirectDebitChange>(change);
  dd->reason = static_cast<std::uint8_t>(reason);
  dd->at_risk_checked = flag(17);
  dd->late = flag(18);
  return true;
}

void append_row(const DirectDebit& dd, std::string* rows) {
  std::string& s = *rows;
  const auto field = [&s](const std::string& v) { s.append(v).push_back('\t'); };
  field(signed_text(dd.timestamp));
  field(format_uuid(dd.id.value));
  field(dd.account_id.is_zero() ? std::string("\\N") : format_uuid(dd.account_id.value));
  field(std::to_string(dd.amount));
  field(std::to_string(dd.currency.code));
  field(std::to_string(dd.due_day));
  field(signed_text(dd.settle_at));
  field(signed_text(dd.wait_window_ns));
  field(signed_text(dd.latest_deadline));
  field(signed_text(dd.wait_deadline));
  field(signed_text(dd.paid_at));
  field(std::to_string(dd.missing));
  field(std::to_string(static_cast<int>(dd.scheme)));
  field(std::to_string(static_cast<int>(dd.sequence)));
  field(std::to_string(static_cast<int>(dd.status)));
  field(std::to_string(static_cast<int>(dd.change)));
  field(std::to_string(static_cast<int>(dd.reason)));
  field(dd.at_risk_checked ? "t" : "f");
  field(dd.late ? "t" : "f");
  s.append(signed_text(dd.created_timestamp)).push_back('\n');
}

Status visit_rows(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                  const std::function<void(const DirectDebit&)>& visit) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return s;
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    DirectDebit dd;
    if (!decode(rows.get(), r, 0, &dd)) {
      return Status::error("direct_debit_events holds a row that does not decode");
    }
    visit(dd);
  }
  return Status();
}

Status load_latest(PGconn* conn, const std::function<void(const DirectDebit&)>& visit,
                   std::uint64_t after_ts) {
  std::string sql("SELECT * FROM (SELECT DISTINCT ON (direct_debit_id) ");
  sql.append(columns).append(" FROM direct_debit_events");
  if (after_ts > 0) sql.append(" WHERE ts > ").append(signed_text(after_ts));
  sql.append(" ORDER BY direct_debit_id, ts DESC) latest ORDER BY created_ts");
  return visit_rows(conn, sql, {}, visit);
}

Status load_at(PGconn* conn, const std::vector<std::uint64_t>& timestamps,
               const std::function<void(const DirectDebit&)>& visit) {
  if (timestamps.empty()) return Status();
  std::string sql("SELECT ");
  sql.append(columns).append(" FROM direct_debit_events WHERE ts IN (");
  for (std::size_t i = 0; i < timestamps.size(); ++i) {
    if (i > 0) sql.push_back(',');
    sql.append(signed_text(timestamps[i]));
  }
  sql.append(") ORDER BY ts");
  return visit_rows(conn, sql, {}, visit);
}

}  // namespace ledger::direct_debit_sql

namespace ledger::direct_debit_sql {
namespace {

constexpr const char* detail_columns =
    "d.id, d.end_to_end_id, d.mandate_reference, d.creditor_id, d.creditor_name, "
    "coalesce(d.debtor_iban, ''), coalesce(d.message_id, ''), "
    "coalesce((d.mandate_signed - date '1970-01-01'), -1), coalesce(d.transaction_id, ''), "
    "coalesce(d.debtor_name, ''), coalesce(d.debtor_agent_bic, ''), "
    "coalesce(d.creditor_agent_bic, ''), coalesce(d.creditor_iban, '')";
constexpr int detail_count = 13;

std::string date_text(std::int32_t days) { return sepa::format_date(days); }

bool decode_details(const PGresult* rows, int r, DirectDebitDetails* d) {
  d->end_to_end_id = PQgetvalue(rows, r, 1);
  d->mandate_reference = PQgetvalue(rows, r, 2);
  d->creditor_id = PQgetvalue(rows, r, 3);
  d->creditor_name = PQgetvalue(rows, r, 4);
  d->debtor_iban = PQgetvalue(rows, r, 5);
  d->message_id = PQgetvalue(rows, r, 6);
  d->transaction_id = PQgetvalue(rows, r, 8);
  d->debtor_name = PQgetvalue(rows, r, 9);
  d->debtor_agent_bic = PQgetvalue(rows, r, 10);
  d->creditor_agent_bic = PQgetvalue(rows, r, 11);
  d->creditor_iban = PQgetvalue(rows, r, 12);
  return pg::number(rows, r, 7, &d->mandate_signed);
}

Status read_rules(PGconn* conn, AccountId account, MandateRules* rules) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn,
                                 "SELECT kind, creditor_id, mandate_reference, max_amount, "
                                 "max_per_month FROM direct_debit_rules WHERE account_id = $1 "
                                 "ORDER BY kind, creditor_id, mandate_reference",
                                 {format_uuid(account.value)}, &rows);
      !s.ok()) {
    return s;
  }
  *rules = MandateRules{};
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    std::int64_t kind = 0;
    if (!pg::number(rows.get(), r, 0, &kind)) continue;
    std::string creditor = PQgetvalue(rows.get(), r, 1);
    std::string mandate = PQgetvalue(rows.get(), r, 2);
    if (kind == 0) rules->blocked_creditors.push_back(std::move(creditor));
    if (kind == 1) rules->blocked_mandates.push_back(std::move(mandate));
    if (kind == 2) rules->b2b_mandates.push_back({std::move(creditor), std::move(mandate)});
    if (kind == 3) {
      rules->blocked_creditor_mandates.push_back({std::move(creditor), std::move(mandate)});
    }
    if (kind == 4) rules->allowed_creditors.push_back(std::move(creditor));
    if (kind == 6) rules->debtor_deceased = true;
    if (kind == 5) {
      std::int64_t amount = 0, per_month = 0;
      if (!pg::number(rows.get(), r, 3, &amount) || !pg::number(rows.get(), r, 4, &per_month)) {
        return Status::error("direct_debit_rules holds a limit that does not decode");
      }
      rules->limits.push_back({std::move(creditor), amount, static_cast<std::uint32_t>(per_month)});
    }
  }
  return Status();
}

Status receive(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply) {
  const DirectDebit& dd = q.collection;
  reply->account = dd.account_id;
  if (!q.details.debtor_iban.empty()) {
    pg::Result rows;
    if (Status s = pg::exec_params(conn, "SELECT account_id FROM account_ibans WHERE iban = $1",
                                   {q.details.debtor_iban}, &rows);
        !s.ok()) {
      return s;
    }
    reply->account = AccountId{};
    if (PQntuples(rows.get()) == 1) {
      if (const auto id = parse_uuid(PQgetvalue(rows.get(), 0, 0))) reply->account.value = *id;
    }
  }
  reply->account_found = !reply->account.is_zero();
  if (reply->account_found) {
    if (Status s = read_rules(conn, reply->account, &reply->rules); !s.ok()) return s;
    if (!reply->rules.limits.empty()) {
      // The periodicity limit: this creditor's (by identity: without its business code)
      // collections from this account due in the same calendar month, not refused.
      pg::Result counted;
      if (Status s = pg::exec_params(
              conn,
              "SELECT count(*) FROM direct_debits d WHERE d.account_id = $1 AND NOT d.duplicate "
              "AND substr(d.creditor_id, 1, 4) || substr(d.creditor_id, 8) = $2 AND "
              "date_trunc('month', d.due_date) = date_trunc('month', $3::date) AND d.id <> $4 "
              "AND coalesce((SELECT e.status FROM direct_debit_events e WHERE "
              "e.direct_debit_id = d.id ORDER BY e.ts DESC LIMIT 1), 0) <> 1",
              {format_uuid(reply->account.value), sepa::creditor_identity(q.details.creditor_id),
               date_text(dd.due_day), format_uuid(dd.id.value)},
              &counted);
          !s.ok()) {
        return s;
      }
      std::int64_t n = 0;
      if (PQntuples(counted.get()) == 1 && pg::number(counted.get(), 0, 0, &n)) {
        reply->same_creditor_this_month = static_cast<std::uint32_t>(n);
      }
    }
  }
  const std::string account =
      reply->account.is_zero() ? std::string() : format_uuid(reply->account.value);
  pg::Result rows;
  std::string sql =
      "INSERT INTO direct_debits (id, creditor_id, end_to_end_id, due_date, mandate_reference, "
      "mandate_signed, creditor_name, scheme, sequence_type, amount, debtor_iban, account_id, "
      "message_id, duplicate, transaction_id, debtor_name, debtor_agent_bic, creditor_agent_bic, "
      "creditor_iban) VALUES ($1, $2, $3, $4::date, $5, nullif($6, '')::date, $7, $8, $9, "
      "$10, nullif($11, ''), nullif($12, '')::uuid, nullif($13, ''), $14, nullif($15, ''), "
      "nullif($16, ''), nullif($17, ''), nullif($18, ''), nullif($19, ''))";
  if (!q.duplicate) {
    sql.append(
        " ON CONFLICT (creditor_id, end_to_end_id, due_date) WHERE NOT duplicate DO NOTHING");
  } else {
    sql.append(" ON CONFLICT (id) DO NOTHING");  // a retry of the same refusal: stored already
  }
  sql.append(" RETURNING id");
  if (Status s = pg::exec_params(
          conn, sql,
          {format_uuid(dd.id.value), q.details.creditor_id, q.details.end_to_end_id,
           date_text(dd.due_day), q.details.mandate_reference,
           q.details.mandate_signed >= 0 ? date_text(q.details.mandate_signed) : std::string(),
           q.details.creditor_name, std::to_string(static_cast<int>(dd.scheme)),
           std::to_string(static_cast<int>(dd.sequence)), std::to_string(dd.amount),
           q.details.debtor_iban, account, q.details.message_id, q.duplicate ? "t" : "f",
           q.details.transaction_id, q.details.debtor_name, q.details.debtor_agent_bic,
           q.details.creditor_agent_bic, q.details.creditor_iban},
          &rows);
      !s.ok()) {
    return s;
  }
  reply->stored = PQntuples(rows.get()) == 1;
  if (reply->stored || q.duplicate) return Status();
  pg::Result existing;
  if (Status s = pg::exec_params(
          conn,
          "SELECT id FROM direct_debits WHERE creditor_id = $1 AND "
          "end_to_end_id = $2 AND due_date = $3::date AND NOT duplicate",
          {q.details.creditor_id, q.details.end_to_end_id, date_text(dd.due_day)}, &existing);
      !s.ok()) {
    return s;
  }
  if (PQntuples(existing.get()) != 1) return Status::error("direct debit key vanished");
  if (const auto id = parse_uuid(PQgetvalue(existing.get(), 0, 0))) reply->existing.value = *id;
  return Status();
}

// Collections with their references: `where` filters direct_debits d and the latest state s.
Status read_views(PGconn* conn, const std::string& where, const std::vector<std::string>& params,
                  const std::string& tail, std::vector<DirectDebitView>* out) {
  std::string sql("SELECT ");
  sql.append(detail_columns).append(", s.*");
  sql.append(" FROM direct_debits d JOIN LATERAL (SELECT ");
  sql.append(columns).append(
      " FROM direct_debit_events e WHERE e.direct_debit_id = d.id ORDER BY ts DESC LIMIT 1) s "
      "ON true WHERE ");
  sql.append(where).append(tail);
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return s;
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    DirectDebitView& view = out->emplace_back();
    if (!decode_details(rows.get(), r, &view.details) ||
        !decode(rows.get(), r, detail_count, &view.state)) {
      return Status::error("direct_debits holds a row that does not decode");
    }
  }
  return Status();
}

Status put_rules(PGconn* conn, const DirectDebitRequest& q) {
  const std::string account = format_uuid(q.account.value);
  if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
  Status s = pg::exec_params(conn, "DELETE FROM direct_debit_rules WHERE account_id = $1",
                             {account}, nullptr);
  const auto insert = [&](int kind, const std::string& creditor, const std::string& mandate,
                          std::int64_t max_amount = 0, std::uint32_t max_per_month = 0) {
    if (!s.ok()) return;
    s = pg::exec_params(conn,
                        "INSERT INTO direct_debit_rules (account_id, kind, creditor_id, "
                        "mandate_reference, max_amount, max_per_month) VALUES ($1, $2, $3, $4, "
                        "$5, $6) ON CONFLICT DO NOTHING",
                        {account, std::to_string(kind), creditor, mandate,
                         std::to_string(max_amount), std::to_string(max_per_month)},
                        nullptr);
  };

  for (const std::string& c : q.rules.blocked_creditors) insert(0, c, "");
  for (const std::string& m : q.rules.blocked_mandates) insert(1, "", m);
  for (const MandateRules::B2bMandate& m : q.rules.b2b_mandates) {
    insert(2, m.creditor_id, m.mandate_reference);
  }
  for (const MandateRules::B2bMandate& m : q.rules.blocked_creditor_mandates) {
    insert(3, m.creditor_id, m.mandate_reference);
  }
  for (const std::string& c : q.rules.allowed_creditors) insert(4, c, "");
  if (q.rules.debtor_deceased) insert(6, "", "");
  for (const MandateRules::Limit& l : q.rules.limits) {
    insert(5, l.creditor_id, "", l.max_amount, l.max_per_month);
  }
  const Status end = pg::exec(conn, s.ok() ? "COMMIT" : "ROLLBACK");
  return s.ok() ? end : s;
}

Status iban_of(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply) {
  const std::string account = format_uuid(q.account.value);
  for (std::uint64_t attempt = 0; attempt < 8; ++attempt) {
    pg::Result rows;
    if (Status s = pg::exec_params(conn, "SELECT iban FROM account_ibans WHERE account_id = $1",
                                   {account}, &rows);
        !s.ok()) {
      return s;
    }
    if (PQntuples(rows.get()) == 1) {
      reply->iban = PQgetvalue(rows.get(), 0, 0);
      return Status();
    }
    // None yet: the bank code, then an account number derived from the account id (another
    // derivation if that number is taken).
    const std::size_t length = sepa::iban_length(q.iban_country);
    const std::size_t digits =
        length > 4 + q.iban_bank_code.size() ? length - 4 - q.iban_bank_code.size() : 10;
    std::uint64_t number = mix64(q.account.value.hi ^ mix64(q.account.value.lo + attempt));
    std::string bban = q.iban_bank_code;
    std::string tail(std::min<std::size_t>(digits, 18), '0');
    for (std::size_t i = tail.size(); i-- > 0;) {
      tail[i] = static_cast<char>('0' + number % 10);
      number /= 10;
    }
    bban.append(std::string(digits - tail.size(), '0')).append(tail);
    if (Status s = pg::exec_params(conn,
                                   "INSERT INTO account_ibans (iban, account_id) VALUES ($1, $2) "
                                   "ON CONFLICT DO NOTHING",
                                   {sepa::iban_make(q.iban_country, bban), account}, nullptr);
        !s.ok()) {
      return s;
    }
  }
  return Status::error("no free IBAN after 8 attempts");
}

Status assign_iban(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply) {
  const std::string account = format_uuid(q.account.value);
  if (Status s = pg::exec_params(conn,
                                 "INSERT INTO account_ibans (iban, account_id) VALUES ($1, $2) "
                                 "ON CONFLICT DO NOTHING",
                                 {q.iban, account}, nullptr);
      !s.ok()) {
    return s;
  }
  pg::Result rows;
  if (Status s = pg::exec_params(conn, "SELECT iban FROM account_ibans WHERE account_id = $1",
                                 {account}, &rows);
      !s.ok()) {
    return s;
  }
  reply->iban = PQntuples(rows.get()) == 1 ? PQgetvalue(rows.get(), 0, 0) : "";
  reply->iban_taken = reply->iban != q.iban;
  return Status();
}

}  // namespace

Status run(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply) {
  switch (q.op) {
    case DirectDebitRequest::Op::iban_of:
      return iban_of(conn, q, reply);
    case DirectDebitRequest::Op::assign_iban:
      return assign_iban(conn, q, reply);
    case DirectDebitRequest::Op::account_of_iban: {
      pg::Result rows;
      if (Status s = pg::exec_params(conn, "SELECT account_id FROM account_ibans WHERE iban = $1",
                                     {q.iban}, &rows);
          !s.ok()) {
        return s;
      }
      if (PQntuples(rows.get()) == 1) {
        if (const auto id = parse_uuid(PQgetvalue(rows.get(), 0, 0))) reply->account.value = *id;
      }
      reply->account_found = !reply->account.is_zero();
      return Status();
    }
    case DirectDebitRequest::Op::receive:
      return receive(conn, q, reply);
    case DirectDebitRequest::Op::unfiled_changes: {
      std::string list;
      for (int c = 0; c < 8; ++c) {
        if ((q.changes & (1u << c)) == 0) continue;
        if (!list.empty()) list.push_back(',');
        list.append(std::to_string(c));
      }
      if (list.empty()) return Status();
      const std::uint64_t from = static_cast<std::uint64_t>(q.day) * ns_per_day;
      // The state in each change row itself (as it was then), not the latest.
      std::string sql("SELECT ");
      sql.append(detail_columns)
          .append(
              ", e.ts, e.direct_debit_id, e.account_id, e.amount, e.currency, e.due_day, "
              "e.settle_at, e.wait_window, e.latest_deadline, e.wait_deadline, e.paid_at, "
              "e.missing, e.scheme, e.sequence_type, e.status, e.change, e.reason, "
              "e.at_risk_checked, e.late, e.created_ts FROM direct_debits d JOIN "
              "direct_debit_events e ON e.direct_debit_id = d.id WHERE e.ts >= $1 AND e.ts < $2 "
              "AND e.change IN (")
          .append(list)
          .append(
              ") AND NOT EXISTS (SELECT 1 FROM direct_debit_file_items i WHERE i.change_ts = e.ts "
              "AND i.kind = $3) ORDER BY e.ts");
      pg::Result rows;
      if (Status s = pg::exec_params(conn, sql,
                                     {std::to_string(static_cast<std::int64_t>(from)),
                                      std::to_string(static_cast<std::int64_t>(from + ns_per_day)),
                                      std::to_string(q.file_kind)},
                                     &rows);
          !s.ok()) {
        return s;
      }
      for (int r = 0; r < PQntuples(rows.get()); ++r) {
        DirectDebitView& view = reply->items.emplace_back();
        if (!decode_details(rows.get(), r, &view.details) ||
            !decode(rows.get(), r, detail_count, &view.state)) {
          return Status::error("direct_debit_events holds a row that does not decode");
        }
      }
      pg::Result files;
      if (Status s = pg::exec_params(
              conn,
              "SELECT message_id, document, count(*) OVER () FROM direct_debit_files WHERE kind = "
              "$1 AND day = $2::date ORDER BY created_at DESC, message_id DESC LIMIT 1",
              {std::to_string(q.file_kind), date_text(q.day)}, &files);
          !s.ok()) {
        return s;
      }
      if (PQntuples(files.get()) == 1) {
        reply->message_id = PQgetvalue(files.get(), 0, 0);
        reply->document = PQgetvalue(files.get(), 0, 1);
        std::int64_t count = 0;
        if (!pg::number(files.get(), 0, 2, &count)) return Status::error("bad file count");
        reply->files_that_day = static_cast<std::uint32_t>(count);
      }
      return Status();
    }
    case DirectDebitRequest::Op::store_file: {
      if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
      std::string ts_list;
      for (const std::uint64_t ts : q.change_ts) {
        if (!ts_list.empty()) ts_list.push_back(',');
        ts_list.append(std::to_string(ts));
      }
      std::string sqlstate;
      Status s =
          pg::exec_params(conn,
                          "INSERT INTO direct_debit_files (message_id, kind, day, document) "
                          "VALUES ($1, $2, $3::date, $4)",
                          {q.message_id, std::to_string(q.file_kind), date_text(q.day), q.document},
                          nullptr, &sqlstate);
      if (s.ok() && !ts_list.empty()) {
        s = pg::exec_params(conn,
                            "INSERT INTO direct_debit_file_items (change_ts, kind, message_id) "
                            "SELECT unnest(string_to_array($1, ',')::bigint[]), $2, $3",
                            {ts_list, std::to_string(q.file_kind), q.message_id}, nullptr,
                            &sqlstate);
      }
      if (!s.ok()) {
        (void)pg::exec(conn, "ROLLBACK");
        // 23505 unique_violation: another request filed them (or took this MsgId) first.
        if (sqlstate == "23505") {
          reply->file_conflict = true;
          return Status();
        }
        return s;
      }
      return pg::exec(conn, "COMMIT");
    }
    case DirectDebitRequest::Op::find_by_key: {
      pg::Result rows;
      if (Status s = pg::exec_params(
              conn,
              "SELECT id FROM direct_debits WHERE NOT duplicate AND end_to_end_id = $1 AND "
              "due_date = $2::date AND ($3 = '' OR substr(creditor_id, 1, 4) || "
              "substr(creditor_id, 8) = $3) LIMIT 2",
              {q.details.end_to_end_id, date_text(q.day),
               q.details.creditor_id.empty() ? std::string()
                                             : sepa::creditor_identity(q.details.creditor_id)},
              &rows);
          !s.ok()) {
        return s;
      }
      if (PQntuples(rows.get()) == 1) {
        if (const auto id = parse_uuid(PQgetvalue(rows.get(), 0, 0))) reply->existing.value = *id;
      }
      return Status();
    }
    case DirectDebitRequest::Op::set_holder_name: {
      pg::Result rows;
      if (Status s = pg::exec_params(conn,
                                     "UPDATE account_ibans SET holder_name = $2 WHERE account_id = "
                                     "$1 RETURNING iban",
                                     {format_uuid(q.account.value), q.holder_name}, &rows);
          !s.ok()) {
        return s;
      }
      reply->account_found = PQntuples(rows.get()) == 1;
      if (reply->account_found) {
        reply->account = q.account;
        reply->iban = PQgetvalue(rows.get(), 0, 0);
        reply->holder_name = q.holder_name;
        reply->holder_name_known = true;
      }
      return Status();
    }
    case DirectDebitRequest::Op::payee_of_iban: {
      pg::Result rows;
      if (Status s = pg::exec_params(
              conn, "SELECT account_id, holder_name FROM account_ibans WHERE iban = $1", {q.iban},
              &rows);
          !s.ok()) {
        return s;
      }
      if (PQntuples(rows.get()) == 1) {
        if (const auto id = parse_uuid(PQgetvalue(rows.get(), 0, 0))) reply->account.value = *id;
        reply->iban = q.iban;
        reply->holder_name_known = PQgetisnull(rows.get(), 0, 1) == 0;
        if (reply->holder_name_known) reply->holder_name = PQgetvalue(rows.get(), 0, 1);
      }
      reply->account_found = !reply->account.is_zero();
      return Status();
    }
    case DirectDebitRequest::Op::get_file: {
      pg::Result rows;
      if (Status s = pg::exec_params(
              conn, "SELECT document FROM direct_debit_files WHERE message_id = $1 AND kind = $2",
              {q.message_id, std::to_string(q.file_kind)}, &rows);
          !s.ok()) {
        return s;
      }
      if (PQntuples(rows.get()) == 1) {
        reply->message_id = q.message_id;
        reply->document = PQgetvalue(rows.get(), 0, 0);
      }
      return Status();
    }
    case DirectDebitRequest::Op::get_rules:
      return read_rules(conn, q.account, &reply->rules);
    case DirectDebitRequest::Op::put_rules:
      if (Status s = put_rules(conn, q); !s.ok()) return s;
      return read_rules(conn, q.account, &reply->rules);
    case DirectDebitRequest::Op::get: {
      if (Status s = read_views(conn, "d.id = $1", {format_uuid(q.id.value)}, "", &reply->items);
          !s.ok() || reply->items.empty()) {
        return s;
      }
      std::string sql("SELECT ");
      sql.append(columns).append(
          " FROM direct_debit_events WHERE direct_debit_id = $1 ORDER BY ts");
      return visit_rows(conn, sql, {format_uuid(q.id.value)},
                        [&](const DirectDebit& dd) { reply->items.front().history.push_back(dd); });
    }
    case DirectDebitRequest::Op::list: {
      std::vector<std::string> params{format_uuid(q.account.value),
                                      std::to_string(static_cast<std::int64_t>(q.after))};
      std::string where = "d.account_id = $1 AND s.created_ts > $2";
      if (q.status) {
        where.append(" AND s.status = ").append(std::to_string(static_cast<int>(*q.status)));
      }
      const Status s =
          read_views(conn, where, params,
                     " ORDER BY s.created_ts LIMIT " + std::to_string(q.limit + 1), &reply->items);
      if (s.ok() && reply->items.size() > q.limit) {
        reply->items.pop_back();
        reply->next_after = reply->items.back().state.created_timestamp;
      }
      return s;
    }
    case DirectDebitRequest::Op::ct_insert:
    case DirectDebitRequest::Op::ct_update:
    case DirectDebitRequest::Op::ct_get:
    case DirectDebitRequest::Op::ct_find:
    case DirectDebitRequest::Op::ct_list:
    case DirectDebitRequest::Op::ct_due:
    case DirectDebitRequest::Op::ct_store_file:
    case DirectDebitRequest::Op::ct_get_file:
    case DirectDebitRequest::Op::ct_list_files:
    case DirectDebitRequest::Op::ct_mark_imported:
    case DirectDebitRequest::Op::ct_receive:
      return credit_transfer_sql::run(conn, q, reply);
    case DirectDebitRequest::Op::card_sql:
      return clearing_sql::run(conn, q, reply);
  }
  return Status::error("unknown direct debit operation");
}

}  // namespace ledger::direct_debit_sql
