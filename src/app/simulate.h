// `ledgerd simulate`: a card simulator for people. Sends one ISO 8583 message of any kind
// ledgerd answers (authorization, incremental, completion, reversal, advice, refund,
// purchase, balance inquiry, echo) built from readable flags, prints the request and the
// answer field by field with the PAN masked, and exits 0 when approved (1 on a decline).
// Follow-ups name their original by STAN or RRN (--original): the simulator remembers the
// originals it sent (STAN, RRN, transmission time; never the PAN) in a small state file, so
// it can send DE90; an original it does not know is matched by the server on DE2 + DE37 +
// DE11 + DE32 instead. docs/iso8583.md, "Card simulator".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iso8583/codec.h"
#include "ledger/money.h"
#include "ledger/status.h"

namespace ledger::app {

enum class SimulateKind {
  authorize,    // 0100
  incremental,  // 0100 with DE90
  complete,     // 0220
  reverse,      // 0400 (full, or partial with --actual)
  advice,       // 0120 (--code: the network's decision, default 00)
  refund,       // 0200 DE3 20 (with --original: 0220 DE3 20)
  purchase,     // 0200
  balance,      // 0100 DE3 31
  echo,         // 0800 DE70 301
};

struct SimulateOptions {
  SimulateKind kind = SimulateKind::echo;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8583;
  bool hex_bitmap = false;
  std::string pan;
  std::string expiry;                  // YYMM
  std::optional<std::int64_t> amount;  // minor units of `currency`
  std::optional<std::int64_t> actual;  // reverse: DE95, what the sale came to
  Currency currency;
  std::uint16_t mcc = 5999;
  std::string merchant = "LEDGERD SIMULATOR";
  std::string terminal = "SIM00001";
  std::string acquirer = "12345";
  std::string country;      // DE19, ISO 3166 numeric
  std::string original;     // STAN (6 digits) or RRN (12 characters)
  std::string code = "00";  // advice: the network's DE39
  std::string stan;         // default: chosen by the simulator
  bool cash = false;        // authorize/purchase: DE3 01
  bool partial = false;     // the acquirer supports partial approval
  bool contactless = false;
  int timeout_ms = 10'000;
  std::string state_file;  // where originals are remembered
};

// `ledgerd simulate instant-payment ...` and `ledgerd simulate clearing-house ...`
// (simulate_sepa.cc): the SEPA instant payment simulators.
bool is_sepa_simulation(const std::vector<std::string>& args);
int run_simulate_sepa(const std::vector<std::string>& args);

// Parses the words after `ledgerd simulate`. Errors name the flag at fault.
Status parse_simulate(const std::vector<std::string>& args, SimulateOptions* out);
std::string simulate_usage();

// "12.40" in the currency's minor units (JPY has none, BHD three). nullopt: not an amount.
std::optional<std::int64_t> parse_decimal_amount(std::string_view text, Currency currency);

// The request the options describe (DE7 from `now_utc` as MMDDhhmmss). Remembered originals
// come from the state file.
iso8583::Message build_simulated_request(const SimulateOptions& options,
                                         const std::string& transmission, const std::string& stan);

// The request and answer as printed: one line per field, the PAN masked.
std::string describe_message(const iso8583::Message& m, bool request);

// Runs the simulator: 0 approved, 1 declined, 2 usage, 3 no answer (connection, timeout).
int run_simulate(const std::vector<std::string>& args);

}  // namespace ledger::app
