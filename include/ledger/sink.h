// How the network edges hand commands to the ledger and get their durable answers back,
// without depending on how the ledger is built (app::Pipeline implements CommandSink).
#pragma once

#include <cstdint>

#include "ledger/types.h"

namespace ledger {

enum class Outcome : std::uint8_t {
  durable,      // the result is committed in PostgreSQL
  unavailable,  // not answered: PostgreSQL failed or the ledger is reloading; retry later
};

// How a call to the ledger ended, as the edges see it (src/net/ledger_call.h).
enum class CallStatus : std::uint8_t {
  durable,      // answered; the result is committed
  busy,         // refused at once: queue full or ledger not running
  unavailable,  // not answered: PostgreSQL failed or the ledger is reloading
  timeout,      // no answer in time: the outcome is unknown to the caller
};

// A waiting request. complete() is called exactly once per accepted command, from a ledger
// thread; implementations hand the result to their own executor and return quickly.
class Completion {
 public:
  virtual void complete(const CommandResult& result, Outcome outcome) = 0;

 protected:
  ~Completion() = default;
};

class CommandSink {
 public:
  // Never waits. false: queue full or ledger not running; answer "busy" now (no completion).
  [[nodiscard]] virtual bool submit(const Command& command, Completion* completion) = 0;
  // Card-network traffic: a separate queue the engine drains first, so authorizations are
  // never queued behind back-office bulk work.
  [[nodiscard]] virtual bool submit_priority(const Command& command, Completion* completion) = 0;
  // All or none, consecutively: a linked chain reaches the engine unbroken. Each command
  // carries its own completion.
  [[nodiscard]] virtual bool submit_all(const Command* commands, Completion* const* completions,
                                        std::size_t count) = 0;
  virtual bool running() const = 0;
  // The deadline rule: an authorization whose requester was told "declined" (ISO 8583: 91 at
  // the deadline) must hold nothing: a journaled card reversal (its hold released, or its
  // posting given back), retried across database failures until it is durable. It is queued
  // behind every command submitted before it (so it comes after the authorization it
  // reverses, and before any repeat the network sends once it has the 91).
  // `answer_by`: the deadline the network was answered 91 at (card_ids::late_rule_key): one
  // reversal per deadline.
  virtual void reverse_late(TransferId transfer, std::uint64_t answer_by) = 0;

 protected:
  ~CommandSink() = default;
};

}  // namespace ledger
