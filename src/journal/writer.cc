#include "journal/writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "journal/copy_codec.h"
#include "journal/direct_debit_sql.h"
#include "journal/monitor_sql.h"
#include "journal/spike_sql.h"

namespace ledger {
namespace {

// ledger_fence (migrations/0015_lease.sql, 0018) and the SQLSTATE it raises when the lease moved
// on.
constexpr std::string_view fence_sqlstate = "LF001";
std::string fence_sql(std::int64_t epoch) {
  std::string sql = "SELECT ledger_fence(";
  sql.append(std::to_string(epoch)).append(")");
  return sql;
}

const std::string fold_accounts_sql =
    "INSERT INTO accounts (id, holder_id, currency, kind, flags, overdraft_limit, "
    "overdraft_limit_created, reference, status, created_ts, updated_ts) "
    "SELECT DISTINCT ON (account_id) account_id, holder_id, currency, kind, flags, "
    "overdraft_limit, overdraft_limit_created, reference, status, created_ts, ts "
    "FROM account_events WHERE ts BETWEEN $1 AND $2 ORDER BY account_id, ts DESC "
    "ON CONFLICT (id) DO UPDATE SET overdraft_limit = EXCLUDED.overdraft_limit, "
    "flags = EXCLUDED.flags, status = EXCLUDED.status, updated_ts = EXCLUDED.updated_ts";

const std::string fold_cards_sql =
    "INSERT INTO cards (id, account_id, pan_hash, bin, last4, expiry_yymm, status, "
    "per_authorization_limit, daily_limit, monthly_limit, daily_count_limit, channels, "
    "blocked_mccs, created_ts, updated_ts) "
    "SELECT DISTINCT ON (card_id) card_id, account_id, pan_hash, bin, last4, expiry_yymm, status, "
    "per_authorization_limit, daily_limit, monthly_limit, daily_count_limit, channels, "
    "blocked_mccs, created_ts, ts FROM card_events WHERE ts BETWEEN $1 AND $2 "
    "ORDER BY card_id, ts DESC "
    "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, "
    "per_authorization_limit = EXCLUDED.per_authorization_limit, "
    "daily_limit = EXCLUDED.daily_limit, monthly_limit = EXCLUDED.monthly_limit, "
    "daily_count_limit = EXCLUDED.daily_count_limit, channels = EXCLUDED.channels, "
    "blocked_mccs = EXCLUDED.blocked_mccs, updated_ts = EXCLUDED.updated_ts";

}  // namespace

Status JournalWriter::connect() {
  conn_.reset();
  seq_known_ = false;
  return pg::connect(url_, &conn_);
}

bool JournalWriter::connected() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

void JournalWriter::add(const JournalRecord& record) {
  if (record.kind == RecordKind::card_message) {  // part of its transfer's event, not one
    if (messages_ == 0) copy::begin(&message_rows_);
    copy::append_card_message(record.value.card_message, &message_rows_);
    ++messages_;
    return;
  }
  if (is_event(record)) events_.push_back(event_key_of(record));
  if (record.kind == RecordKind::monitor) {
    monitor_sql::append_row(record.value.monitor, &monitor_rows_);
    ++monitors_;
  } else if (record.kind == RecordKind::direct_debit) {
    direct_debit_sql::append_row(record.value.direct_debit, &debit_rows_);
    ++debits_;
  } else if (record.kind == RecordKind::spike) {
    spike_sql::append_row(record.value.spike, &spike_rows_);
    ++spikes_;
  } else if (record.kind == RecordKind::card) {
    if (cards_ == 0) copy::begin(&card_rows_);
    const std::uint64_t ts = record.value.card.timestamp;
    card_ts_min_ = cards_ == 0 ? ts : std::min(card_ts_min_, ts);
    card_ts_max_ = cards_ == 0 ? ts : std::max(card_ts_max_, ts);
    copy::append_card(record.value.card, &card_rows_);
    ++cards_;
  } else if (record.kind == RecordKind::account) {
    if (accounts_ == 0) copy::begin(&account_rows_);
    const std::uint64_t ts = record.value.account.timestamp;
    account_ts_min_ = accounts_ == 0 ? ts : std::min(account_ts_min_, ts);
    account_ts_max_ = accounts_ == 0 ? ts : std::max(account_ts_max_, ts);
    copy::append_account(record.value.account, &account_rows_);
    ++accounts_;
  } else {
    if (transfers_ == 0) copy::begin(&transfer_rows_);
    copy::append_transfer(record.value.transfer, &transfer_rows_);
    ++transfers_;
  }
}

void JournalWriter::reset_buffers() {
  account_rows_.clear();
  transfer_rows_.clear();
  card_rows_.clear();
  message_rows_.clear();
  monitor_rows_.clear();
  debit_rows_.clear();
  spike_rows_.clear();
  accounts_ = transfers_ = cards_ = messages_ = monitors_ = spikes_ = debits_ = 0;
  events_.clear();
}

// The whole group leaves as one simple-protocol query string: "BEGIN; COPY a ...; SELECT or
// INSERT folding a; COPY b ...; ...; COMMIT". PostgreSQL runs its statements in order and asks
// for each COPY's rows when it reaches it (CopyInResponse), so a group costs one round trip per
// COPY in all, not a round trip for BEGIN, for each COPY's start and end, for each fold and for
// COMMIT (8 for a batch of authorizations before; 3 now). An error stops the string there:
// nothing after it runs, COMMIT included, and the transaction is rolled back. COMMIT can run
// only once the last COPY's rows are complete, so the outcome is unknown only from the moment
// that last CopyDone was handed to the connection.
CommitOutcome JournalWriter::flush(Status* error) {
  if (pending_records() == 0) return CommitOutcome::committed;
  if (!connected()) {
    reset_buffers();
    *error = Status::error("not connected to PostgreSQL");
    return CommitOutcome::rolled_back;
  }
  std::string sql;
  sql.reserve(1024);
  if (!seq_known_) {
    // Only the lease holder writes, so it reads where the feed ends once and numbers its
    // events from there. After a connect or a failed flush only: a round trip of its own. The
    // fence at the end of this transaction makes the numbers good: a deposed ledgerd's events
    // never commit, and a new holder ends the sessions of the old one before it journals
    // (end_deposed_sessions), so none of theirs is left uncommitted to wait for.
    Status status = pg::exec(conn_.get(), "BEGIN");
    pg::Result last;
    if (status.ok()) {
      status = pg::exec_params(conn_.get(), "SELECT coalesce(max(seq), 0) FROM events", {}, &last);
    }
    std::int64_t value = 0;
    if (status.ok() && !pg::number(last.get(), 0, 0, &value)) {
      status = Status::error("events: max(seq) does not decode");
    }
    if (!status.ok()) {
      reset_buffers();
      *error = status;
      if (connected()) (void)pg::exec(conn_.get(), "ROLLBACK");
      return CommitOutcome::rolled_back;
    }
    next_seq_ = static_cast<std::uint64_t>(value) + 1;
  } else {
    sql.append("BEGIN;");
  }
  std::vector<const std::string*> copies;  // the rows of each COPY, in the string's order
  const auto copy_statement = [&](const char* table, std::string_view columns, bool binary,
                                  std::string* rows) {
    if (binary) copy::end(rows);
    sql.append("COPY ").append(table).append(" (").append(columns).append(") FROM STDIN");
    if (binary) sql.append(" (FORMAT binary)");
    sql.append(";");
    copies.push_back(rows);
  };
  const auto fold_statement = [&](const std::string& fold, std::uint64_t from, std::uint64_t to) {
    // The two bounds are the engine's own timestamps (not outside input), inlined as literals.
    std::string statement = fold;
    const auto replace = [&statement](std::string_view marker, std::uint64_t value) {
      statement.replace(statement.find(marker), marker.size(),
                        std::to_string(static_cast<std::int64_t>(value)));
    };
    replace("$1", from);
    replace("$2", to);
    sql.append(statement).append(";");
  };
  if (accounts_ > 0) {
    copy_statement("account_events", copy::account_event_columns, true, &account_rows_);
    fold_statement(fold_accounts_sql, account_ts_min_, account_ts_max_);
  }
  if (cards_ > 0) {  // after accounts: a card names its account
    copy_statement("card_events", copy::card_event_columns, true, &card_rows_);
    fold_statement(fold_cards_sql, card_ts_min_, card_ts_max_);
  }
  if (transfers_ > 0) copy_statement("transfers", copy::transfer_columns, true, &transfer_rows_);
  if (messages_ > 0) {
    copy_statement("card_messages", copy::card_message_columns, true, &message_rows_);
  }
  if (monitors_ > 0) copy_statement("monitor_events", monitor_sql::columns, false, &monitor_rows_);
  if (debits_ > 0) {
    copy_statement("direct_debit_events", direct_debit_sql::columns, false, &debit_rows_);
  }
  if (spikes_ > 0) copy_statement("spike_events", spike_sql::event_columns, false, &spike_rows_);
  const std::size_t events = events_.size();
  std::string event_rows;
  if (events > 0) {
    copy::begin(&event_rows);
    for (std::size_t i = 0; i < events; ++i) {
      copy::append_event(next_seq_ + i, events_[i], fence_epoch_, &event_rows);
    }
    copy_statement("events", copy::event_columns, true, &event_rows);
  }
  // The fence last, in the same string as COMMIT: PostgreSQL runs both as soon as the last
  // COPY's rows are in, so the lease row is held only while the commit itself runs (never
  // while waiting for this process: a stopped or cut-off ledgerd cannot hold up a takeover),
  // and a takeover that got in first makes it fail, so nothing of a deposed ledgerd commits.
  if (fence_epoch_ > 0) sql.append(fence_sql(fence_epoch_)).append(";");
  sql.append("COMMIT");
  seq_known_ = false;  // until COMMIT is known to have succeeded

  Status status;
  bool fenced = false;          // the fence refused: another ledgerd holds the lease
  bool commit_may_run = false;  // the last CopyDone (or, with no COPY, the string) was sent
  bool committed = false;
  if (PQsendQuery(conn_.get(), sql.c_str()) != 1) {
    status = Status::error(pg::last_error(conn_.get()));
  } else {
    commit_may_run = copies.empty();
  }
  std::size_t next_copy = 0;
  while (status.ok() || connected()) {
    PGresult* raw = PQgetResult(conn_.get());
    if (raw == nullptr) break;
    pg::Result result(raw);
    const ExecStatusType state = PQresultStatus(raw);
    if (state == PGRES_COPY_IN) {
      if (next_copy == copies.size() || !status.ok()) {  // not ours to feed: end it failing
        (void)PQputCopyEnd(conn_.get(), "unexpected COPY");
        if (status.ok()) status = Status::error("journal: PostgreSQL asked for an unknown COPY");
        continue;
      }
      const std::string& data = *copies[next_copy++];
      constexpr std::size_t chunk_bytes = 1 << 20;
      bool sent = true;
      for (std::size_t offset = 0; sent && offset < data.size(); offset += chunk_bytes) {
        const auto n = static_cast<int>(std::min(chunk_bytes, data.size() - offset));
        sent = PQputCopyData(conn_.get(), data.data() + offset, n) == 1;
      }
      if (sent && next_copy == copies.size() && fail_before_commit_) {
        fail_before_commit_ = false;
        conn_.reset();  // the server rolls back; to us the outcome looks unknown
        reset_buffers();
        *error = Status::error("injected failure: connection lost during COMMIT");
        return CommitOutcome::unknown;
      }
      if (!sent || PQputCopyEnd(conn_.get(), nullptr) != 1) {
        status = Status::error(pg::last_error(conn_.get()));
        break;
      }
      if (next_copy == copies.size()) commit_may_run = true;
    } else if (state == PGRES_COMMAND_OK) {
      committed = std::string_view(PQcmdStatus(raw)) == "COMMIT";
    } else if (state == PGRES_TUPLES_OK) {
      // the fence's SELECT: it passed
    } else if (status.ok()) {
      status = Status::error(pg::one_line(PQresultErrorMessage(raw)));
      const char* sqlstate = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
      fenced = sqlstate != nullptr && std::string_view(sqlstate) == fence_sqlstate;
    }
  }
  reset_buffers();
  if (status.ok() && committed) {
    next_seq_ += events;
    seq_known_ = true;
    return CommitOutcome::committed;
  }
  if (status.ok()) status = Status::error(pg::last_error(conn_.get()));
  *error = status;
  if (error->message().empty()) *error = Status::error("COMMIT did not complete");
  // An answered error stops the string before COMMIT (or is COMMIT's own): not committed.
  // A connection lost once COMMIT could run leaves the outcome unknown.
  if (connected() && PQtransactionStatus(conn_.get()) != PQTRANS_UNKNOWN) {
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      (void)pg::exec(conn_.get(), "ROLLBACK");
    }
    return fenced ? CommitOutcome::fenced : CommitOutcome::rolled_back;
  }
  return commit_may_run ? CommitOutcome::unknown : CommitOutcome::rolled_back;
}

Status JournalWriter::contains_timestamp(std::uint64_t ts, bool* found) {
  pg::Result rows;
  const std::string value = std::to_string(static_cast<std::int64_t>(ts));
  if (Status s = pg::exec_params(conn_.get(),
                                 "SELECT (SELECT count(*) FROM transfers WHERE ts = $1) + "
                                 "(SELECT count(*) FROM account_events WHERE ts = $1) + "
                                 "(SELECT count(*) FROM card_events WHERE ts = $1) + "
                                 "(SELECT count(*) FROM monitor_events WHERE ts = $1) + "
                                 "(SELECT count(*) FROM direct_debit_events WHERE ts = $1) + "
                                 "(SELECT count(*) FROM spike_events WHERE ts = $1)",
                                 {value}, &rows);
      !s.ok()) {
    return s;
  }
  *found = std::string_view(PQgetvalue(rows.get(), 0, 0)) != "0";
  return Status();
}

}  // namespace ledger
