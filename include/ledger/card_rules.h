// Merchant category rules of the card lifecycle, configurable: which MCCs are
// pre-authorizations (their holds live longer) and how far a completion may exceed what was
// held, per MCC group (tips, fuel, lodging, ...). Sources and defaults: docs/iso8583.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace ledger::iso8583 {

struct MccRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
};

// A completion above the held amount H is accepted up to max(H + H * percent / 100,
// maximum) for the MCCs of a group; beyond it (and for MCCs in no group, above H) it is
// refused.
struct OverCaptureGroup {
  std::vector<MccRange> mccs;
  std::uint16_t percent = 0;
  std::int64_t maximum = 0;  // minor units of the card's currency; 0: none
};

struct CardRules {
  std::vector<MccRange> preauthorization_mccs;
  std::vector<OverCaptureGroup> over_capture;
};

CardRules default_card_rules();

// "3501-3999,7011": comma-separated MCCs and ranges. Errors name the part at fault.
Status parse_mcc_ranges(std::string_view text, std::vector<MccRange>* out);
// "5812-5814,4121:20;5541,5542:0:17500": groups separated by ';', each MCCs:percent[:maximum].
Status parse_over_capture(std::string_view text, std::vector<OverCaptureGroup>* out);

bool in_ranges(const std::vector<MccRange>& ranges, std::uint16_t mcc);
// The group of an MCC; nullptr: none (no completion above the hold).
const OverCaptureGroup* over_capture_group(const CardRules& rules, std::uint16_t mcc);

}  // namespace ledger::iso8583
