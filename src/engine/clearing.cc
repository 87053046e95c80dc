// Engine: card clearing (docs/card-clearing.md). One command per record of a scheme's clearing
// file: a presentment finds its authorization and posts its hold (or is force posted), a credit
// presentment credits, a reversal undoes exactly the posting it names.
#include <algorithm>

#include "engine/engine.h"
#include "engine/engine_rules.h"
#include "ledger/card_ids.h"

namespace ledger::engine {
using namespace rules;

namespace {

// An authorization (or single-message posting) of a card, not an incremental one (whose
// reference_32 is its message's key: it clears with its original).
bool is_clearable(const Transfer& t) {
  const bool incremental = t.reference_32 != 0 && !card_ids::is_reference_key(t.reference_32);
  return t.result == TransferResult::ok && (t.reference_a | t.reference_b) != 0 && !incremental &&
         (t.code == TransferCode::card_authorization || t.code == TransferCode::card_financial);
}

Uint128 approval_alias_of(const Transfer& t) {
  return card_ids::approval_alias(t.reference_a, t.reference_b,
                                  card_ids::approval_code_value(t.id));
}

}  // namespace

// The clearing index is derived state: built on the first clearing record from the transfers
// stored so far, then brought up to date by each later one (authorizations never take part in
// a linked chain, so positions below the mark are never rolled back; a lookup still checks the
// transfer it finds). Never part of a snapshot: clear() empties it and it is rebuilt.
void Engine::catch_up_clearing_index() {
  if (clearing_indexed_ > transfers_.size()) {
    clearing_index_.clear();
    clearing_indexed_ = 0;
  }
  for (; clearing_indexed_ < transfers_.size(); ++clearing_indexed_) {
    const Transfer& t = transfers_[clearing_indexed_];
    if (!is_clearable(t)) continue;
    const auto position = static_cast<std::uint32_t>(clearing_indexed_);
    clearing_index_.emplace(card_ids::life_cycle_alias(card_ids::life_cycle_key(t.id)), position);
    clearing_index_.emplace(approval_alias_of(t), position);  // the first keeps a code
  }
}

// The authorization a presentment clears: by life cycle id, else by card, approval code,
// amount window (up to the authorized amount and the MCC group's tolerance) and date window
// (authorized at most match_days before the transaction date, and not after its next day).
std::uint32_t Engine::find_cleared_authorization(const CardClearing& c, const Card& card,
                                                 ClearingMatch* how) {
  catch_up_clearing_index();
  const auto lookup = [this](Uint128 alias) {
    const auto it = clearing_index_.find(alias);
    return it == clearing_index_.end() || it->second >= transfers_.size() ? IdIndex::not_found
                                                                          : it->second;
  };
  const auto of_card = [&card](const Transfer& t) {
    return t.reference_a == card.id.value.hi && t.reference_b == card.id.value.lo;
  };
  if (c.life_cycle != 0) {
    const std::uint32_t p = lookup(card_ids::life_cycle_alias(c.life_cycle));
    if (p != IdIndex::not_found && is_clearable(transfers_[p]) && of_card(transfers_[p]) &&
        card_ids::life_cycle_key(transfers_[p].id) == c.life_cycle) {
      *how = ClearingMatch::life_cycle;
      return p;
    }
  }
  if (c.approval_code == 0) return IdIndex::not_found;
  const std::uint32_t p =
      lookup(card_ids::approval_alias(card.id.value.hi, card.id.value.lo, c.approval_code));
  if (p == IdIndex::not_found) return p;
  const Transfer& t = transfers_[p];
  if (!is_clearable(t) || !of_card(t) || card_ids::approval_code_value(t.id) != c.approval_code) {
    return IdIndex::not_found;
  }
  // The amount authorized: the authorization and its incremental ones.
  const CardTransaction x = card_transaction(t.id);
  Sum authorized = t.amount_effective;
  for (std::uint32_t i = 0; i < x.incremental_count; ++i) {
    const Transfer& inc = transfers_[x.incrementals[i]];
    if (inc.result == TransferResult::ok) authorized += inc.amount_effective;
  }
  const Sum tolerated =
      std::max<Sum>(authorized + authorized * c.over_capture_pct / 100, c.over_capture_max);
  if (c.amount > tolerated) return IdIndex::not_found;
  const std::uint64_t day = day_of(c.transaction_ns);
  const std::uint64_t auth_day = day_of(t.timestamp);
  if (c.transaction_ns != 0 && (auth_day > day + 1 || auth_day + c.match_days < day)) {
    return IdIndex::not_found;
  }
  *how = ClearingMatch::approval_code;
  return p;
}

void Engine::clear_card(const CardClearing& c, CommandResult* result, BatchOutput* out) {
  result->related = TransferId{};
  if (const Transfer* repeat = find_transfer(c.id)) {
    result->related = repeat->pending_id;
    return answer_repeat(*repeat, result);
  }
  const auto answer = [&](TransferResult code, const Transfer& t) {
    result->code = static_cast<std::uint8_t>(code);
    result->value.transfer = t;
  };
  Transfer t;
  t.id = c.id;
  t.currency = c.currency;
  if (c.kind == ClearingKind::reversal) {
    // Exactly the posting it names, the other way, forced: the scheme has moved the money.
    const Transfer* original = find_transfer(c.original);
    if (original == nullptr || original->result != TransferResult::ok ||
        original->amount_effective <= 0 ||
        (original->code != TransferCode::card_clearing &&
         original->code != TransferCode::card_force_post &&
         original->code != TransferCode::card_clearing_refund)) {
      return answer(TransferResult::nothing_to_reverse, t);
    }
    t.debit_account_id = original->credit_account_id;
    t.credit_account_id = original->debit_account_id;
    t.amount = original->amount_effective;
    t.currency = original->currency;
    t.flags = flag_force;
    t.code = TransferCode::card_clearing_reversal;
    t.reference_a = original->reference_a;
    t.reference_b = original->reference_b;
    result->related = original->id;
    result->detail2 = static_cast<std::uint8_t>(ClearingOutcome::reversed);
    return execute_card_transfer(t, result, out);
  }
  const Card* card = find_card_by_pan(c.pan_hash);
  if (card == nullptr) return answer(TransferResult::card_unknown, t);
  const Account* account = find_account(card->account_id);
  if (account == nullptr || account->currency != c.currency) {
    return answer(TransferResult::currency_mismatch, t);
  }
  if (c.amount <= 0) return answer(TransferResult::amount_must_be_positive, t);
  if (ensure_settlement_account(c.currency, out) == IdIndex::not_found) {
    return answer(TransferResult::transfer_capacity_exhausted, t);
  }
  const AccountId settlement = settlement_account_id(c.currency);
  t.reference_a = card->id.value.hi;
  t.reference_b = card->id.value.lo;
  t.amount = c.amount;
  if (c.kind == ClearingKind::refund) {
    t.debit_account_id = settlement;
    t.credit_account_id = account->id;
    t.flags = flag_force;
    t.code = TransferCode::card_clearing_refund;
    result->detail2 = static_cast<std::uint8_t>(ClearingOutcome::refunded);
    return execute_card_transfer(t, result, out);
  }
  ClearingMatch how = ClearingMatch::none;
  const std::uint32_t found = find_cleared_authorization(c, *card, &how);
  result->detail = static_cast<std::uint8_t>(how);
  ClearingOutcome outcome = ClearingOutcome::force_unknown;
  if (found != IdIndex::not_found) {
    const Transfer& authorization = transfers_[found];
    result->related = authorization.id;
    const CardTransaction x = card_transaction(authorization.id);
    if (x.capture != IdIndex::not_found && transfers_[x.capture].result == TransferResult::ok) {
      // Completed online (0220), which moved the money: the presentment is that payment's
      // clearing, not a second one.
      result->detail2 = static_cast<std::uint8_t>(ClearingOutcome::completed_online);
      return answer(TransferResult::ok, transfers_[x.capture]);
    }
    if (x.hold_count > 0) {
      // Its holds resolved together, as a completion does: the first posted with the clearing
      // amount (less: the rest released; more: within the MCC group's tolerance, or beyond it,
      // flagged: the scheme has taken the money), the others released.
      const Sum tolerated =
          std::max<Sum>(x.held + x.held * c.over_capture_pct / 100, c.over_capture_max);
      outcome =
          c.amount > tolerated ? ClearingOutcome::posted_beyond_tolerance : ClearingOutcome::posted;
      result->detail2 = static_cast<std::uint8_t>(outcome);
      for (std::uint32_t i = 0; i < x.hold_count; ++i) {
        const Transfer& hold = transfers_[x.holds[i]];
        Transfer part;
        part.id = i == 0 ? c.id : card_ids::part(c.id, i);
        part.pending_id = hold.id;
        part.code = TransferCode::card_clearing;
        if (i == 0) {
          part.flags = flag_post_pending | flag_force;
          part.amount = c.amount;
          if (c.amount > hold.amount_effective) part.flags |= flag_allow_over_capture;
        } else {
          part.flags = flag_void_pending;
        }
        if (!execute_part(part, i == 0, result, out)) return;
      }
      return;
    }
    const Transfer& root = transfers_[x.root != IdIndex::not_found ? x.root : found];
    if ((root.flags & flag_pending) != 0 && root.pending_state == PendingState::posted) {
      outcome = ClearingOutcome::posted_again;  // cleared before: a further shipment
    } else if ((root.flags & flag_pending) != 0 && root.pending_state == PendingState::expired) {
      outcome = ClearingOutcome::force_expired;
    } else if ((root.flags & flag_pending) != 0) {
      outcome = ClearingOutcome::force_released;
    } else {
      outcome = ClearingOutcome::posted_again;  // a single-message posting cleared again
    }
  }
  result->detail2 = static_cast<std::uint8_t>(outcome);
  t.debit_account_id = account->id;
  t.credit_account_id = settlement;
  t.flags = flag_force;
  t.code = outcome == ClearingOutcome::posted_again ? TransferCode::card_clearing
                                                    : TransferCode::card_force_post;
  execute_card_transfer(t, result, out);
}

}  // namespace ledger::engine
