// The plain-PostgreSQL ledger the bench compares with: what a team without ledgerd would
// build. A balance row per account with a held amount, a table of holds and a table of
// postings; per request one transaction on a pooled connection.
#include <libpq-fe.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "loadgen.h"

namespace ledger::bench {

bool baseline_setup(const Options& o) {
  PGconn* conn = PQconnectdb(o.baseline.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    PQfinish(conn);
    return false;
  }
  const std::string sql =
      "DROP TABLE IF EXISTS bl_postings, bl_holds, bl_accounts;"
      "CREATE TABLE bl_accounts (id integer PRIMARY KEY, balance bigint NOT NULL, held bigint "
      "NOT NULL);"
      "CREATE TABLE bl_holds (id bigserial PRIMARY KEY, account integer NOT NULL REFERENCES "
      "bl_accounts, amount bigint NOT NULL, state text NOT NULL DEFAULT 'held', created_at "
      "timestamptz NOT NULL DEFAULT now());"
      "CREATE TABLE bl_postings (id bigserial PRIMARY KEY, account integer NOT NULL REFERENCES "
      "bl_accounts, amount bigint NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL "
      "DEFAULT now());"
      "CREATE INDEX ON bl_postings (account);"
      "INSERT INTO bl_accounts VALUES (0, 0, 0);"
      "INSERT INTO bl_accounts SELECT n, 100000000, 0 FROM generate_series(1, " +
      std::to_string(o.cards) + ") n;";
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(conn);
  return ok;
}

namespace {

struct BaselineHold {
  std::string id;
  int amount;
};

class Baseline {
 public:
  Baseline(const Options& o, Stats& stats) : o_(o), stats_(stats) {}

  void run(const std::vector<Planned>& plan) {
    std::vector<std::thread> workers;
    for (int w = 0; w < o_.pool; ++w) workers.emplace_back([this] { work(); });
    for (const Planned& p : plan) {  // the dispatcher keeps the schedule
      const auto intended =
          stats_.start + std::chrono::nanoseconds(static_cast<std::int64_t>(p.offset * 1e9));
      std::this_thread::sleep_until(intended);
      {
        std::lock_guard lock(mutex_);
        queue_.push_back({intended, p});
        ++stats_.sent;
      }
      ready_.notify_one();
    }
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers) worker.join();
  }

 private:
  struct Job {
    Clock::time_point intended;
    Planned p;
  };

