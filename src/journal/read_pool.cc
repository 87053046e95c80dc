#include "journal/read_pool.h"

#include <algorithm>
#include <map>

#include "journal/api_keys.h"
#include "journal/copy_codec.h"
#include "journal/direct_debit_sql.h"
#include "journal/event_reader.h"
#include "journal/monitor_sql.h"
#include "journal/spike_sql.h"
#include "journal/webhook_sql.h"
#include "ledger/limits.h"
#include "ledger/thread_name.h"

namespace ledger {
namespace {

// The transfers that move an account's posted balance: accepted single-phase transfers
// (none of the pending, post_pending and void_pending flags: 2 | 4 | 8) and accepted posts of
// holds. Holds, voids (full, partial, expiry) and rejections never move it.
constexpr const char* posting = "result = 0 AND (flags & 14 = 0 OR flags & 4 <> 0)";

std::string text(std::uint64_t v) {
  return std::to_string(static_cast<std::int64_t>(v > INT64_MAX ? INT64_MAX : v));
}

// One row selected with copy::transfer_columns (text format); false if a column is malformed.
bool read_transfer(const PGresult* rows, int r, Transfer* t) {
  const auto uuid = [&](int c, Uint128* out) {
    if (PQgetisnull(rows, r, c)) return true;  // pending_id: NULL for all but post and void
    const auto parsed = parse_uuid(PQgetvalue(rows, r, c));
    if (parsed) *out = *parsed;
    return parsed.has_value();
  };
  std::int64_t ts = 0, flags = 0, code = 0, result = 0, timeout = 0, ref_a = 0, ref_b = 0,
               ref_32 = 0;
  bool ok = uuid(0, &t->id.value) && pg::number(rows, r, 1, &ts) &&
            uuid(2, &t->debit_account_id.value) && uuid(3, &t->credit_account_id.value) &&
            uuid(4, &t->pending_id.value) && pg::number(rows, r, 5, &t->amount) &&
            pg::number(rows, r, 6, &t->amount_effective) && pg::number(rows, r, 8, &flags) &&
            pg::number(rows, r, 9, &code) && pg::number(rows, r, 10, &result) &&
            pg::number(rows, r, 11, &timeout) && pg::number(rows, r, 12, &ref_a) &&
            pg::number(rows, r, 13, &ref_b) && pg::number(rows, r, 14, &ref_32);
  if (ok && !PQgetisnull(rows, r, 7)) {
    const auto currency = currency_from_alpha(PQgetvalue(rows, r, 7));
    ok = currency.has_value();
    if (ok) t->currency = *currency;
  }
  t->timestamp = static_cast<std::uint64_t>(ts);
  t->flags = static_cast<std::uint16_t>(flags);
  t->code = static_cast<TransferCode>(code);
  t->result = static_cast<TransferResult>(result);
  t->timeout_s = static_cast<std::uint32_t>(timeout);
  t->reference_a = static_cast<std::uint64_t>(ref_a);
  t->reference_b = static_cast<std::uint64_t>(ref_b);
  t->reference_32 = static_cast<std::uint32_t>(ref_32);
  return ok;
}

// Decodes rows selected with copy::transfer_columns (text format) into Transfers.
Status read_transfers(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                      std::vector<Transfer>* out) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return s;
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    if (!read_transfer(rows.get(), r, &out->emplace_back())) {
      return Status::error("the transfers table holds a row that does not decode");
    }
  }
  return Status();
}

}  // namespace

ReadPool::ReadPool(std::string url, std::size_t threads, std::size_t queue_max)
    : url_(std::move(url)), queue_max_(queue_max) {
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      name_this_thread("ledgerd-reader");
      run();
    });
}

ReadPool::~ReadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
}

bool ReadPool::enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= queue_max_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void ReadPool::run() {
  pg::Conn conn;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      if (pg::connect(url_, &conn).ok())
        (void)pg::exec(conn.get(), "SET statement_timeout = " +
                                       std::to_string(limits::db_read_statement_timeout_ms));
    }
    job(conn ? conn.get() : nullptr);
  }
}

