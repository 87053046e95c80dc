#include "journal/credit_transfer_sql.h"

#include <string>
#include <vector>

#include "ledger/ids.h"
#include "ledger/limits.h"
#include "ledger/sepa.h"

namespace ledger::credit_transfer_sql {
namespace {

constexpr const char* columns =
    "id, direction, instant, account_id, amount, currency, creditor_name, creditor_iban, "
    "creditor_bic, debtor_name, debtor_iban, debtor_bic, remittance, end_to_end_id, "
    "transaction_id, dedup_key, to_char(execution_date, 'YYYY-MM-DD'), status, reason, "
    "payee_check, payee_matched_name, message_id, request_digest, recall_status, recall_id, "
    "recall_reason, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

bool decode(const PGresult* rows, int r, CreditTransferRecord* ct) {
  const auto text = [&](int c) {
    return std::string(PQgetvalue(rows, r, c), static_cast<std::size_t>(PQgetlength(rows, r, c)));
  };
  const auto id = parse_uuid(text(0));
  if (!id) return false;
  ct->id = *id;
  ct->outgoing = text(1) == "out";
  ct->instant = text(2) == "t";
  ct->account = AccountId{};
  if (PQgetisnull(rows, r, 3) == 0) {
    const auto account = parse_uuid(text(3));
    if (!account) return false;
    ct->account.value = *account;
  }
  if (!pg::number(rows, r, 4, &ct->amount)) return false;
  ct->currency = text(5);
  ct->creditor_name = text(6);
  ct->creditor_iban = text(7);
  ct->creditor_bic = text(8);
  ct->debtor_name = text(9);
  ct->debtor_iban = text(10);
  ct->debtor_bic = text(11);
  ct->remittance = text(12);
  ct->end_to_end_id = text(13);
  ct->transaction_id = text(14);
  ct->dedup_key = text(15);
  const auto day = sepa::parse_date(text(16));
  if (!day) return false;
  ct->execution_day = *day;
  ct->status = text(17);
  ct->reason = text(18);
  ct->payee_check = text(19);
  ct->payee_matched_name = text(20);
  ct->message_id = text(21);
  ct->request_digest = text(22);
  ct->recall_status = text(23);
  ct->recall_id = text(24);
  ct->recall_reason = text(25);
  ct->created_at = text(26);
  ct->updated_at = text(27);
  return true;
}

Status select(PGconn* conn, const std::string& where, const std::vector<std::string>& params,
              DirectDebitReply* reply) {
  pg::Result rows;
  if (Status s = pg::exec_params(
          conn, std::string("SELECT ") + columns + " FROM credit_transfers " + where, params,
          &rows);
      !s.ok()) {
    return s;
  }
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    if (!decode(rows.get(), r, &reply->credit_transfers.emplace_back())) {
      return Status::error("credit_transfers holds a row that does not decode");
    }
  }
  return Status();
}

std::string account_text(AccountId account) {
  return account.is_zero() ? std::string() : format_uuid(account.value);
}

Status insert(PGconn* conn, const CreditTransferRecord& c, DirectDebitReply* reply) {
  pg::Result rows;
  if (Status s = pg::exec_params(
          conn,
          "INSERT INTO credit_transfers (id, direction, instant, account_id, amount, currency, "
          "creditor_name, creditor_iban, creditor_bic, debtor_name, debtor_iban, debtor_bic, "
          "remittance, end_to_end_id, transaction_id, dedup_key, execution_date, status, reason, "
          "payee_check, payee_matched_name, message_id, request_digest) VALUES ($1, $2, $3, "
          "NULLIF($4, '')::uuid, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
          "$17::date, $18, $19, $20, $21, $22, $23) ON CONFLICT DO NOTHING RETURNING id",
          {format_uuid(c.id),
           c.outgoing ? "out" : "in",
           c.instant ? "true" : "false",
           account_text(c.account),
           std::to_string(c.amount),
           c.currency,
           c.creditor_name,
           c.creditor_iban,
           c.creditor_bic,
           c.debtor_name,
           c.debtor_iban,
           c.debtor_bic,
           c.remittance,
           c.end_to_end_id,
           c.transaction_id,
           c.dedup_key,
           sepa::format_date(c.execution_day),
           c.status,
           c.reason,
           c.payee_check,
           c.payee_matched_name,
           c.message_id,
           c.request_digest},
          &rows);
      !s.ok()) {
    return s;
  }
  reply->inserted = PQntuples(rows.get()) == 1;
  // The row stored, or the one that was there under the id or the same transfer's key.
  return select(conn, "WHERE id = $1 OR (direction = $2 AND dedup_key = $3) ORDER BY id = $1 DESC",
                {format_uuid(c.id), c.outgoing ? "out" : "in", c.dedup_key}, reply);
}

// Prepares `sql` as `name` on this connection unless done already (each pool thread has its
// own connection; a reconnection is a new one: prepared again, a duplicate 42P05 is fine).
thread_local PGconn* prepared_on = nullptr;

Status ensure_prepared(PGconn* conn, const char* name, const std::string& sql, int params) {
  if (prepared_on == conn) return Status();
  pg::Result prepared(PQprepare(conn, name, sql.c_str(), params, nullptr));
  if (!prepared) return Status::error(pg::last_error(conn));
  if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
    const char* state = PQresultErrorField(prepared.get(), PG_DIAG_SQLSTATE);
    if (state == nullptr || std::string_view(state) != "42P05") {
      return Status::error(pg::one_line(PQresultErrorMessage(prepared.get())));
    }
  }
  prepared_on = conn;
  return Status();
}

