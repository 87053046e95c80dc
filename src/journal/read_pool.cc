#include "read_pool.h"

#include "copy_codec.h"

namespace ledger {
namespace {

constexpr const char* posting = "(flags & 6 = 0 OR flags & 4 <> 0)";  // single-phase or post

std::string text(std::uint64_t v) {
  return std::to_string(static_cast<std::int64_t>(v > INT64_MAX ? INT64_MAX : v));
}

// Decodes rows selected with copy::transfer_columns (text format) into Transfers.
Status read_transfers(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                      std::vector<Transfer>* out) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return s;
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    const auto v = [&](int c) { return PQgetvalue(rows.get(), r, c); };
    Transfer t;
    t.id.value = parse_uuid(v(0)).value_or(Uint128{});
    t.timestamp = static_cast<std::uint64_t>(std::stoll(v(1)));
    t.debit_account_id.value = parse_uuid(v(2)).value_or(Uint128{});
    t.credit_account_id.value = parse_uuid(v(3)).value_or(Uint128{});
    if (!PQgetisnull(rows.get(), r, 4)) t.pending_id.value = parse_uuid(v(4)).value_or(Uint128{});
    t.amount = std::stoll(v(5));
    t.amount_effective = std::stoll(v(6));
    if (!PQgetisnull(rows.get(), r, 7)) t.currency = currency_from_alpha(v(7)).value_or(Currency{});
    t.flags = static_cast<std::uint16_t>(std::stoi(v(8)));
    t.code = static_cast<TransferCode>(std::stoi(v(9)));
    t.result = static_cast<TransferResult>(std::stoi(v(10)));
    t.timeout_s = static_cast<std::uint32_t>(std::stoll(v(11)));
    t.reference_a = static_cast<std::uint64_t>(std::stoll(v(12)));
    t.reference_b = static_cast<std::uint64_t>(std::stoll(v(13)));
    t.reference_32 = static_cast<std::uint32_t>(std::stoll(v(14)));
    out->push_back(t);
  }
  return Status();
}

}  // namespace

ReadPool::ReadPool(std::string url, std::size_t threads, std::size_t queue_max)
    : url_(std::move(url)), queue_max_(queue_max) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
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
        (void)pg::exec(conn.get(), "SET statement_timeout = 10000");
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
    Status s = pg::exec_params(
        conn,
        std::string("SELECT (SELECT coalesce(sum(amount_effective), 0) FROM transfers WHERE result "
                    "= 0 AND ") +
            posting +
            " AND credit_account_id = $1 AND ts < $2), (SELECT coalesce(sum(amount_effective), 0) "
            "FROM transfers WHERE result = 0 AND " +
            posting + " AND debit_account_id = $1 AND ts < $2)",
        {id, text(q.from_ts)}, &sums);
    if (!s.ok()) return done(s, statement);
    const __int128 credits = static_cast<__int128>(std::stoll(PQgetvalue(sums.get(), 0, 0)));
    const __int128 debits = static_cast<__int128>(std::stoll(PQgetvalue(sums.get(), 0, 1)));
    statement.opening = q.credit_normal ? debits - credits : credits - debits;
    const std::string columns = copy::transfer_columns;
    s = read_transfers(
        conn,
        "SELECT " + columns + " FROM transfers WHERE result = 0 AND " + posting +
            " AND (debit_account_id = $1 OR credit_account_id = $1) AND ts >= $2 AND ts < $3 "
            "ORDER BY ts LIMIT $4",
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
      for (int r = 0; r < PQntuples(rows.get()); ++r) {
        list.ids.push_back(AccountId{parse_uuid(PQgetvalue(rows.get(), r, 0)).value_or(Uint128{})});
      }
      if (list.ids.size() > q.limit) {
        list.ids.resize(q.limit);
        list.more = true;
      }
    }
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
        "actor_name, action, target, status, detail FROM audit_log WHERE id < $1 AND ($2 = '' "
        "OR actor = $2) ORDER BY id DESC LIMIT $3",
        {std::to_string(q.before_id), q.actor, std::to_string(q.limit + 1)}, &rows);
    if (s.ok()) {
      for (int r = 0; r < PQntuples(rows.get()); ++r) {
        const auto v = [&](int c) { return std::string(PQgetvalue(rows.get(), r, c)); };
        page.entries.push_back(
            AuditEntry{std::stoll(v(0)), v(1), v(2), v(3), v(4), v(5), std::stoi(v(6)), v(7)});
      }
      if (page.entries.size() > q.limit) {
        page.entries.resize(q.limit);
        page.more = true;
      }
    }
    done(s, std::move(page));
  });
}

}  // namespace ledger