bool ReadPool::history(const HistoryQuery& q, std::function<void(Status, HistoryPage)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    HistoryPage page;
    if (conn == nullptr) return done(Status::error("database unavailable"), page);
    const std::string columns = copy::transfer_columns;
    const std::string range = " AND ts >= $2 AND ts < $3 AND ts < $4";
    const std::string sql = "(SELECT " + columns +
                            " FROM transfers WHERE result = 0 AND debit_account_id = $1" + range +
                            " ORDER BY ts DESC LIMIT $5) UNION ALL (SELECT " + columns +
                            " FROM transfers WHERE result = 0 AND credit_account_id = $1" + range +
                            " ORDER BY ts DESC LIMIT $5) ORDER BY ts DESC LIMIT $5";
    Status s = read_transfers(conn, sql,
                              {format_uuid(q.account.value), text(q.from_ts), text(q.to_ts),
                               text(q.before_ts), std::to_string(q.limit + 1)},
                              &page.transfers);
    if (page.transfers.size() > q.limit) {
      page.transfers.resize(q.limit);
      page.more = true;
    }
    done(s, std::move(page));
  });
}

bool ReadPool::statement(const StatementQuery& q, std::function<void(Status, Statement)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    Statement statement;
    if (conn == nullptr) return done(Status::error("database unavailable"), statement);
    const std::string id = format_uuid(q.account.value);
    pg::Result sums;
    const std::string before = std::string("FROM transfers WHERE ") + posting + " AND ts < $2 AND ";
    Status s = pg::exec_params(conn,
                               "SELECT (SELECT coalesce(sum(amount_effective), 0) " + before +
                                   "credit_account_id = $1), (SELECT "
                                   "coalesce(sum(amount_effective), 0) " +
                                   before + "debit_account_id = $1)",
                               {id, text(q.from_ts)}, &sums);
    if (!s.ok()) return done(s, statement);
    std::int64_t credits = 0;
    std::int64_t debits = 0;
    // A sum of int64 postings can exceed int64 in principle; it is then not a number we can read.
    if (!pg::number(sums.get(), 0, 0, &credits) || !pg::number(sums.get(), 0, 1, &debits)) {
      return done(Status::error("the opening balance is beyond 64 bits"), statement);
    }
    statement.opening = q.credit_normal ? static_cast<__int128>(debits) - credits
                                        : static_cast<__int128>(credits) - debits;
    s = read_transfers(
        conn,
        "SELECT " + std::string(copy::transfer_columns) + " FROM transfers WHERE " + posting +
            " AND (debit_account_id = $1 OR credit_account_id = $1) AND ts >= $2 "
            "AND ts < $3 ORDER BY ts LIMIT $4",
        {id, text(q.from_ts), text(q.to_ts), std::to_string(q.lines_max + 1)}, &statement.lines);
    if (statement.lines.size() > q.lines_max) {
      statement.lines.resize(q.lines_max);
      statement.truncated = true;
    }
    statement.closing = statement.opening;
    for (const Transfer& t : statement.lines) {
      const bool credit = t.credit_account_id == q.account;
      statement.closing += (credit != q.credit_normal) ? t.amount_effective
                                                       : -static_cast<__int128>(t.amount_effective);
    }
    done(s, std::move(statement));
  });
}

bool ReadPool::accounts(const AccountListQuery& q, std::function<void(Status, AccountList)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    AccountList list;
    if (conn == nullptr) return done(Status::error("database unavailable"), list);
    pg::Result rows;
    Status s = pg::exec_params(
        conn, "SELECT id FROM accounts WHERE holder_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        {format_uuid(q.holder.value), format_uuid(q.after), std::to_string(q.limit + 1)}, &rows);
    if (s.ok()) {
      for (int r = 0; r < PQntuples(rows.get()) && s.ok(); ++r) {
        const auto id = parse_uuid(PQgetvalue(rows.get(), r, 0));
        if (!id) s = Status::error("the accounts table holds an id that is not a UUID");
        if (id) list.ids.push_back(AccountId{*id});
      }
      if (list.ids.size() > q.limit) {
        list.ids.resize(q.limit);
        list.more = true;
      }
    }
    done(s, std::move(list));
  });
}

bool ReadPool::spike_rules(const SpikeRuleRequest& q,
                           std::function<void(Status, SpikeRuleReply)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    SpikeRuleReply reply;
    if (conn == nullptr) return done(Status::error("database unavailable"), reply);
    const Status s = spike_sql::run(conn, q, &reply);
    done(s, std::move(reply));
  });
}

bool ReadPool::direct_debits(const DirectDebitRequest& q,
                             std::function<void(Status, DirectDebitReply)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    DirectDebitReply reply;
    if (conn == nullptr) return done(Status::error("database unavailable"), reply);
    const Status s = direct_debit_sql::run(conn, q, &reply);
    done(s, std::move(reply));
  });
}

