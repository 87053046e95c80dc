#include "journal/clearing_sql.h"

#include <string_view>

namespace ledger::clearing_sql {
namespace {

constexpr std::string_view dispute_json =
    "jsonb_build_object('id', d.id, 'account_id', d.account_id, 'card_id', d.card_id, "
    "'transfer_id', d.transfer_id, 'authorization_id', d.authorization_id, "
    "'acquirer_reference', d.acquirer_reference, 'reason', d.reason, 'amount', d.amount, "
    "'currency', d.currency, 'provisional_credit', d.provisional_credit, 'status', d.status, "
    "'chargeback_deadline', to_char(d.chargeback_deadline AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'representment_deadline', "
    "to_char(d.representment_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "'representment_amount', d.representment_amount, 'chargeback_file', d.chargeback_file, "
    "'request_digest', d.request_digest, 'history', d.history, "
    "'created_at', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "'updated_at', to_char(d.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))";

constexpr std::string_view record_columns =
    "file_id, record_index, kind, function_code, status, reason, transfer_id, authorization_id, "
    "card_id, account_id, match, outcome, acquirer_reference, approval_code, life_cycle, amount, "
    "currency, billing_amount, billing_currency, billing_rate, reconciliation_amount, "
    "reconciliation_currency, posted_amount, authorized_amount, credit, scheme, mcc, "
    "merchant_name, merchant_city, merchant_country, transaction_time, processing_date";

std::string record_json() {
  return "((to_jsonb(r) - 'created_at') || jsonb_build_object('created_at', "
         "to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')))";
}

std::string file_json() {
  return "jsonb_build_object('direction', f.direction, 'file_id', f.file_id, "
         "'processing_date', f.processing_date, 'status', f.status, 'record_count', "
         "f.record_count, 'report', f.report, 'created_at', to_char(f.created_at AT TIME ZONE "
         "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))";
}

std::string sql_of(std::string_view op) {
  const std::string d(dispute_json);
  if (op == "file_begin") {
    return "WITH ins AS (INSERT INTO card_clearing_files (direction, file_id, processing_date, "
           "status) VALUES ('in', $1::jsonb->>'file_id', ($1::jsonb->>'processing_date')::date, "
           "'importing') ON CONFLICT DO NOTHING RETURNING *) "
           "SELECT jsonb_build_object('inserted', true, 'file', " +
           file_json() +
           ")::text FROM ins f UNION ALL SELECT jsonb_build_object('inserted', false, 'file', " +
           file_json() +
           ")::text FROM card_clearing_files f WHERE f.direction = 'in' AND f.file_id = "
           "$1::jsonb->>'file_id' AND NOT EXISTS (SELECT 1 FROM ins)";
  }
  if (op == "records_put") {
    const std::string cols(record_columns);
    std::string set;
    for (std::string_view c :
         {"kind", "function_code", "status", "reason", "transfer_id", "authorization_id", "card_id",
          "account_id", "match", "outcome", "posted_amount", "authorized_amount"}) {
      if (!set.empty()) set += ", ";
      set += std::string(c) + " = excluded." + std::string(c);
    }
    return "WITH ins AS (INSERT INTO card_clearing_records (" + cols + ") SELECT " + cols +
           " FROM jsonb_populate_recordset(NULL::card_clearing_records, $1::jsonb->'records') "
           "ON CONFLICT (file_id, record_index) DO UPDATE SET " +
           set + " RETURNING 1) SELECT count(*)::text FROM ins";
  }
  if (op == "file_finish") {
    return "UPDATE card_clearing_files SET status = 'imported', record_count = "
           "($1::jsonb->>'record_count')::integer, report = $1::jsonb->'report' WHERE direction = "
           "'in' AND file_id = $1::jsonb->>'file_id' RETURNING '\"ok\"'";
  }
  if (op == "file_get") {
    return "SELECT (" + file_json() +
           " || jsonb_build_object('document', translate(encode(f.document, 'base64'), E'\\n', "
           "'')))::text FROM "
           "card_clearing_files f WHERE f.direction = $1::jsonb->>'direction' AND f.file_id = "
           "$1::jsonb->>'file_id'";
  }
  if (op == "file_list") {
    return "SELECT coalesce(jsonb_agg(x ORDER BY x->>'created_at' DESC), '[]')::text FROM "
           "(SELECT " +
           file_json() +
           " AS x FROM card_clearing_files f WHERE ($1::jsonb->>'direction' IS NULL OR "
           "f.direction = $1::jsonb->>'direction') ORDER BY f.created_at DESC LIMIT "
           "($1::jsonb->>'limit')::integer) s";
  }
  if (op == "file_records") {
    return "SELECT coalesce(jsonb_agg(" + record_json() +
           " ORDER BY r.record_index), '[]')::text FROM card_clearing_records r WHERE r.file_id = "
           "$1::jsonb->>'file_id'";
  }
  if (op == "record_of_transfer") {
    // A presentment's posting, or the authorization it cleared (its first presentment).
    return "SELECT " + record_json() +
           "::text FROM card_clearing_records r WHERE (r.transfer_id = "
           "($1::jsonb->>'transfer_id')::uuid OR r.authorization_id = "
           "($1::jsonb->>'transfer_id')::uuid) AND r.status = 'posted' AND r.kind <> "
           "'presentment_reversal' AND NOT r.credit ORDER BY r.transfer_id = "
           "($1::jsonb->>'transfer_id')::uuid DESC, r.created_at, r.record_index LIMIT 1";
  }
  if (op == "transaction") {
    // Everything about one card transaction: the records that cleared its authorization (or
    // the record itself, by its posting's id) and their disputes.
    return "WITH recs AS (SELECT r.* FROM card_clearing_records r WHERE r.status <> 'set_aside' "
           "AND (r.authorization_id = ($1::jsonb->>'id')::uuid OR r.transfer_id = "
           "($1::jsonb->>'id')::uuid)) SELECT jsonb_build_object('records', (SELECT "
           "coalesce(jsonb_agg(" +
           record_json() +
           " ORDER BY r.created_at, r.record_index), '[]') FROM recs r), 'disputes', (SELECT "
           "coalesce(jsonb_agg(" +
           d +
           " ORDER BY d.created_at), '[]') FROM disputes d WHERE d.transfer_id IN (SELECT "
           "transfer_id FROM recs) OR d.authorization_id = ($1::jsonb->>'id')::uuid))::text";
  }
  if (op == "card_transactions") {
    return "SELECT coalesce(jsonb_agg(" + record_json() +
           " ORDER BY r.created_at DESC, r.record_index DESC), '[]')::text FROM (SELECT * FROM "
           "card_clearing_records WHERE card_id = ($1::jsonb->>'card_id')::uuid AND status <> "
           "'set_aside' ORDER BY created_at DESC LIMIT ($1::jsonb->>'limit')::integer) r";
  }
  if (op == "dispute_insert") {
    return "WITH ins AS (INSERT INTO disputes (id, account_id, card_id, transfer_id, "
           "authorization_id, acquirer_reference, reason, amount, currency, provisional_credit, "
           "status, chargeback_deadline, request_digest, history) SELECT (a->>'id')::uuid, "
           "(a->>'account_id')::uuid, (a->>'card_id')::uuid, (a->>'transfer_id')::uuid, "
           "(a->>'authorization_id')::uuid, a->>'acquirer_reference', a->>'reason', "
           "(a->>'amount')::bigint, a->>'currency', (a->>'provisional_credit')::boolean, "
           "'opened', (a->>'chargeback_deadline')::timestamptz, a->>'request_digest', "
           "jsonb_build_array(a->'history_entry') FROM (SELECT $1::jsonb AS a) s ON CONFLICT DO "
           "NOTHING RETURNING *) SELECT jsonb_build_object('inserted', true, 'dispute', " +
           d +
           ")::text FROM ins d UNION ALL SELECT jsonb_build_object('inserted', false, "
           "'dispute', " +
           d +
           ")::text FROM disputes d WHERE NOT EXISTS (SELECT 1 FROM ins) AND (d.id = "
           "($1::jsonb->>'id')::uuid OR (d.transfer_id = ($1::jsonb->>'transfer_id')::uuid AND "
           "d.status IN ('opened', 'charged_back'))) ORDER BY 1 LIMIT 1";
  }
  if (op == "dispute_update") {
    return "UPDATE disputes d SET status = coalesce($1::jsonb->>'status', d.status), "
           "representment_amount = coalesce(($1::jsonb->>'representment_amount')::bigint, "
           "d.representment_amount), history = d.history || coalesce($1::jsonb->'history_entry', "
           "'[]'::jsonb), updated_at = now() WHERE d.id = ($1::jsonb->>'id')::uuid AND "
           "d.status = coalesce($1::jsonb->>'from_status', d.status) RETURNING " +
           d + "::text";
  }
  if (op == "dispute_get") {
    return "SELECT " + d + "::text FROM disputes d WHERE d.id = ($1::jsonb->>'id')::uuid";
  }
  if (op == "dispute_by_reference") {
    return "SELECT " + d +
           "::text FROM disputes d WHERE d.acquirer_reference = $1::jsonb->>'acquirer_reference' "
           "AND d.status = 'charged_back' ORDER BY d.created_at LIMIT 1";
  }
  if (op == "dispute_list") {
    return "SELECT coalesce(jsonb_agg(x ORDER BY x->>'created_at' DESC), '[]')::text FROM "
           "(SELECT " +
           d +
           " AS x FROM disputes d WHERE ($1::jsonb->>'account_id' IS NULL OR d.account_id = "
           "($1::jsonb->>'account_id')::uuid) ORDER BY d.created_at DESC LIMIT "
           "($1::jsonb->>'limit')::integer) s";
  }
  if (op == "disputes_due") {
    // To file: opened ones. To decide: charged back ones whose representment window closed.
    return "SELECT coalesce(jsonb_agg(" + d +
           " ORDER BY d.created_at), '[]')::text FROM disputes d WHERE d.status = 'opened' OR "
           "(d.status = 'charged_back' AND d.representment_deadline <= "
           "($1::jsonb->>'now')::timestamptz)";
  }
  if (op == "file_store_out") {
    // The chargeback file and its disputes moved on, together; a dispute another cut filed
    // already makes the count short and the caller rolls back.
    return "WITH f AS (INSERT INTO card_clearing_files (direction, file_id, processing_date, "
           "status, record_count, document) VALUES ('out', $1::jsonb->>'file_id', "
           "($1::jsonb->>'processing_date')::date, 'cut', ($1::jsonb->>'record_count')::integer, "
           "decode($1::jsonb->>'document', 'base64')) RETURNING 1), u AS (UPDATE disputes d SET "
           "status = 'charged_back', chargeback_file = $1::jsonb->>'file_id', "
           "representment_deadline = (e->>'representment_deadline')::timestamptz, history = "
           "d.history || jsonb_build_array(e->'history_entry'), updated_at = now() FROM "
           "jsonb_array_elements($1::jsonb->'disputes') e WHERE d.id = (e->>'id')::uuid AND "
           "d.status = 'opened' RETURNING 1) SELECT jsonb_build_object('files', (SELECT count(*) "
           "FROM f), 'disputes', (SELECT count(*) FROM u))::text";
  }
  return {};
}

}  // namespace