Status exec_prepared(PGconn* conn, const char* name, const std::vector<std::string>& params,
                     pg::Result* out) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& param : params) values.push_back(param.c_str());
  pg::Result result(PQexecPrepared(conn, name, static_cast<int>(values.size()), values.data(),
                                   nullptr, nullptr, 0));
  if (!result) return Status::error(pg::last_error(conn));
  const ExecStatusType code = PQresultStatus(result.get());
  if (code != PGRES_COMMAND_OK && code != PGRES_TUPLES_OK) {
    return Status::error(pg::one_line(PQresultErrorMessage(result.get())));
  }
  *out = std::move(result);
  return Status();
}

// One statement (prepared once per connection): the account the creditor IBAN names, the
// refusal its journaled state decides, the row stored, or the row already there.
const std::string receive_sql =
    std::string(
        "WITH a AS (SELECT i.account_id, ac.kind, ac.currency, ac.status FROM account_ibans i JOIN "
        "accounts ac ON ac.id = i.account_id WHERE i.iban = $8), "
        "d AS (SELECT (SELECT account_id FROM a) AS account_id, CASE WHEN NOT EXISTS (SELECT 1 "
        "FROM "
        "a) THEN 'AC01' WHEN (SELECT status FROM a) = 2 THEN 'AC04' WHEN (SELECT status FROM a) = "
        "1 "
        "THEN 'AC06' WHEN (SELECT kind FROM a) <> 0 OR (SELECT currency FROM a) <> 'EUR' THEN "
        "'AG01' "
        "ELSE '' END AS reason), "
        "ins AS (INSERT INTO credit_transfers (id, direction, instant, account_id, amount, "
        "currency, "
        "creditor_name, creditor_iban, creditor_bic, debtor_name, debtor_iban, debtor_bic, "
        "remittance, end_to_end_id, transaction_id, dedup_key, execution_date, status, reason, "
        "message_id, request_digest) SELECT $1::uuid, 'in', $2::boolean, d.account_id, $3, 'EUR', "
        "$4, "
        "$8, $5, $6, $7, $9, $10, $11, $12, $13, $14::date, CASE WHEN d.reason = '' THEN "
        "'received' "
        "WHEN $2::boolean THEN 'refused' ELSE 'return_due' END, d.reason, $15, $16 FROM d ON "
        "CONFLICT DO NOTHING RETURNING ") +
    columns + ") SELECT *, true FROM ins UNION ALL (SELECT " + columns +
    ", false FROM credit_transfers WHERE NOT EXISTS (SELECT 1 FROM ins) AND (id = $1::uuid OR "
    "(direction = 'in' AND dedup_key = $13)) ORDER BY id = $1::uuid DESC LIMIT 1)";

