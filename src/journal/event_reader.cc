#include "journal/event_reader.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "journal/loader.h"
#include "ledger/credit_transfers.h"
#include "ledger/ids.h"
#include "ledger/limits.h"

namespace ledger {
namespace {

std::string text(std::uint64_t v) {
  return std::to_string(static_cast<std::int64_t>(v > INT64_MAX ? INT64_MAX : v));
}

}  // namespace

Status read_events(PGconn* conn, const EventQuery& q, EventPage* out) {
  EventPage& page = *out;
  page = EventPage{};
  page.next_after = q.after;
  {
    const auto fail = [](Status s) { return s; };
    pg::Result last;
    if (Status s = pg::exec_params(conn, "SELECT coalesce(max(seq), 0) FROM events", {}, &last);
        !s.ok()) {
      return fail(s);
    }
    std::int64_t last_seq = 0;
    if (!pg::number(last.get(), 0, 0, &last_seq)) return fail(Status::error("events: bad max"));
    page.last_seq = static_cast<std::uint64_t>(last_seq);
    if (page.last_seq <= q.after) return Status();
    const std::uint64_t scan_end =
        std::min<std::uint64_t>(page.last_seq, q.after + limits::events_scan_max);
    std::string sql =
        "SELECT seq, type, ts, a_posted_after, a_available_after, b_posted_after, "
        "b_available_after FROM events e WHERE seq > $1 AND seq <= $2";
    std::vector<std::string> params{text(q.after), text(scan_end)};
    if (!q.seqs.empty()) {  // exactly these (the dispatcher's due deliveries)
      sql =
          "SELECT seq, type, ts, a_posted_after, a_available_after, b_posted_after, "
          "b_available_after FROM events e WHERE seq IN (";
      for (std::size_t i = 0; i < q.seqs.size(); ++i) {
        if (i > 0) sql.push_back(',');
        sql.append(text(q.seqs[i]));
      }
      sql.append(") AND $1::bigint >= 0 AND $2::bigint >= 0");
    }
    if (q.types != 0 && q.seqs.empty()) {
      std::string list;
      for (std::size_t t = 1; t <= event_type_count; ++t) {
        if ((q.types & (std::uint64_t{1} << t)) == 0) continue;
        if (!list.empty()) list += ',';
        list += std::to_string(t);
      }
      sql.append(" AND type IN (").append(list).append(")");
    }
    const auto parameter = [&params](std::string value) {
      params.push_back(std::move(value));
      std::string name(1, '$');
      name.append(std::to_string(params.size()));
      return name;
    };
    if (!q.account.is_zero()) {
      const std::string n = parameter(format_uuid(q.account.value));
      sql.append(" AND (account_a = ").append(n).append(" OR account_b = ").append(n).append(")");
    }
    if (q.currency != 0 && q.seqs.empty()) {
      sql.append(" AND currency = ")
          .append(parameter(std::string(currency_alpha(Currency{q.currency}))));
    }
    if (q.amount_at_least && q.seqs.empty()) {
      sql.append(" AND amount >= ").append(parameter(std::to_string(*q.amount_at_least)));
    }
    if (q.amount_at_most && q.seqs.empty()) {
      sql.append(" AND amount <= ").append(parameter(std::to_string(*q.amount_at_most)));
    }
    if (!q.holder.is_zero()) {
      sql.append(" AND EXISTS (SELECT 1 FROM accounts a WHERE a.holder_id = ")
          .append(parameter(format_uuid(q.holder.value)))
          .append(" AND a.id IN (e.account_a, e.account_b))");
    }
    sql.append(" ORDER BY seq LIMIT ").append(parameter(std::to_string(q.limit)));
    pg::Result rows;
    if (Status s = pg::exec_params(conn, sql, params, &rows); !s.ok()) return fail(s);
    std::vector<std::uint64_t> at[7];            // timestamps by RecordKind
    std::map<std::uint64_t, std::size_t> index;  // ts -> position in page.events
    for (int r = 0; r < PQntuples(rows.get()); ++r) {
      std::int64_t seq = 0, type = 0, ts = 0;
      if (!pg::number(rows.get(), r, 0, &seq) || !pg::number(rows.get(), r, 1, &type) ||
          !pg::number(rows.get(), r, 2, &ts) || type < 1 ||
          type > static_cast<std::int64_t>(event_type_count)) {
        return fail(Status::error("the events table holds a row that does not decode"));
      }
      Event& event = page.events.emplace_back();
      event.seq = static_cast<std::uint64_t>(seq);
      event.type = static_cast<EventType>(type);
      // The balances right after the change (NULL: none recorded).
      for (const auto& [column, after] :
           {std::pair{3, &event.after_a}, std::pair{5, &event.after_b}}) {
        if (PQgetisnull(rows.get(), r, column) || PQgetisnull(rows.get(), r, column + 1)) {
          continue;
        }
        after->known = pg::number(rows.get(), r, column, &after->posted) &&
                       pg::number(rows.get(), r, column + 1, &after->available);
      }
      const RecordKind kind = record_kind_of(event.type);
      at[static_cast<std::size_t>(kind)].push_back(static_cast<std::uint64_t>(ts));
      index[static_cast<std::uint64_t>(ts)] = page.events.size() - 1;
    }
    std::size_t found = 0;
    for (const RecordKind kind :
         {RecordKind::account, RecordKind::card, RecordKind::transfer, RecordKind::monitor,
          RecordKind::spike, RecordKind::direct_debit}) {
      Status s = load_records_at(conn, kind, at[static_cast<std::size_t>(kind)],
                                 [&](const JournalRecord& record) {
                                   const std::uint64_t ts = event_key_of(record).ts;
                                   const auto it = index.find(ts);
                                   if (it == index.end()) return;
                                   page.events[it->second].record = record;
                                   ++found;
                                 });
      if (!s.ok()) return fail(s);
    }
    // Card events: their merchant, journaled beside the transfer (same ts).
    std::string card_ts;
    for (const Event& e : page.events) {
      if (e.type == EventType::card_authorization_approved ||
          e.type == EventType::card_authorization_declined ||
          e.type == EventType::card_completion || e.type == EventType::card_reversal ||
          (e.type >= EventType::card_cleared && e.type <= EventType::card_clearing_reversed)) {
        if (!card_ts.empty()) card_ts.push_back(',');
        card_ts.append(text(event_key_of(e.record).ts));
      }
    }
    if (!card_ts.empty()) {
      pg::Result merchants;
      if (Status s = pg::exec_params(conn,
                                     "SELECT ts, mcc, merchant_name, merchant_city, country, "
                                     "channel FROM card_messages WHERE ts IN (" +
                                         card_ts + ")",
                                     {}, &merchants);
          !s.ok()) {
        return fail(s);
      }
      for (int r = 0; r < PQntuples(merchants.get()); ++r) {
        std::int64_t ts = 0, mcc = 0, channel = 0;
        if (!pg::number(merchants.get(), r, 0, &ts) || !pg::number(merchants.get(), r, 1, &mcc) ||
            !pg::number(merchants.get(), r, 5, &channel)) {
          return fail(Status::error("card_messages holds a row that does not decode"));
        }
        const auto it = index.find(static_cast<std::uint64_t>(ts));
        if (it == index.end()) continue;
        Event& e = page.events[it->second];
        e.has_merchant = true;
        e.merchant.timestamp = static_cast<std::uint64_t>(ts);
        e.merchant.mcc = static_cast<std::uint16_t>(mcc);
        e.merchant.merchant.channel = static_cast<CardChannel>(channel);
        const auto copy = [&](int column, char* field, std::size_t n) {
          const std::string_view v(PQgetvalue(merchants.get(), r, column));
          std::memcpy(field, v.data(), std::min(n, v.size()));
        };
        copy(2, e.merchant.merchant.name, sizeof e.merchant.merchant.name);
        copy(3, e.merchant.merchant.city, sizeof e.merchant.merchant.city);
        copy(4, e.merchant.merchant.country, sizeof e.merchant.merchant.country);
      }
    }
    // Direct-debit events: the collection's references.
    std::string debit_ids;
    for (const Event& e : page.events) {
      if (e.record.kind != RecordKind::direct_debit) continue;
      if (!debit_ids.empty()) debit_ids.push_back(',');
      debit_ids.append("'").append(format_uuid(e.record.value.direct_debit.id.value)).append("'");
    }
    if (!debit_ids.empty()) {
      pg::Result refs;
      if (Status s = pg::exec_params(conn,
                                     "SELECT id, creditor_name, creditor_id, mandate_reference, "
                                     "end_to_end_id FROM direct_debits WHERE id IN (" +
                                         debit_ids + ")",
                                     {}, &refs);
          !s.ok()) {
        return fail(s);
      }
      std::map<Uint128, int> row_of;
      for (int r = 0; r < PQntuples(refs.get()); ++r) {
        if (const auto id = parse_uuid(PQgetvalue(refs.get(), r, 0))) row_of[*id] = r;
      }
      for (Event& e : page.events) {
        if (e.record.kind != RecordKind::direct_debit) continue;
        const auto it = row_of.find(e.record.value.direct_debit.id.value);
        if (it == row_of.end()) continue;
        e.creditor_name = PQgetvalue(refs.get(), it->second, 1);
        e.creditor_id = PQgetvalue(refs.get(), it->second, 2);
        e.mandate_reference = PQgetvalue(refs.get(), it->second, 3);
        e.end_to_end_id = PQgetvalue(refs.get(), it->second, 4);
      }
    }
    // Credit-transfer events: the other party, the reason and whether it is instant, from the
    // credit transfer the transfer's references name.
    std::string credit_ids;
    for (const Event& e : page.events) {
      if (e.record.kind != RecordKind::transfer ||
          !is_credit_transfer_code(e.record.value.transfer.code)) {
        continue;
      }
      if (!credit_ids.empty()) credit_ids.push_back(',');
      credit_ids.append(format_uuid(
          Uint128{e.record.value.transfer.reference_a, e.record.value.transfer.reference_b}));
    }
    if (!credit_ids.empty()) {
      pg::Result refs;
      if (Status s = pg::exec_params(conn,
                                     "SELECT id, direction, creditor_name, debtor_name, reason, "
                                     "instant FROM credit_transfers WHERE id = "
                                     "ANY(string_to_array($1, ',')::uuid[])",
                                     {credit_ids}, &refs);
          !s.ok()) {
        return fail(s);
      }
      std::map<Uint128, int> row_of;
      for (int r = 0; r < PQntuples(refs.get()); ++r) {
        if (const auto id = parse_uuid(PQgetvalue(refs.get(), r, 0))) row_of[*id] = r;
      }
      for (Event& e : page.events) {
        if (e.record.kind != RecordKind::transfer ||
            !is_credit_transfer_code(e.record.value.transfer.code)) {
          continue;
        }
        const auto it = row_of.find(
            Uint128{e.record.value.transfer.reference_a, e.record.value.transfer.reference_b});
        if (it == row_of.end()) continue;
        const bool outgoing = std::string_view(PQgetvalue(refs.get(), it->second, 1)) == "out";
        e.counterparty_name = PQgetvalue(refs.get(), it->second, outgoing ? 2 : 3);
        e.reason_code = PQgetvalue(refs.get(), it->second, 4);
        e.instant = std::string_view(PQgetvalue(refs.get(), it->second, 5)) == "t";
      }
    }
    if (found != page.events.size()) {
      return fail(Status::error("an event names a journal record that is not there"));
    }
    page.next_after = page.events.size() == q.limit ? page.events.back().seq : scan_end;
  }
  return Status();
}

}  // namespace ledger
