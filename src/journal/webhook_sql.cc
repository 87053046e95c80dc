#include "journal/webhook_sql.h"

#include "ledger/ids.h"

namespace ledger {
namespace {

constexpr const char* subscription_columns =
    "id, kind, url_hint, event_types, filter::text, status, coalesce(disabled_reason, ''), "
    "after_seq, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "encode(url_sealed, 'hex'), encode(secret_sealed, 'hex'), "
    "CASE WHEN previous_secret_until > now() THEN encode(previous_secret_sealed, 'hex') "
    "ELSE '' END, coalesce(replay_from, 0), coalesce(replay_to, 0)";

constexpr const char* time_format = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'";

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\\x";
  for (const char c : bytes) {
    out.push_back(digits[static_cast<unsigned char>(c) >> 4]);
    out.push_back(digits[static_cast<unsigned char>(c) & 0xF]);
  }
  return out;
}

bool unhex(std::string_view text, std::string* out) {
  if (text.size() % 2 != 0) return false;
  out->clear();
  const auto value = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = value(text[i]), lo = value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string number(std::uint64_t v) { return std::to_string(static_cast<std::int64_t>(v)); }

bool read_subscription(const PGresult* rows, int r, DispatchSubscription* out) {
  WebhookSubscription& s = out->subscription;
  const auto text = [&](int c) { return std::string(PQgetvalue(rows, r, c)); };
  const auto id = parse_uuid(text(0));
  std::int64_t kind = 0, types = 0, status = 0, after = 0, from = 0, to = 0;
  if (!id || !pg::number(rows, r, 1, &kind) || !pg::number(rows, r, 3, &types) ||
      !pg::number(rows, r, 5, &status) || !pg::number(rows, r, 7, &after) ||
      !pg::number(rows, r, 13, &from) || !pg::number(rows, r, 14, &to)) {
    return false;
  }
  s.id = *id;
  s.kind = kind == 1 ? WebhookKind::slack : WebhookKind::webhook;
  s.url_hint = text(2);
  s.event_types = static_cast<std::uint64_t>(types);
  s.filter_json = text(4);
  s.active = status == 0;
  s.disabled_reason = text(6);
  s.after_seq = static_cast<std::uint64_t>(after);
  s.created_at = text(8);
  s.updated_at = text(9);
  out->replay_from = static_cast<std::uint64_t>(from);
  out->replay_to = static_cast<std::uint64_t>(to);
  return unhex(text(10), &s.url_sealed) && unhex(text(11), &s.secret_sealed) &&
         unhex(text(12), &s.previous_secret_sealed);
}

Status read_subscriptions(PGconn* conn, const std::string& sql,
                          const std::vector<std::string>& params,
                          std::vector<DispatchSubscription>* out) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return s;
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    if (!read_subscription(rows.get(), r, &out->emplace_back())) {
      return Status::error("webhook_subscriptions holds a row that does not decode");
    }
  }
  return Status();
}

Status subscriptions_reply(PGconn* conn, const std::string& sql,
                           const std::vector<std::string>& params, WebhookReply* reply,
                           bool with_credentials = false) {
  std::vector<DispatchSubscription> rows;
  Status s = read_subscriptions(conn, sql, params, &rows);
  for (auto& row : rows) {
    if (!with_credentials) {  // the API never renders them
      row.subscription.url_sealed.clear();
      row.subscription.secret_sealed.clear();
      row.subscription.previous_secret_sealed.clear();
    }
    reply->subscriptions.push_back(std::move(row.subscription));
  }
  reply->found = !reply->subscriptions.empty();
  return s;
}