  // Runs the statements of one request; returns the code to report ("00", "51", "96", ...).
  std::string execute(PGconn* conn, Kind* kind, const Planned& p) {
    const auto exec = [&](const char* sql, std::vector<std::string> params) {
      std::vector<const char*> values;
      for (const auto& v : params) values.push_back(v.c_str());
      return PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, 0);
    };
    const auto ok = [](PGresult* r) {
      const bool good =
          PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
      return good;
    };
    const std::string account = std::to_string(p.card);
    BaselineHold hold;
    if (*kind == Kind::capture || *kind == Kind::reversal) {
      std::lock_guard lock(mutex_);
      if (holds_.empty()) {
        *kind = Kind::auth;
      } else {
        hold = holds_.front();
        holds_.pop_front();
      }
    }
    if (*kind == Kind::inquiry) {
      PGresult* r = exec("SELECT balance, held FROM bl_accounts WHERE id = $1::int", {account});
      const bool good = ok(r) && PQntuples(r) == 1;
      PQclear(r);
      return good ? "00" : "96";
    }
    PQclear(PQexec(conn, "BEGIN"));
    std::string code = "00";
    bool failed = false;
    const auto step = [&](PGresult* r) {
      failed = failed || !ok(r);
      return r;
    };
    if (*kind == Kind::auth) {
      const std::string amount = std::to_string(p.amount);
      PGresult* u = step(exec(
          "UPDATE bl_accounts SET held = held + $2::bigint WHERE id = $1::int AND balance - held "
          ">= $2::bigint",
          {account, amount}));
      const bool approved = !failed && std::string(PQcmdTuples(u)) == "1";
      PQclear(u);
      if (approved) {
        PGresult* i = step(
            exec("INSERT INTO bl_holds (account, amount) VALUES ($1::int, $2::bigint) RETURNING id",
                 {account, amount}));
        if (!failed) hold = {PQgetvalue(i, 0, 0), p.amount};
        PQclear(i);
      } else {
        code = "51";
      }
    } else if (*kind == Kind::capture || *kind == Kind::reversal) {
      const bool capture = *kind == Kind::capture;
      PGresult* h = step(
          exec(capture ? "UPDATE bl_holds SET state = 'captured' WHERE id = $1::bigint AND state "
                         "= 'held' RETURNING account, amount"
                       : "UPDATE bl_holds SET state = 'reversed' WHERE id = $1::bigint AND state "
                         "= 'held' RETURNING account, amount",
               {hold.id}));
      if (!failed && PQntuples(h) == 1) {
        const std::string held_account = PQgetvalue(h, 0, 0);
        const std::string amount = PQgetvalue(h, 0, 1);
        if (capture) {
          PQclear(
              step(exec("UPDATE bl_accounts SET balance = balance - $2::bigint, held = held - "
                        "$2::bigint WHERE id = $1::int",
                        {held_account, amount})));
          PQclear(step(exec("UPDATE bl_accounts SET balance = balance + $1::bigint WHERE id = 0",
                            {amount})));
          PQclear(
              step(exec("INSERT INTO bl_postings (account, amount, kind) VALUES ($1::int, "
                        "-$2::bigint, 'capture'), (0, $2::bigint, 'capture')",
                        {held_account, amount})));
        } else {
          PQclear(step(exec("UPDATE bl_accounts SET held = held - $2::bigint WHERE id = $1::int",
                            {held_account, amount})));
        }
      }
      PQclear(h);
    } else if (*kind == Kind::instant) {  // an incoming payment: settlement -> the card's account
      const std::string amount = std::to_string(p.amount);
      PQclear(step(exec("UPDATE bl_accounts SET balance = balance + $2::bigint WHERE id = $1::int",
                        {account, amount})));
      PQclear(step(
          exec("UPDATE bl_accounts SET balance = balance - $1::bigint WHERE id = 0", {amount})));
      PQclear(
          step(exec("INSERT INTO bl_postings (account, amount, kind) VALUES ($1::int, "
                    "$2::bigint, 'instant'), (0, -$2::bigint, 'instant')",
                    {account, amount})));
      code = "ACCP";
    } else {  // transfer: lock both rows in id order (no deadlocks), check the debit's balance
      const std::string debit = account;
      const std::string credit = std::to_string(p.other_card);
      const std::string amount = std::to_string(p.amount);
      const bool debit_first = p.card < p.other_card;
      bool moved = true;
      for (int k = 0; k < 2 && !failed && moved; ++k) {
        const bool is_debit = (k == 0) == debit_first;
        PGresult* u =
            step(exec(is_debit ? "UPDATE bl_accounts SET balance = balance - $2::bigint "
                                 "WHERE id = $1::int AND balance - held >= $2::bigint"
                               : "UPDATE bl_accounts SET balance = balance + $2::bigint "
                                 "WHERE id = $1::int",
                      is_debit ? std::vector{debit, amount} : std::vector{credit, amount}));
        moved = !failed && std::string(PQcmdTuples(u)) == "1";
        PQclear(u);
      }
      if (!failed && moved) {
        PQclear(
            step(exec("INSERT INTO bl_postings (account, amount, kind) VALUES ($1::int, "
                      "-$3::bigint, 'transfer'), ($2::int, $3::bigint, 'transfer')",
                      {debit, credit, amount})));
      } else if (!failed) {
        code = "422";
      }
    }
    if (failed || code == "422") {
      PQclear(PQexec(conn, "ROLLBACK"));
      return failed ? "96" : code;
    }
    PGresult* commit = PQexec(conn, "COMMIT");
    const bool committed = PQresultStatus(commit) == PGRES_COMMAND_OK;
    PQclear(commit);
    if (!committed) return "96";
    if (*kind == Kind::auth && code == "00") {
      std::lock_guard lock(mutex_);
      holds_.push_back(hold);
    }
    return *kind == Kind::transfer ? "201" : code;
  }

  void work() {
    PGconn* conn = PQconnectdb(o_.baseline.c_str());
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return done_ || !queue_.empty(); });
        if (queue_.empty()) break;
        job = queue_.front();
        queue_.pop_front();
      }
      Kind kind = job.p.kind;
      const std::string code = PQstatus(conn) == CONNECTION_OK ? execute(conn, &kind, job.p) : "96";
      std::lock_guard lock(mutex_);
      ++stats_.sent_by_kind[static_cast<std::size_t>(kind)];
      stats_.answer(kind, job.intended, Clock::now(), code, o_.deadline_ms);
    }
    PQfinish(conn);
  }

  const Options& o_;
  Stats& stats_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  std::deque<BaselineHold> holds_;  // approved holds not yet captured or reversed
  bool done_ = false;
};

}  // namespace

Stats run_baseline(const Options& o, const std::vector<Planned>& plan, double seconds,
                   bool series) {
  Stats stats;
  if (series) stats.size_series(static_cast<std::size_t>(seconds) + 1);
  stats.start = Clock::now() + std::chrono::milliseconds(200);
  auto cpu_window = start_cpu_window(o, plan, &stats);
  Baseline(o, stats).run(plan);
  finish_cpu_window(std::move(cpu_window), &stats);
  return stats;
}

}  // namespace ledger::bench
