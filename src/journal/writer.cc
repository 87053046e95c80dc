#include "journal/writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "journal/copy_codec.h"
#include "journal/direct_debit_sql.h"
#include "journal/monitor_sql.h"
#include "journal/spike_sql.h"

namespace ledger {
namespace {

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

Status JournalWriter::copy_in(const char* sql, const std::string& data) {
  pg::Result start(PQexec(conn_.get(), sql));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
    return Status::error(pg::last_error(conn_.get()));
  }
  constexpr std::size_t chunk_bytes = 1 << 20;
  for (std::size_t offset = 0; offset < data.size(); offset += chunk_bytes) {
    const auto n = static_cast<int>(std::min(chunk_bytes, data.size() - offset));
    if (PQputCopyData(conn_.get(), data.data() + offset, n) != 1) {
      return Status::error(pg::last_error(conn_.get()));
    }
  }
  if (PQputCopyEnd(conn_.get(), nullptr) != 1) return Status::error(pg::last_error(conn_.get()));
  Status status;
  while (PGresult* raw = PQgetResult(conn_.get())) {
    pg::Result result(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && status.ok()) {
      status = Status::error(pg::one_line(PQresultErrorMessage(raw)));
    }
  }
  return status;
}

CommitOutcome JournalWriter::flush(Status* error) {
  if (pending_records() == 0) return CommitOutcome::committed;
  if (!connected()) {
    reset_buffers();
    *error = Status::error("not connected to PostgreSQL");
    return CommitOutcome::rolled_back;
  }
  Status status = pg::exec(conn_.get(), "BEGIN");
  if (status.ok() && accounts_ > 0) {
    copy::end(&account_rows_);
    status = copy_in(("COPY account_events (" + std::string(copy::account_event_columns) +
                      ") FROM STDIN (FORMAT binary)")
                         .c_str(),
                     account_rows_);
    if (status.ok()) {
      status = pg::exec_params(conn_.get(), fold_accounts_sql,
                               {std::to_string(static_cast<std::int64_t>(account_ts_min_)),
                                std::to_string(static_cast<std::int64_t>(account_ts_max_))},
                               nullptr);
    }
  }
  if (status.ok() && cards_ > 0) {  // after accounts: a card names its account
    copy::end(&card_rows_);
    status = copy_in(("COPY card_events (" + std::string(copy::card_event_columns) +
                      ") FROM STDIN (FORMAT binary)")
                         .c_str(),
                     card_rows_);
    if (status.ok()) {
      status = pg::exec_params(conn_.get(), fold_cards_sql,
                               {std::to_string(static_cast<std::int64_t>(card_ts_min_)),
                                std::to_string(static_cast<std::int64_t>(card_ts_max_))},
                               nullptr);
    }
  }
  if (status.ok() && transfers_ > 0) {
    copy::end(&transfer_rows_);
    status = copy_in(
        ("COPY transfers (" + std::string(copy::transfer_columns) + ") FROM STDIN (FORMAT binary)")
            .c_str(),
        transfer_rows_);
  }
  if (status.ok() && messages_ > 0) {
    copy::end(&message_rows_);
    status = copy_in(("COPY card_messages (" + std::string(copy::card_message_columns) +
                      ") FROM STDIN (FORMAT binary)")
                         .c_str(),
                     message_rows_);
  }
  if (status.ok() && monitors_ > 0) {
    status = copy_in(
        ("COPY monitor_events (" + std::string(monitor_sql::columns) + ") FROM STDIN").c_str(),
        monitor_rows_);
  }
  if (status.ok() && debits_ > 0) {
    status = copy_in(
        ("COPY direct_debit_events (" + std::string(direct_debit_sql::columns) + ") FROM STDIN")
            .c_str(),
        debit_rows_);
  }
  if (status.ok() && spikes_ > 0) {
    status = copy_in(
        ("COPY spike_events (" + std::string(spike_sql::event_columns) + ") FROM STDIN").c_str(),
        spike_rows_);
  }
  if (status.ok() && !seq_known_) {
    // Inside the transaction: the only writer reads where the feed ends (fenced writers come
    // with issue 18's lease; until then one ledgerd per database).
    pg::Result last;
    status = pg::exec_params(conn_.get(), "SELECT coalesce(max(seq), 0) FROM events", {}, &last);
    std::int64_t value = 0;
    if (status.ok() && !pg::number(last.get(), 0, 0, &value)) {
      status = Status::error("events: max(seq) does not decode");
    }
    next_seq_ = static_cast<std::uint64_t>(value) + 1;
  }
  const std::size_t events = events_.size();
  if (status.ok()) {
    std::string rows;
    copy::begin(&rows);
    for (std::size_t i = 0; i < events; ++i) copy::append_event(next_seq_ + i, events_[i], &rows);
    copy::end(&rows);
    status = copy_in(
        ("COPY events (" + std::string(copy::event_columns) + ") FROM STDIN (FORMAT binary)")
            .c_str(),
        rows);
  }
  reset_buffers();
  seq_known_ = false;  // until COMMIT is known to have succeeded
  if (!status.ok()) {
    // No COMMIT was sent: the transaction cannot commit, whatever happens to the connection.
    *error = status;
    if (connected()) (void)pg::exec(conn_.get(), "ROLLBACK");
    return CommitOutcome::rolled_back;
  }
  if (fail_before_commit_) {
    fail_before_commit_ = false;
    conn_.reset();  // the server rolls back; to us the outcome looks unknown
    *error = Status::error("injected failure: connection lost during COMMIT");
    return CommitOutcome::unknown;
  }
  pg::Result commit(PQexec(conn_.get(), "COMMIT"));
  if (commit && PQresultStatus(commit.get()) == PGRES_COMMAND_OK &&
      std::string_view(PQcmdStatus(commit.get())) == "COMMIT") {
    next_seq_ += events;
    seq_known_ = true;
    return CommitOutcome::committed;
  }
  *error = Status::error(commit ? pg::one_line(PQresultErrorMessage(commit.get()))
                                : pg::last_error(conn_.get()));
  if (error->message().empty()) *error = Status::error("COMMIT did not complete");
  // A COMMIT answered with an error (or ROLLBACK) did not commit; no answer at all is unknown.
  if (commit && connected()) return CommitOutcome::rolled_back;
  return CommitOutcome::unknown;
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