Status deliveries(PGconn* conn, const WebhookRequest& q, WebhookReply* reply) {
  pg::Result exists;
  if (Status s = pg::exec_params(
          conn, "SELECT 1 FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL",
          {format_uuid(q.id)}, &exists);
      !s.ok()) {
    return s;
  }
  reply->found = PQntuples(exists.get()) == 1;
  if (!reply->found) return Status();
  const std::string t = time_format;
  pg::Result rows;
  if (Status s = pg::exec_params(
          conn,
          "SELECT seq, status, attempts, coalesce(last_status, 0), coalesce(last_error, ''), "
          "CASE WHEN status = 0 THEN to_char(next_attempt_at AT TIME ZONE 'UTC', " +
              t + ") ELSE '' END, coalesce(to_char(last_attempt_at AT TIME ZONE 'UTC', " + t +
              "), ''), coalesce(to_char(delivered_at AT TIME ZONE 'UTC', " + t +
              "), '') FROM webhook_deliveries WHERE subscription_id = $1 AND ($2 = 0 OR seq < $2) "
              "ORDER BY seq DESC LIMIT $3",
          {format_uuid(q.id), number(q.before_seq), std::to_string(q.limit)}, &rows);
      !s.ok()) {
    return s;
  }
  static constexpr const char* names[] = {"pending", "delivered", "failed", "dropped"};
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    WebhookDelivery& d = reply->deliveries.emplace_back();
    std::int64_t seq = 0, status = 0, attempts = 0, last = 0;
    if (!pg::number(rows.get(), r, 0, &seq) || !pg::number(rows.get(), r, 1, &status) ||
        !pg::number(rows.get(), r, 2, &attempts) || !pg::number(rows.get(), r, 3, &last) ||
        status < 0 || status > 3) {
      return Status::error("webhook_deliveries holds a row that does not decode");
    }
    d.seq = static_cast<std::uint64_t>(seq);
    d.status = names[status];
    d.attempts = static_cast<std::uint32_t>(attempts);
    d.last_status = static_cast<int>(last);
    d.last_error = PQgetvalue(rows.get(), r, 4);
    d.next_attempt_at = PQgetvalue(rows.get(), r, 5);
    d.last_attempt_at = PQgetvalue(rows.get(), r, 6);
    d.delivered_at = PQgetvalue(rows.get(), r, 7);
  }
  return Status();
}

}  // namespace

Status run_webhook_request(PGconn* conn, const WebhookRequest& q, WebhookReply* reply) {
  const std::string columns = subscription_columns;
  const std::string id = format_uuid(q.id);
  using Op = WebhookRequest::Op;
  switch (q.op) {
    case Op::create:
      return subscriptions_reply(
          conn,
          "INSERT INTO webhook_subscriptions (id, kind, url_sealed, url_hint, secret_sealed, "
          "event_types, filter, after_seq) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, (SELECT "
          "coalesce(max(seq), 0) FROM events)) ON CONFLICT (id) DO NOTHING RETURNING " +
              columns,
          {id, q.kind == WebhookKind::slack ? "1" : "0", hex(q.url_sealed), q.url_hint,
           hex(q.secret_sealed), std::to_string(static_cast<std::int64_t>(q.event_types)),
           q.filter_json},
          reply);
    case Op::list: {
      Status s = subscriptions_reply(conn,
                                     "SELECT " + columns +
                                         " FROM webhook_subscriptions WHERE deleted_at IS NULL "
                                         "ORDER BY created_at, id LIMIT $1",
                                     {std::to_string(q.limit)}, reply);
      reply->found = true;
      return s;
    }
    case Op::get:
      return subscriptions_reply(
          conn,
          "SELECT " + columns + " FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL",
          {id}, reply, q.with_credentials);
    case Op::update: {
      std::vector<std::string> params{id};
      std::string sets = "updated_at = now()";
      const auto set = [&](const std::string& column, std::string value,
                           const std::string& cast = "") {
        params.push_back(std::move(value));
        sets += ", " + column + " = $" + std::to_string(params.size()) + cast;
      };
      if (q.set_url) {
        set("url_sealed", hex(q.url_sealed));
        set("url_hint", q.url_hint);
      }
      if (q.set_event_types)
        set("event_types", std::to_string(static_cast<std::int64_t>(q.event_types)));
      if (q.set_filter) set("filter", q.filter_json, "::jsonb");
      if (q.set_active) {
        set("status", q.active ? "0" : "1");
        sets += ", disabled_reason = " + std::string(q.active ? "NULL" : "'disabled over the API'");
      }
      return subscriptions_reply(conn,
                                 "UPDATE webhook_subscriptions SET " + sets +
                                     " WHERE id = $1 AND deleted_at IS NULL RETURNING " + columns,
                                 params, reply);
    }
    case Op::remove: {
      if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
      Status s = subscriptions_reply(
          conn,
          "UPDATE webhook_subscriptions SET deleted_at = now(), status = 1, updated_at = now(), "
          "disabled_reason = 'deleted' WHERE id = $1 AND deleted_at IS NULL RETURNING " +
              columns,
          {id}, reply);
      if (s.ok()) {
        s = pg::exec_params(conn,
                            "UPDATE webhook_deliveries SET status = 3, last_error = "
                            "'subscription deleted' WHERE subscription_id = $1 AND status = 0",
                            {id}, nullptr);
      }
      return s.ok() ? pg::exec(conn, "COMMIT") : ((void)pg::exec(conn, "ROLLBACK"), s);
    }
    case Op::deliveries:
      return deliveries(conn, q, reply);
    case Op::replay: {
      Status s = subscriptions_reply(
          conn,
          "UPDATE webhook_subscriptions SET replay_from = $2, replay_to = LEAST($3, after_seq), "
          "updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING " +
              columns,
          {id, number(q.from_seq), number(q.to_seq)}, reply);
      if (s.ok() && reply->found) {
        const std::uint64_t to = std::min(q.to_seq, reply->subscriptions[0].after_seq);
        reply->replayed = to >= q.from_seq ? to - q.from_seq + 1 : 0;
      }
      return s;
    }
    case Op::rotate:
      return subscriptions_reply(
          conn,
          "UPDATE webhook_subscriptions SET previous_secret_sealed = secret_sealed, "
          "previous_secret_until = now() + make_interval(secs => $3), secret_sealed = $2, "
          "updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING " +
              columns,
          {id, hex(q.secret_sealed), std::to_string(q.grace_seconds)}, reply);
  }
  return Status::error("unknown webhook request");
}