Status receive(PGconn* conn, const CreditTransferRecord& c, DirectDebitReply* reply) {
  // An asynchronous commit: the engine's COMMIT of the credit, which follows this one, flushes
  // the WAL past it; a refusal lost to a crash is decided again on the clearing house's retry.
  if (Status s = ensure_prepared(conn, "ledger_ct_receive", receive_sql, 16); !s.ok()) return s;
  if (Status s = pg::exec(conn, "BEGIN; SET LOCAL synchronous_commit = off"); !s.ok()) return s;
  pg::Result rows;
  Status s =
      exec_prepared(conn, "ledger_ct_receive",
                    {format_uuid(c.id), c.instant ? "true" : "false", std::to_string(c.amount),
                     c.creditor_name, c.creditor_bic, c.debtor_name, c.debtor_iban, c.creditor_iban,
                     c.debtor_bic, c.remittance, c.end_to_end_id, c.transaction_id, c.dedup_key,
                     sepa::format_date(c.execution_day), c.message_id, c.request_digest},
                    &rows);
  if (!s.ok()) {
    (void)pg::exec(conn, "ROLLBACK");
    prepared_on = nullptr;  // a new connection at the same address: prepared again next time
    return s;
  }
  if (s = pg::exec(conn, "COMMIT"); !s.ok()) return s;
  if (PQntuples(rows.get()) != 1 ||
      !decode(rows.get(), 0, &reply->credit_transfers.emplace_back())) {
    return Status::error("the credit transfer received was neither stored nor found");
  }
  reply->inserted = std::string_view(PQgetvalue(rows.get(), 0, PQnfields(rows.get()) - 1)) == "t";
  return Status();
}

}  // namespace

