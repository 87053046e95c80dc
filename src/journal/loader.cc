#include "journal/loader.h"

#include "journal/copy_codec.h"
#include "journal/direct_debit_sql.h"
#include "journal/monitor_sql.h"
#include "journal/spike_sql.h"

namespace ledger {
namespace {

// Runs COPY (query) TO STDOUT in binary and calls on_row with a reader positioned at each row.
template <typename OnRow>
Status copy_out(PGconn* conn, const std::string& query, OnRow&& on_row) {
  pg::Result start(PQexec(conn, ("COPY (" + query + ") TO STDOUT (FORMAT binary)").c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_OUT) {
    return Status::error("cannot read the journal: " + pg::last_error(conn));
  }
  copy::Reader reader;
  bool first = true;
  Status status;
  for (;;) {
    char* buffer = nullptr;
    const int length = PQgetCopyData(conn, &buffer, 0);
    if (length < 0) break;  // -1 done, -2 error (reported by PQgetResult below)
    const std::string_view message(buffer, static_cast<std::size_t>(length));
    if (first) {
      status = reader.begin(message);
      first = false;
    } else {
      reader.feed(message);
    }
    if (status.ok()) status = on_row(reader);
    PQfreemem(buffer);
  }
  while (PGresult* raw = PQgetResult(conn)) {
    pg::Result result(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK && status.ok()) {
      status = Status::error("cannot read the journal: " + pg::one_line(PQresultErrorMessage(raw)));
    }
  }
  return status;
}

}  // namespace

Status load_journal(PGconn* conn, const std::function<void(const JournalRecord&)>& visit,
                    LoadStats* stats, std::uint64_t after_ts) {
  *stats = LoadStats{};
  const std::string after = std::to_string(static_cast<std::int64_t>(after_ts));
  const std::string updated = after_ts > 0 ? " WHERE updated_ts > " + after : "";
  JournalRecord record;
  record.kind = RecordKind::account;
  Status status = copy_out(conn,
                           "SELECT " + std::string(copy::account_columns) + " FROM accounts" +
                               updated + " ORDER BY created_ts",
                           [&](copy::Reader& reader) {
                             Status error;
                             while (reader.next_account(&record.value.account, &error)) {
                               visit(record);
                               ++stats->accounts;
                             }
                             return error;
                           });
  if (!status.ok()) return status;
  record.kind = RecordKind::card;
  status = copy_out(conn,
                    "SELECT " + std::string(copy::card_columns) + " FROM cards" + updated +
                        " ORDER BY created_ts",
                    [&](copy::Reader& reader) {
                      Status error;
                      while (reader.next_card(&record.value.card, &error)) {
                        visit(record);
                        ++stats->cards;
                      }
                      return error;
                    });
  if (!status.ok()) return status;
  record.kind = RecordKind::transfer;
  status = copy_out(conn,
                    "SELECT " + std::string(copy::transfer_columns) + " FROM transfers" +
                        (after_ts > 0 ? " WHERE ts > " + after : "") + " ORDER BY ts",
                    [&](copy::Reader& reader) {
                      Status error;
                      while (reader.next_transfer(&record.value.transfer, &error)) {
                        visit(record);
                        ++stats->transfers;
                      }
                      return error;
                    });
  if (!status.ok()) return status;
  // Last: each monitor's latest journaled state (its crossings were journaled with the
  // transfers that caused them, so it matches the balances just rebuilt).
  record.kind = RecordKind::monitor;
  status = monitor_sql::load_latest(
      conn,
      [&](const BalanceMonitor& monitor) {
        record.value.monitor = monitor;
        visit(record);
        ++stats->monitors;
      },
      after_ts);
  if (!status.ok()) return status;
  // Likewise each collection's latest state (its postings are among the transfers).
  record.kind = RecordKind::direct_debit;
  return direct_debit_sql::load_latest(
      conn,
      [&](const DirectDebit& dd) {
        record.value.direct_debit = dd;
        visit(record);
        ++stats->direct_debits;
      },
      after_ts);
}

Status load_records_at(PGconn* conn, RecordKind kind, const std::vector<std::uint64_t>& timestamps,
                       const std::function<void(const JournalRecord&)>& visit) {
  if (timestamps.empty()) return Status();
  std::string list;
  for (const std::uint64_t ts : timestamps) {
    if (!list.empty()) list += ',';
    list += std::to_string(static_cast<std::int64_t>(ts));
  }
  JournalRecord record;
  record.kind = kind;
  const std::string where = " WHERE ts IN (" + list + ") ORDER BY ts";
  switch (kind) {
    case RecordKind::account:
      return copy_out(
          conn,
          "SELECT " + std::string(copy::account_event_columns) + " FROM account_events" + where,
          [&](copy::Reader& reader) {
            Status error;
            while (reader.next_account(&record.value.account, &error)) visit(record);
            return error;
          });
    case RecordKind::card:
      return copy_out(
          conn, "SELECT " + std::string(copy::card_event_columns) + " FROM card_events" + where,
          [&](copy::Reader& reader) {
            Status error;
            while (reader.next_card(&record.value.card, &error)) visit(record);
            return error;
          });
    case RecordKind::card_message:  // read by the event reader itself
      return Status();
    case RecordKind::spike:
      return spike_sql::load_at(conn, timestamps, [&](const SpendingSpike& spike) {
        record.value.spike = spike;
        visit(record);
      });
    case RecordKind::direct_debit:
      return direct_debit_sql::load_at(conn, timestamps, [&](const DirectDebit& dd) {
        record.value.direct_debit = dd;
        visit(record);
      });
    case RecordKind::monitor:
      return monitor_sql::load_at(conn, timestamps, [&](const BalanceMonitor& monitor) {
        record.value.monitor = monitor;
        visit(record);
      });
    case RecordKind::transfer:
      break;
  }
  return copy_out(conn, "SELECT " + std::string(copy::transfer_columns) + " FROM transfers" + where,
                  [&](copy::Reader& reader) {
                    Status error;
                    while (reader.next_transfer(&record.value.transfer, &error)) visit(record);
                    return error;
                  });
}

}  // namespace ledger
