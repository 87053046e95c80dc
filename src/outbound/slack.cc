#include "outbound/slack.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "ledger/credit_transfers.h"
#include "ledger/disputes.h"
#include "ledger/money.h"
#include "ledger/monitors.h"
#include "ledger/sepa.h"
#include "ledger/spikes.h"

namespace ledger::outbound {
namespace {

std::string last_digits(Uint128 id) {
  char text[8];
  std::snprintf(text, sizeof text, "%04llu", static_cast<unsigned long long>(id.lo % 10000));
  return text;
}

std::string words(TransferResult result) { return reason_in_words(result); }

// What kind of money movement, for a person: "Card payment", "Refund", "Transfer".
std::string kind_of(const Event& e) {
  const Transfer& t = e.record.value.transfer;
  switch (e.type) {
    case EventType::card_authorization_approved:
    case EventType::card_authorization_declined:
      return t.code == TransferCode::card_refund ? "Card refund" : "Card payment";
    case EventType::card_completion:
      return "Card payment completed";
    case EventType::card_reversal:
      return "Card payment reversed";
    case EventType::card_cleared:
      return "Card payment cleared";
    case EventType::card_force_posted:
      return "Card payment cleared without a matching authorization";
    case EventType::card_refund_cleared:
      return "Card refund cleared";
    case EventType::card_clearing_reversed:
      return "Card clearing reversed";
    case EventType::dispute_opened:
      return "Dispute opened";
    case EventType::dispute_provisional_credit:
      return "Dispute: provisional credit";
    case EventType::dispute_charged_back:
      return "Dispute: chargeback sent";
    case EventType::dispute_representment:
      return "Dispute: the merchant re-presented";
    case EventType::dispute_won:
      return "Dispute won";
    case EventType::dispute_lost:
      return "Dispute lost";
    case EventType::transfer_pending:
      return "Hold";
    case EventType::transfer_posted:
      return "Hold captured";
    case EventType::transfer_voided:
      return "Hold released";
    case EventType::transfer_expired:
      return "Hold expired";
    case EventType::transfer_rejected:
      return "Transfer refused";
    default:
      return "Transfer";
  }
}

std::string plural(const Event& e) {
  switch (e.type) {
    case EventType::card_authorization_approved:
    case EventType::card_authorization_declined:
      return "card payments";
    case EventType::card_completion:
      return "card completions";  // the same payment again: counted apart, never twice
    case EventType::card_reversal:
      return "card reversals";
    case EventType::account_created:
    case EventType::account_updated:
      return "account changes";
    case EventType::card_created:
    case EventType::card_updated:
      return "card changes";
    case EventType::balance_monitor_triggered:
    case EventType::balance_monitor_resolved:
      return "balance alerts";
    case EventType::spending_spike:
      return "spending spikes";
    case EventType::direct_debit_received:
    case EventType::direct_debit_refused:
    case EventType::direct_debit_at_risk:
    case EventType::direct_debit_waiting_for_funds:
    case EventType::direct_debit_paid:
    case EventType::direct_debit_returned:
    case EventType::direct_debit_refunded:
    case EventType::direct_debit_reversed:
      return "direct debits";
    case EventType::credit_transfer_accepted:
    case EventType::credit_transfer_sent:
    case EventType::credit_transfer_settled:
    case EventType::credit_transfer_rejected:
    case EventType::credit_transfer_returned:
    case EventType::credit_transfer_received:
      return "credit transfers";
    case EventType::card_cleared:
    case EventType::card_force_posted:
    case EventType::card_refund_cleared:
    case EventType::card_clearing_reversed:
      return "card clearings";
    case EventType::dispute_opened:
    case EventType::dispute_provisional_credit:
    case EventType::dispute_charged_back:
    case EventType::dispute_representment:
    case EventType::dispute_won:
    case EventType::dispute_lost:
      return "dispute steps";
    default:
      return "transfers";
  }
}

// 600 -> "10 min", 7200 -> "2 h", 90 -> "90 s", 172800 -> "2 days".
std::string duration_words(std::uint32_t seconds) {
  if (seconds % 86'400 == 0) {
    return std::to_string(seconds / 86'400) + (seconds == 86'400 ? " day" : " days");
  }
  if (seconds % 3'600 == 0) return std::to_string(seconds / 3'600) + " h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds) + " s";
}

}  // namespace

std::string format_amount(__int128 minor, Currency currency) {
  const unsigned exponent = currency.code == 0 ? 2 : currency_info(currency).exponent;
  const bool negative = minor < 0;
  unsigned __int128 v = static_cast<unsigned __int128>(negative ? -minor : minor);
  unsigned __int128 scale = 1;
  for (unsigned i = 0; i < exponent; ++i) scale *= 10;
  unsigned __int128 whole = v / scale;
  const unsigned __int128 fraction = v % scale;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(whole % 10)));
    whole /= 10;
  } while (whole != 0);
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(digits[i]);
  }
  if (exponent > 0) {
    std::string f;
    unsigned __int128 rest = fraction;
    for (unsigned i = 0; i < exponent; ++i) {
      f.insert(f.begin(), static_cast<char>('0' + static_cast<int>(rest % 10)));
      rest /= 10;
    }
    grouped += "." + f;
  }
  return (negative ? "-" : "") + grouped;
}