bool ReadPool::monitors(const MonitorListQuery& q,
                        std::function<void(Status, std::vector<BalanceMonitor>)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    std::vector<BalanceMonitor> list;
    if (conn == nullptr) return done(Status::error("database unavailable"), list);
    std::string sql = std::string("SELECT * FROM (SELECT DISTINCT ON (monitor_id) ") +
                      monitor_sql::columns + " FROM monitor_events";
    std::vector<std::string> params;
    if (!q.account.is_zero()) {
      sql.append(" WHERE account_id = $1");
      params.push_back(format_uuid(q.account.value));
    }
    sql.append(" ORDER BY monitor_id, ts DESC) latest WHERE NOT deleted ORDER BY created_ts LIMIT ")
        .append(std::to_string(q.limit));
    const Status s = monitor_sql::visit_rows(
        conn, sql, params, [&list](const BalanceMonitor& m) { list.push_back(m); });
    done(s, std::move(list));
  });
}

bool ReadPool::audit(const AuditQuery& q, std::function<void(Status, AuditPage)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    AuditPage page;
    if (conn == nullptr) return done(Status::error("database unavailable"), page);
    pg::Result rows;
    Status s = pg::exec_params(
        conn,
        "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, "
        "actor_name, action, target, status, detail, set_aside, resource, resource_id FROM "
        "audit_log "
        "WHERE id < $1 AND ($2 = '' OR actor = $2) AND ($4 = '' OR resource_id = $4) "
        "ORDER BY id DESC LIMIT $3",
        {std::to_string(q.before_id), q.actor, std::to_string(q.limit + 1), q.resource_id}, &rows);
    if (s.ok()) {
      for (int r = 0; r < PQntuples(rows.get()) && s.ok(); ++r) {
        const auto v = [&](int c) { return std::string(PQgetvalue(rows.get(), r, c)); };
        AuditEntry entry{0, v(1), v(2), v(3), v(4), v(5), 0, v(7), v(8) == "t", v(9), v(10)};
        if (!pg::number(rows.get(), r, 0, &entry.id) ||
            !pg::number(rows.get(), r, 6, &entry.status)) {
          s = Status::error("the audit log holds a row that does not decode");
        }
        page.entries.push_back(std::move(entry));
      }
      if (page.entries.size() > q.limit) {
        page.entries.resize(q.limit);
        page.more = true;
      }
    }
    done(s, std::move(page));
  });
}

bool ReadPool::create_key(const NewApiKey& key, std::function<void(Status, ApiKeyRecord)> done) {
  return enqueue([key, done = std::move(done)](PGconn* conn) {
    ApiKeyRecord record;
    if (conn == nullptr) return done(Status::error("database unavailable"), record);
    Status s = store_api_key(conn, key, &record);
    done(s, std::move(record));
  });
}

bool ReadPool::list_keys(std::function<void(Status, std::vector<ApiKeyRecord>)> done) {
  return enqueue([done = std::move(done)](PGconn* conn) {
    std::vector<ApiKeyRecord> keys;
    if (conn == nullptr) return done(Status::error("database unavailable"), keys);
    Status s = list_api_keys(conn, &keys);
    done(s, std::move(keys));
  });
}

bool ReadPool::revoke_key(const std::string& id, const std::string& actor,
                          const std::string& actor_name,
                          std::function<void(Status, std::optional<ApiKeyRecord>)> done) {
  return enqueue([id, actor, actor_name, done = std::move(done)](PGconn* conn) {
    std::optional<ApiKeyRecord> record;
    if (conn == nullptr) return done(Status::error("database unavailable"), record);
    Status s = revoke_api_key(conn, id, actor, actor_name, &record);
    done(s, std::move(record));
  });
}

bool ReadPool::events(const EventQuery& q, std::function<void(Status, EventPage)> done) {
  return enqueue([q, done = std::move(done)](PGconn* conn) {
    EventPage page;
    page.next_after = q.after;
    if (conn == nullptr) return done(Status::error("database unavailable"), page);
    Status s = read_events(conn, q, &page);
    done(s, s.ok() ? std::move(page) : EventPage{});
  });
}

bool ReadPool::webhooks(const WebhookRequest& request,
                        std::function<void(Status, WebhookReply)> done) {
  return enqueue([request, done = std::move(done)](PGconn* conn) {
    WebhookReply reply;
    if (conn == nullptr) return done(Status::error("database unavailable"), reply);
    Status s = run_webhook_request(conn, request, &reply);
    done(s, std::move(reply));
  });
}

}  // namespace ledger