Status run(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply) {
  const std::string sql = sql_of(q.card_op);
  if (sql.empty()) return Status::error("unknown card clearing operation " + q.card_op);
  const bool atomic = q.card_op == "file_store_out";
  if (atomic) {
    if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
  }
  pg::Result rows;
  Status s = pg::exec_params(conn, sql, {q.card_args}, &rows);
  if (!s.ok()) {
    if (atomic) (void)pg::exec(conn, "ROLLBACK");
    return s;
  }
  reply->card_rows.clear();
  for (int i = 0; i < PQntuples(rows.get()); ++i) {
    reply->card_rows.emplace_back(PQgetvalue(rows.get(), i, 0),
                                  static_cast<std::size_t>(PQgetlength(rows.get(), i, 0)));
  }
  if (atomic) {
    // Every dispute named must have moved on, else another cut filed one: nothing is stored.
    const std::string expected = "\"disputes\": " + q.card_expect;
    if (reply->card_rows.empty() || reply->card_rows[0].find(expected) == std::string::npos) {
      (void)pg::exec(conn, "ROLLBACK");
      reply->file_conflict = true;
      return Status();
    }
    if (s = pg::exec(conn, "COMMIT"); !s.ok()) return s;
  }
  return Status();
}

}  // namespace ledger::clearing_sql