std::string slack_text(const Event& e, const AccountLabel& label_of) {
  // "account DE89 …3000" (its IBAN, masked) when the caller knows it, else "account …0002".
  const auto account_words = [&label_of](AccountId id) {
    std::string label = label_of ? label_of(id) : std::string();
    return "account " + (label.empty() ? "…" + last_digits(id.value) : label);
  };
  const JournalRecord& r = e.record;
  if (r.kind == RecordKind::account) {
    const Account& a = r.value.account;
    return std::string(e.type == EventType::account_created ? "Account opened"
                                                            : "Account changed") +
           ": " + account_words(a.id) + ", " + std::string(currency_alpha(a.currency));
  }
  if (r.kind == RecordKind::card) {
    const Card& c = r.value.card;
    static constexpr const char* status[] = {"active", "frozen", "blocked"};
    return std::string(e.type == EventType::card_created ? "Card issued" : "Card changed") +
           ": card …" + std::string(c.last4, sizeof c.last4) + " (" +
           status[static_cast<int>(c.status) % 3] + ")";
  }
  if (r.kind == RecordKind::spike) {
    const SpendingSpike& s = r.value.spike;
    std::string text = s.direction == SpikeDirection::in ? "Sales spike: " : "Spending spike: ";
    text.append(format_amount(s.window_sum, s.currency))
        .append(" ")
        .append(currency_alpha(s.currency))
        .append(s.direction == SpikeDirection::in ? " into " : " out of ")
        .append(scope_name(s.scope))
        .append(" …")
        .append(last_digits(s.key))
        .append(" in the last ")
        .append(duration_words(s.window_s))
        .append(" (")
        .append(std::to_string(s.count))
        .append(s.count == 1 ? " transfer" : " transfers");
    if (s.usual >= 0 && s.times_usual_x100 != 0) {
      text.append(s.usual == 0 ? "; nothing usually"
                               : "; usually " + format_amount(s.usual, s.currency));
    }
    text.append(")");
    return text;
  }
  if (r.kind == RecordKind::direct_debit) {
    const DirectDebit& d = r.value.direct_debit;
    const auto reason = static_cast<sepa::Reason>(d.reason);
    const std::string eur = " " + std::string(currency_alpha(d.currency));
    static constexpr const char* heads[] = {
        "Direct debit received", "Direct debit refused",
        "Direct debit at risk",  "Direct debit waiting for funds",
        "Direct debit paid",     "Direct debit returned",
        "Direct debit refunded", "Direct debit reversed by the creditor's bank"};
    std::string text = heads[static_cast<std::size_t>(d.change) % 8];
    if (d.change == DirectDebitChange::paid && d.late) text.append(" (after waiting)");
    if (reason != sepa::Reason::none) {
      text.append(" (")
          .append(sepa::reason_name(reason))
          .append(", ")
          .append(sepa::reason_text(reason))
          .append(")");
    }
    text.append(": ").append(format_amount(d.amount, d.currency)).append(eur);
    // The creditor's name comes from the clearing system: shown as text, escaped like a
    // merchant's.
    if (!e.creditor_name.empty()) text.append(" to ").append(slack_escape(e.creditor_name));
    text.append(" due ").append(sepa::format_date(d.due_day));
    if (d.change == DirectDebitChange::at_risk ||
        d.change == DirectDebitChange::waiting_for_funds) {
      text.append("; ").append(format_amount(d.missing, d.currency)).append(eur).append(" missing");
    }
    if (d.change == DirectDebitChange::waiting_for_funds) {
      text.append("; returned unless funded by ")
          .append(sepa::format_date(sepa::day_of_ns(d.wait_deadline)));
    }
    if (!d.account_id.is_zero()) text.append(" (").append(account_words(d.account_id)).append(")");
    return text;
  }
  if (r.kind == RecordKind::monitor) {
    const BalanceMonitor& m = r.value.monitor;
    static constexpr const char* words[] = {"below ", "at or below ", "above ", "at or above "};
    const std::string currency =
        m.currency.code == 0 ? "" : " " + std::string(currency_alpha(m.currency));
    std::string text =
        m.change == MonitorChange::resolved ? "Balance back to normal: " : "Balance alert: ";
    text.append(field_name(m.field))
        .append(" balance of ")
        .append(account_words(m.account_id))
        .append(" is ")
        .append(format_amount(m.value, m.currency))
        .append(currency)
        .append(m.change == MonitorChange::resolved ? ", no longer " : ", ")
        .append(words[static_cast<std::size_t>(m.op) % 4])
        .append(format_amount(m.threshold, m.currency))
        .append(currency);
    return text;
  }
  const Transfer& t = r.value.transfer;
  const std::int64_t amount = t.amount_effective > 0 ? t.amount_effective : t.amount;
  if (e.type >= EventType::credit_transfer_accepted &&
      e.type <= EventType::credit_transfer_received) {
    // "Instant credit transfer paid: 120.00 EUR to Acme SARL (account DE89 …3000)".
    // A return to the clearing house is the customer giving received money back (a recall);
    // any other return or reject brings the customer's own money back.
    const bool given_back = t.credit_account_id == sct_clearing_account_id();
    static constexpr const char* heads[] = {"accepted", "sent",     "paid",
                                            "rejected", "returned", "received"};
    std::string text = e.instant ? "Instant credit transfer " : "Credit transfer ";
    text.append(
        heads[static_cast<int>(e.type) - static_cast<int>(EventType::credit_transfer_accepted)]);
    if (!e.reason_code.empty()) text.append(" (").append(slack_escape(e.reason_code)).append(")");
    text.append(": ").append(format_amount(amount, t.currency)).append(" ");
    text.append(currency_alpha(t.currency));
    // The other party's name comes from outside (the customer or the clearing house): escaped,
    // so "<!channel>" in a name is text, never a mention.
    if (!e.counterparty_name.empty()) {
      const bool from = e.type == EventType::credit_transfer_received;
      text.append(from ? " from " : " to ").append(slack_escape(e.counterparty_name));
    }
    const AccountId account =
        t.debit_account_id == sct_clearing_account_id() ? t.credit_account_id : t.debit_account_id;
    if (e.type == EventType::credit_transfer_rejected ||
        (e.type == EventType::credit_transfer_returned && !given_back)) {
      text.append("; the money is back");
    }
    text.append(" (").append(account_words(account)).append(")");
    return text;
  }
  std::string text = kind_of(e) + " " + format_amount(amount, t.currency) +
                     (t.currency.code == 0 ? "" : " " + std::string(currency_alpha(t.currency)));
  if (e.has_merchant) {
    const Merchant& m = e.merchant.merchant;
    const std::string name = slack_escape({m.name, strnlen(m.name, sizeof m.name)});
    const std::string city = slack_escape({m.city, strnlen(m.city, sizeof m.city)});
    if (!name.empty()) text += " at " + name + (city.empty() ? "" : ", " + city);
  }
  const bool clearing = e.type >= EventType::card_cleared && e.type <= EventType::dispute_lost;
  if (!clearing) {
    text += t.result == TransferResult::ok ? ": approved" : ": declined, " + words(t.result);
  }
  const bool card = e.type == EventType::card_authorization_approved ||
                    e.type == EventType::card_authorization_declined ||
                    e.type == EventType::card_completion || e.type == EventType::card_reversal;
  // The cardholder's side: the credited one for refunds and money given back.
  const bool to_cardholder = (card && t.code == TransferCode::card_refund) ||
                             t.code == TransferCode::card_clearing_refund ||
                             t.code == TransferCode::dispute_credit ||
                             (t.code == TransferCode::card_clearing_reversal &&
                              t.debit_account_id == card_settlement_account_id(t.currency));
  const AccountId account = to_cardholder ? t.credit_account_id : t.debit_account_id;
  if (clearing && e.type >= EventType::dispute_opened) {
    // A dispute's internal accounts are not the cardholder's: no account is named.
    return text;
  }
  if (!account.is_zero()) text += " (" + account_words(account) + ")";
  return text;
}

