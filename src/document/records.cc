#include "document/records.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>

#include "ledger/ids.h"
#include "ledger/money.h"
#include "ledger/sepa.h"

namespace ledger::document {
namespace {
using nlohmann::json;

constexpr std::string_view kind_names[] = {"customer", "settlement", "fees",
                                           "suspense", "revenue",    "internal"};
constexpr std::string_view status_names[] = {"active", "frozen", "closed"};
constexpr std::string_view code_names[] = {"internal",
                                           "card_authorization",
                                           "card_capture",
                                           "card_refund",
                                           "card_reversal",
                                           "card_financial",
                                           "fee",
                                           "deposit",
                                           "withdrawal",
                                           "expiry",
                                           "direct_debit",
                                           "direct_debit_return",
                                           "direct_debit_refund",
                                           "credit_transfer",
                                           "credit_transfer_instant",
                                           "credit_transfer_reject",
                                           "credit_transfer_return",
                                           "credit_transfer_in",
                                           "card_clearing",
                                           "card_force_post",
                                           "card_clearing_refund",
                                           "card_clearing_reversal",
                                           "dispute_opened",
                                           "dispute_credit",
                                           "dispute_charged_back",
                                           "dispute_representment",
                                           "dispute_won",
                                           "dispute_lost"};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(std::string_view name, const std::string_view (&names)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

std::string_view change_name(MonitorChange change) {
  switch (change) {
    case MonitorChange::triggered:
      return "triggered";
    case MonitorChange::resolved:
      return "resolved";
    case MonitorChange::deleted:
      return "deleted";
    case MonitorChange::created:
      break;
  }
  return "created";
}

}  // namespace

std::string_view kind_name(AccountKind kind) { return kind_names[static_cast<std::size_t>(kind)]; }
std::optional<AccountKind> parse_kind(std::string_view name) {
  return parse_name<AccountKind>(name, kind_names);
}
std::string_view status_name(AccountStatus status) {
  return status_names[static_cast<std::size_t>(status)];
}
std::optional<AccountStatus> parse_status(std::string_view name) {
  return parse_name<AccountStatus>(name, status_names);
}
std::string_view code_name(TransferCode code) { return code_names[static_cast<std::size_t>(code)]; }
std::optional<TransferCode> parse_code(std::string_view name) {
  return parse_name<TransferCode>(name, code_names);
}
std::string_view card_status_name(CardStatus status) {
  static constexpr std::string_view names[] = {"active", "frozen", "blocked"};
  return names[static_cast<std::size_t>(status)];
}

std::optional<CardStatus> parse_card_status(std::string_view name) {
  static constexpr std::string_view names[] = {"active", "frozen", "blocked"};
  return parse_name<CardStatus>(name, names);
}

json time_or_null(std::uint64_t timestamp_ns) {
  return timestamp_ns == 0 ? json(nullptr) : json(format_time(timestamp_ns));
}

json uuid_or_null(Uint128 id) { return id.is_zero() ? json(nullptr) : json(format_uuid(id)); }

json times_usual_json(std::uint32_t x100) {
  if (x100 == 0) return nullptr;
  if (x100 % 100 == 0) return x100 / 100;
  return static_cast<double>(x100) / 100.0;
}

json sepa_reason_json(std::uint8_t reason) {
  const auto r = static_cast<sepa::Reason>(reason);
  return r == sepa::Reason::none ? json(nullptr) : json(std::string(sepa::reason_name(r)));
}

std::string format_time(std::uint64_t timestamp_ns) {
  const auto seconds = static_cast<std::time_t>(timestamp_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%09lluZ",
                static_cast<unsigned long long>(timestamp_ns % 1'000'000'000));
  return std::string(text, n) + fraction;
}

json sum_json(__int128 value) {
  if (value > std::numeric_limits<std::int64_t>::max() ||
      value < std::numeric_limits<std::int64_t>::min()) {
    return decimal_text(value);
  }
  return static_cast<std::int64_t>(value);
}

json account_json(const Account& a) {
  const bool credit_normal = (a.flags & credits_must_not_exceed_debits) != 0;
  return json{{"id", format_uuid(a.id.value)},
              {"holder_id", format_uuid(a.holder_id.value)},
              {"currency", std::string(currency_alpha(a.currency))},
              {"kind", std::string(kind_name(a.kind))},
              {"no_overdraft", (a.flags & debits_must_not_exceed_credits) != 0},
              {"credits_must_not_exceed_debits", credit_normal},
              {"direct_debits_first", (a.flags & cards_before_direct_debits) == 0},
              {"overdraft_limit", a.overdraft_limit},
              {"status", std::string(status_name(a.status))},
              {"reference", a.reference},
              {"balances",
               {{"posted", sum_json(balance_value(a, BalanceField::posted))},
                {"pending", sum_json(balance_value(a, BalanceField::pending))},
                {"available", sum_json(balance_value(a, BalanceField::available))},
                {"debits_posted", sum_json(a.debits_posted)},
                {"credits_posted", sum_json(a.credits_posted)},
                {"debits_pending", sum_json(a.debits_pending)},
                {"credits_pending", sum_json(a.credits_pending)}}},
              {"created_at", format_time(a.created_timestamp)},
              {"updated_at", format_time(a.timestamp)}};
}

json transfer_json(const Transfer& t) {
  std::string status = "posted";
  if (t.result != TransferResult::ok) {
    status = "rejected";
  } else if ((t.flags & flag_pending) != 0) {
    static constexpr const char* names[] = {"pending", "pending", "posted", "voided", "expired"};
    status = names[static_cast<std::size_t>(t.pending_state)];
  } else if ((t.flags & (flag_void_pending)) != 0) {
    status = "voided";
  }
  json body{{"id", format_uuid(t.id.value)},
            {"debit_account_id", format_uuid(t.debit_account_id.value)},
            {"credit_account_id", format_uuid(t.credit_account_id.value)},
            {"amount", t.amount},
            {"amount_effective", t.amount_effective},
            {"currency",
             t.currency.code == 0 ? json(nullptr) : json(std::string(currency_alpha(t.currency)))},
            {"code", std::string(code_name(t.code))},
            {"pending", (t.flags & flag_pending) != 0},
            {"status", status},
            {"result", std::string(to_string(t.result))},
            {"reference", t.reference_a},
            {"reference_b", t.reference_b},
            {"reference_32", t.reference_32},
            {"timestamp", t.timestamp},
            {"created_at", format_time(t.timestamp)}};
  if (!t.pending_id.is_zero()) body["pending_id"] = format_uuid(t.pending_id.value);
  if ((t.flags & flag_post_pending) != 0) body["kind"] = "post";
  if ((t.flags & flag_void_pending) != 0) body["kind"] = "void";
  if ((t.flags & flag_pending) != 0) body["timeout_seconds"] = t.timeout_s;
  return body;
}

json card_json(const Card& c) {
  json mccs = json::array();
  for (std::uint8_t i = 0; i < c.controls.blocked_mcc_count; ++i) {
    char text[8];
    std::snprintf(text, sizeof text, "%04u", c.controls.blocked_mccs[i]);
    mccs.push_back(text);
  }
  const auto limit = [](std::int64_t v) { return v == 0 ? json(nullptr) : json(v); };
  char expiry[8];
  std::snprintf(expiry, sizeof expiry, "%04u", c.expiry_yymm);
  return json{
      {"id", format_uuid(c.id.value)},
      {"account_id", format_uuid(c.account_id.value)},
      {"bin", std::string(c.bin, strnlen(c.bin, sizeof c.bin))},
      {"last4", std::string(c.last4, sizeof c.last4)},
      {"expiry", expiry},
      {"status", std::string(card_status_name(c.status))},
      {"controls",
       {{"per_authorization_limit", limit(c.controls.per_authorization_limit)},
        {"daily_limit", limit(c.controls.daily_limit)},
        {"monthly_limit", limit(c.controls.monthly_limit)},
        {"daily_count_limit",
         c.controls.daily_count_limit == 0 ? json(nullptr) : json(c.controls.daily_count_limit)},
        {"online", (c.controls.channels & channel_online) != 0},
        {"atm", (c.controls.channels & channel_atm) != 0},
        {"contactless", (c.controls.channels & channel_contactless) != 0},
        {"abroad", (c.controls.channels & channel_abroad) != 0},
        {"blocked_mccs", std::move(mccs)}}},
      {"created_at", format_time(c.created_timestamp)},
      {"updated_at", format_time(c.timestamp)}};
}

json monitor_json(const BalanceMonitor& m) {
  return json{{"id", format_uuid(m.id.value)},
              {"account_id", format_uuid(m.account_id.value)},
              {"field", std::string(field_name(m.field))},
              {"operator", std::string(operator_text(m.op))},
              {"threshold", m.threshold},
              {"currency", m.currency.code == 0 ? json(nullptr)
                                                : json(std::string(currency_alpha(m.currency)))},
              {"state", m.deleted     ? "deleted"
                        : m.triggered ? "triggered"
                                      : "ok"},
              {"triggered", m.triggered},
              {"value", sum_json(m.value)},
              {"last_change", std::string(change_name(m.change))},
              {"created_at", format_time(m.created_timestamp)},
              {"updated_at", format_time(m.timestamp)}};
}

json spike_json(const SpendingSpike& s) {
  json out{{"rule_id", format_uuid(s.rule_id)},
           {"scope", std::string(scope_name(s.scope))},
           {"direction", std::string(direction_name(s.direction))},
           {"window_s", s.window_s},
           {"window_start", format_time(s.window_start)},
           {"amount", s.window_sum},
           {"transfers", s.count},
           {"currency",
            s.currency.code == 0 ? json(nullptr) : json(std::string(currency_alpha(s.currency)))},
           {"amount_at_least", s.amount_at_least},
           {"times_usual", times_usual_json(s.times_usual_x100)},
           {"usual", s.usual < 0 ? json(nullptr) : sum_json(s.usual)},
           {"account_id", uuid_or_null(s.account_id.value)}};
  out[std::string(scope_name(s.scope)) + "_id"] = format_uuid(s.key);
  return out;
}

json direct_debit_state_json(const DirectDebit& dd) {
  const auto reason = static_cast<sepa::Reason>(dd.reason);
  return json{
      {"id", format_uuid(dd.id.value)},
      {"account_id",
       dd.account_id.is_zero() ? json(nullptr) : json(format_uuid(dd.account_id.value))},
      {"scheme", std::string(scheme_name(dd.scheme))},
      {"sequence_type", std::string(sequence_name(dd.sequence))},
      {"amount", dd.amount},
      {"currency", "EUR"},
      {"due_date", sepa::format_date(dd.due_day)},
      {"status", std::string(status_name(dd.status))},
      {"reason_code", sepa_reason_json(dd.reason)},
      {"reason",
       reason == sepa::Reason::none ? json(nullptr) : json(std::string(sepa::reason_text(reason)))},
      {"settles_at", format_time(dd.settle_at)},
      {"wait_deadline", time_or_null(dd.wait_deadline)},
      {"return_deadline", time_or_null(dd.latest_deadline)},
      {"missing_amount", dd.missing},
      {"late", dd.late},
      {"paid_at", time_or_null(dd.paid_at)},
      {"last_change", std::string(change_name(dd.change))},
      {"received_at", format_time(dd.created_timestamp)},
      {"updated_at", format_time(dd.timestamp)}};
}

}  // namespace ledger::document