Status run(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply) {
  const CreditTransferRecord& c = q.credit_transfer;
  switch (q.op) {
    case DirectDebitRequest::Op::ct_receive:
      return receive(conn, c, reply);
    case DirectDebitRequest::Op::ct_insert:
      return insert(conn, c, reply);
    case DirectDebitRequest::Op::ct_update: {
      pg::Result rows;
      if (Status s = pg::exec_params(
              conn,
              "UPDATE credit_transfers SET status = $2, reason = $3, message_id = $4, "
              "payee_check = $5, payee_matched_name = $6, account_id = NULLIF($7, '')::uuid, "
              "recall_status = $8, recall_id = $9, recall_reason = $10, updated_at = now() "
              "WHERE id = $1 RETURNING id",
              {format_uuid(c.id), c.status, c.reason, c.message_id, c.payee_check,
               c.payee_matched_name, account_text(c.account), c.recall_status, c.recall_id,
               c.recall_reason},
              &rows);
          !s.ok()) {
        return s;
      }
      reply->inserted = PQntuples(rows.get()) == 1;
      return select(conn, "WHERE id = $1", {format_uuid(c.id)}, reply);
    }
    case DirectDebitRequest::Op::ct_get:
      return select(conn, "WHERE id = $1", {format_uuid(c.id)}, reply);
    case DirectDebitRequest::Op::ct_find:
      // By transaction id, else end-to-end id; with neither, every transfer of the message
      // (a whole file rejected).
      return select(conn,
                    "WHERE direction = $1 AND (($2 <> '' AND transaction_id = $2) OR ($2 = '' AND "
                    "$3 <> '' AND end_to_end_id = $3) OR ($2 = '' AND $3 = '' AND $4 <> '' AND "
                    "message_id = $4)) ORDER BY created_at, id LIMIT " +
                        std::to_string(limits::pacs_transactions_max),
                    {c.outgoing ? "out" : "in", c.transaction_id, c.end_to_end_id, c.message_id},
                    reply);
    case DirectDebitRequest::Op::ct_list:
      return select(
          conn,
          "WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT " + std::to_string(q.limit),
          {format_uuid(q.account.value)}, reply);
    case DirectDebitRequest::Op::ct_due:
      return select(conn,
                    "WHERE (status = 'accepted' AND direction = 'out' AND NOT instant AND "
                    "execution_date <= $1::date) OR status = 'return_due' OR recall_status IN "
                    "('returned_due', 'refused_due', 'to_send') ORDER BY created_at, id LIMIT " +
                        std::to_string(q.limit),
                    {sepa::format_date(q.day)}, reply);
    case DirectDebitRequest::Op::ct_store_file: {
      if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
      std::string ids;
      for (const Uint128 id : q.ids) {
        if (!ids.empty()) ids.push_back(',');
        ids.append(format_uuid(id));
      }
      std::string sqlstate;
      Status s = pg::exec_params(
          conn,
          "INSERT INTO credit_transfer_files (message_id, kind, day, item_count, document) "
          "VALUES ($1, $2, $3::date, $4, $5)",
          {q.message_id, q.file_name, sepa::format_date(q.day), std::to_string(q.ids.size()),
           q.document},
          nullptr, &sqlstate);
      pg::Result moved;
      if (s.ok() && !ids.empty()) {
        // Only what is still due moves: a transfer another cut filed first makes this file
        // wrong (it would pay it twice), so it is not stored (file_conflict) and cut again.
        s = pg::exec_params(
            conn,
            "WITH u AS (UPDATE credit_transfers SET message_id = CASE WHEN status = 'accepted' "
            "THEN $2 ELSE "
            "message_id END, status = CASE status WHEN 'accepted' THEN 'sent' WHEN 'return_due' "
            "THEN 'returned' ELSE status END, recall_status = CASE recall_status WHEN "
            "'returned_due' THEN 'returned' WHEN 'refused_due' THEN 'refused' WHEN 'to_send' THEN "
            "'sent' ELSE recall_status "
            "END, updated_at = now() WHERE id = ANY(string_to_array($1, ',')::uuid[]) AND "
            "(status IN ('accepted', 'return_due') OR recall_status IN ('returned_due', "
            "'refused_due', 'to_send')) RETURNING 1) SELECT count(*) FROM u",
            {ids, q.message_id}, &moved, &sqlstate);
        std::int64_t count = 0;
        if (s.ok() && (!pg::number(moved.get(), 0, 0, &count) ||
                       count != static_cast<std::int64_t>(q.ids.size()))) {
          (void)pg::exec(conn, "ROLLBACK");
          reply->file_conflict = true;
          return Status();
        }
      }
      if (!s.ok()) {
        (void)pg::exec(conn, "ROLLBACK");
        if (sqlstate == "23505") {
          reply->file_conflict = true;
          return Status();
        }
        return s;
      }
      return pg::exec(conn, "COMMIT");
    }
    case DirectDebitRequest::Op::ct_get_file: {
      pg::Result rows;
      if (Status s = pg::exec_params(
              conn,
              "SELECT document FROM credit_transfer_files WHERE message_id = $1 AND kind = $2",
              {q.message_id, q.file_name}, &rows);
          !s.ok()) {
        return s;
      }
      if (PQntuples(rows.get()) == 1) {
        reply->message_id = q.message_id;
        reply->document = PQgetvalue(rows.get(), 0, 0);
      }
      return Status();
    }
    case DirectDebitRequest::Op::ct_list_files: {
      pg::Result rows;
      if (Status s = pg::exec_params(
              conn,
              "SELECT message_id, kind, to_char(day, 'YYYY-MM-DD'), item_count, "
              "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM "
              "credit_transfer_files WHERE day = $1::date AND kind NOT LIKE 'in:%' ORDER BY "
              "created_at, message_id",
              {sepa::format_date(q.day)}, &rows);
          !s.ok()) {
        return s;
      }
      for (int r = 0; r < PQntuples(rows.get()); ++r) {
        DirectDebitReply::FileEntry& f = reply->files.emplace_back();
        f.message_id = PQgetvalue(rows.get(), r, 0);
        f.kind = PQgetvalue(rows.get(), r, 1);
        f.day = PQgetvalue(rows.get(), r, 2);
        if (!pg::number(rows.get(), r, 3, &f.items)) return Status::error("bad item count");
        f.created_at = PQgetvalue(rows.get(), r, 4);
      }
      return Status();
    }
    case DirectDebitRequest::Op::ct_mark_imported: {
      pg::Result rows;
      if (Status s = pg::exec_params(
              conn,
              "INSERT INTO credit_transfer_files (message_id, kind, day, item_count, document) "
              "VALUES ($1, $2, $3::date, $4, $5) ON CONFLICT DO NOTHING RETURNING message_id",
              {q.message_id, q.file_name, sepa::format_date(q.day), std::to_string(q.file_items),
               q.document},
              &rows);
          !s.ok()) {
        return s;
      }
      reply->inserted = PQntuples(rows.get()) == 1;
      return Status();
    }
    default:
      break;
  }
  return Status::error("unknown credit transfer operation");
}

}  // namespace ledger::credit_transfer_sql