std::string masked_iban(std::string_view iban) {
  if (iban.size() < 8) return std::string();
  return std::string(iban.substr(0, 4)) + " …" + std::string(iban.substr(iban.size() - 4));
}

std::string slack_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string slack_body(const std::string& text) {
  nlohmann::json body{
      {"text", text},
      {"blocks", {{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Digest::add(const Event& e) {
  ++count;
  ++kinds[plural(e)];
  const std::uint64_t at = record_timestamp(e.record);
  if (first_ns == 0 || at < first_ns) first_ns = at;
  if (e.record.kind == RecordKind::transfer) {
    // The money that moved, once: an authorization holds (its completion moves it), a reversal,
    // a void or an expiry releases, so only postings count.
    const Transfer& t = e.record.value.transfer;
    const bool moves =
        (e.type == EventType::transfer_created || e.type == EventType::transfer_posted ||
         e.type == EventType::card_completion || e.type == EventType::card_cleared ||
         e.type == EventType::card_force_posted ||
         e.type == EventType::card_authorization_approved) &&
        (t.flags & flag_pending) == 0;
    if (moves && t.currency.code != 0 && t.result == TransferResult::ok) {
      sums[std::string(currency_alpha(t.currency))] +=
          t.amount_effective > 0 ? t.amount_effective : t.amount;
    }
  }
}

std::string Digest::text() const {
  // Since when, from the first held-back event (a digest can cover seconds or an hour).
  std::string since;
  if (first_ns != 0) {
    const std::uint64_t s = first_ns / 1'000'000'000ULL;
    char clock[32];
    std::snprintf(clock, sizeof clock, "%02u:%02u:%02u UTC", static_cast<unsigned>(s / 3600 % 24),
                  static_cast<unsigned>(s / 60 % 60), static_cast<unsigned>(s % 60));
    since = std::string(" since ") + clock;
  }
  std::string text = std::to_string(count) + " more events" + since;
  std::string parts;
  for (const auto& [kind, n] : kinds) {
    parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  }
  if (!parts.empty()) text += ": " + parts;
  std::string money;
  for (const auto& [currency, sum] : sums) {
    const auto c = currency_from_alpha(currency);
    money += (money.empty() ? "" : ", ") + format_amount(sum, c ? *c : Currency{}) + " " + currency;
  }
  if (!money.empty()) text += " (" + money + ")";
  return text;
}

}  // namespace ledger::outbound