Status load_dispatch_subscriptions(PGconn* conn, std::vector<DispatchSubscription>* out) {
  out->clear();
  return read_subscriptions(conn,
                            "SELECT " + std::string(subscription_columns) +
                                " FROM webhook_subscriptions WHERE deleted_at IS NULL AND "
                                "status = 0 ORDER BY created_at, id",
                            {}, out);
}

Status accounts_of_holders(PGconn* conn, const std::vector<Uint128>& holders,
                           std::vector<Uint128>* out) {
  out->clear();
  if (holders.empty()) return Status();
  std::string list = "{";
  for (const Uint128& h : holders) {
    if (list.size() > 1) list += ',';
    list += format_uuid(h);
  }
  list += '}';
  pg::Result rows;
  if (Status s = pg::exec_params(conn, "SELECT id FROM accounts WHERE holder_id = ANY($1::uuid[])",
                                 {list}, &rows);
      !s.ok()) {
    return s;
  }
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    if (const auto id = parse_uuid(PQgetvalue(rows.get(), r, 0))) out->push_back(*id);
  }
  return Status();
}

Status record_matches(PGconn* conn, Uint128 subscription, const std::vector<std::uint64_t>& seqs,
                      bool replay, std::uint64_t next) {
  const std::string id = format_uuid(subscription);
  if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
  Status s;
  if (!seqs.empty()) {
    std::string list = "{";
    for (const std::uint64_t seq : seqs) {
      if (list.size() > 1) list += ',';
      list += number(seq);
    }
    list += '}';
    s = pg::exec_params(
        conn,
        replay ? "INSERT INTO webhook_deliveries (subscription_id, seq) SELECT $1, "
                 "unnest($2::bigint[]) ON CONFLICT (subscription_id, seq) DO UPDATE SET "
                 "status = 0, attempts = 0, next_attempt_at = now(), delivered_at = NULL, "
                 "last_error = NULL, last_status = NULL"
               : "INSERT INTO webhook_deliveries (subscription_id, seq) SELECT $1, "
                 "unnest($2::bigint[]) ON CONFLICT (subscription_id, seq) DO NOTHING",
        {id, list}, nullptr);
  }
  if (s.ok()) {
    s = pg::exec_params(conn,
                        replay ? "UPDATE webhook_subscriptions SET replay_from = CASE WHEN $2 > "
                                 "replay_to THEN NULL ELSE $2 END, replay_to = CASE WHEN $2 > "
                                 "replay_to THEN NULL ELSE replay_to END WHERE id = $1"
                               : "UPDATE webhook_subscriptions SET after_seq = $2 WHERE id = $1 "
                                 "AND after_seq < $2",
                        {id, number(next)}, nullptr);
  }
  if (!s.ok()) {
    (void)pg::exec(conn, "ROLLBACK");
    return s;
  }
  return pg::exec(conn, "COMMIT");
}

Status due_deliveries(PGconn* conn, std::uint32_t limit, std::vector<DueDelivery>* out) {
  out->clear();
  pg::Result rows;
  if (Status s = pg::exec_params(
          conn,
          "SELECT s.id, d.seq, d.attempts FROM webhook_subscriptions s CROSS JOIN LATERAL "
          "(SELECT seq, attempts FROM webhook_deliveries d WHERE d.subscription_id = s.id AND "
          "d.status = 0 AND d.next_attempt_at <= now() ORDER BY seq LIMIT $1) d "
          "WHERE s.status = 0 AND s.deleted_at IS NULL ORDER BY d.seq",
          {std::to_string(limit)}, &rows);
      !s.ok()) {
    return s;
  }
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    DueDelivery d;
    const auto id = parse_uuid(PQgetvalue(rows.get(), r, 0));
    std::int64_t seq = 0, attempts = 0;
    if (!id || !pg::number(rows.get(), r, 1, &seq) || !pg::number(rows.get(), r, 2, &attempts)) {
      return Status::error("webhook_deliveries holds a row that does not decode");
    }
    d.subscription = *id;
    d.seq = static_cast<std::uint64_t>(seq);
    d.attempts = static_cast<std::uint32_t>(attempts);
    out->push_back(d);
  }
  return Status();
}

namespace {

// One element of a PostgreSQL array literal, quoted: "..." with \ and " escaped.
void append_array_text(std::string_view value, std::string* out) {
  out->push_back('"');
  for (const char c : value) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

Status record_attempts(PGconn* conn, const std::vector<AttemptOutcome>& outcomes) {
  if (outcomes.empty()) return Status();
  std::string subs = "{", seqs = "{", statuses = "{", https = "{", errors = "{", retries = "{";
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const AttemptOutcome& o = outcomes[i];
    if (i > 0) {
      for (std::string* list : {&subs, &seqs, &statuses, &https, &errors, &retries}) {
        list->push_back(',');
      }
    }
    subs.append(format_uuid(o.subscription));
    seqs.append(number(o.seq));
    statuses.append(o.delivered ? "1" : o.give_up ? "2" : "0");
    https.append(std::to_string(o.http_status));
    append_array_text(o.error.substr(0, 500), &errors);
    retries.append(std::to_string(o.retry_after_s));
  }
  for (std::string* list : {&subs, &seqs, &statuses, &https, &errors, &retries}) {
    list->push_back('}');
  }
  return pg::exec_params(
      conn,
      "UPDATE webhook_deliveries d SET status = v.status, attempts = d.attempts + 1, "
      "last_attempt_at = now(), last_status = NULLIF(v.http, 0), last_error = "
      "NULLIF(v.error, ''), next_attempt_at = now() + make_interval(secs => v.retry), "
      "delivered_at = CASE WHEN v.status = 1 THEN now() END FROM unnest($1::uuid[], "
      "$2::bigint[], $3::smallint[], $4::integer[], $5::text[], $6::integer[]) AS v(sub, seq, "
      "status, http, error, retry) WHERE d.subscription_id = v.sub AND d.seq = v.seq AND "
      "d.status = 0",
      {subs, seqs, statuses, https, errors, retries}, nullptr);
}

Status record_attempt(PGconn* conn, const AttemptOutcome& o) {
  const std::string id = format_uuid(o.subscription);
  const std::string status = o.delivered ? "1" : o.give_up ? "2" : "0";
  if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
  Status s = pg::exec_params(
      conn,
      "UPDATE webhook_deliveries SET status = $3::smallint, attempts = attempts + 1, "
      "last_attempt_at = now(), last_status = NULLIF($4::integer, 0), last_error = "
      "NULLIF($5::text, ''), next_attempt_at = now() + make_interval(secs => $6::integer), "
      "delivered_at = CASE WHEN $3::smallint = 1 THEN now() END WHERE subscription_id = $1 AND "
      "seq = $2 AND status = 0",
      {id, number(o.seq), status, std::to_string(o.http_status), o.error.substr(0, 500),
       std::to_string(o.retry_after_s)},
      nullptr);
  if (s.ok() && !o.disable_reason.empty()) {
    s = pg::exec_params(conn,
                        "UPDATE webhook_subscriptions SET status = 1, disabled_reason = $2, "
                        "updated_at = now() WHERE id = $1",
                        {id, o.disable_reason.substr(0, 500)}, nullptr);
  }
  if (!s.ok()) {
    (void)pg::exec(conn, "ROLLBACK");
    return s;
  }
  return pg::exec(conn, "COMMIT");
}

}  // namespace ledger
