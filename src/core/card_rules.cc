#include "ledger/card_rules.h"

#include <algorithm>

#include "ledger/parse.h"

namespace ledger::iso8583 {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// "\"part\": why" (appended piece by piece: GCC 12 warns falsely on `"\"" + string`).
Status refused(std::string_view part, std::string_view why) {
  std::string message(1, '"');
  message.append(part).append("\" ").append(why);
  return Status::error(message);
}

bool mcc(std::string_view text, std::uint16_t* out) {
  std::uint64_t value = 0;
  if (text.size() != 4 || !parse_digits(text, &value)) return false;
  *out = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

CardRules default_card_rules() {
  CardRules rules;
  // Lodging (3501-3999, 7011), car rental (3351-3500, 7512, 7513, 7519), cruise lines (4411).
  rules.preauthorization_mccs = {
      {3351, 3999}, {4411, 4411}, {7011, 7011}, {7512, 7513}, {7519, 7519}};
  // Restaurants, bars, fast food, taxis, beauty (tips): 20%. Lodging and car rental: 15%.
  // Automated fuel dispensers: up to the AFD maximum (Visa U.S.: USD 175), whatever was held.
  rules.over_capture = {
      {{{5812, 5814}, {4121, 4121}, {7230, 7230}}, 20, 0},
      {{{3351, 3999}, {7011, 7011}, {7512, 7513}, {7519, 7519}}, 15, 0},
      {{{5541, 5542}}, 0, 17'500},
  };
  return rules;
}

Status parse_mcc_ranges(std::string_view text, std::vector<MccRange>* out) {
  std::vector<MccRange> ranges;
  for (std::string_view part : split(text, ',')) {
    part = trimmed(part);
    if (part.empty()) continue;
    MccRange range;
    const auto dash = part.find('-');
    const bool ok = dash == std::string_view::npos
                        ? mcc(part, &range.first) && (range.last = range.first, true)
                        : mcc(part.substr(0, dash), &range.first) &&
                              mcc(part.substr(dash + 1), &range.last) && range.first <= range.last;
    if (!ok) {
      return refused(part, "is not an MCC (4 digits) or a range of them (3501-3999)");
    }
    ranges.push_back(range);
  }
  *out = std::move(ranges);
  return Status();
}

Status parse_over_capture(std::string_view text, std::vector<OverCaptureGroup>* out) {
  std::vector<OverCaptureGroup> groups;
  for (std::string_view part : split(text, ';')) {
    part = trimmed(part);
    if (part.empty()) continue;
    const std::vector<std::string_view> fields = split(part, ':');
    OverCaptureGroup group;
    std::uint64_t percent = 0;
    std::uint64_t maximum = 0;
    if (fields.size() < 2 || fields.size() > 3 || !parse_digits(trimmed(fields[1]), &percent) ||
        percent > 1000 ||
        (fields.size() == 3 &&
         (!parse_digits(trimmed(fields[2]), &maximum) || maximum > 999'999'999'999ULL))) {
      return refused(part,
                     "is not MCCs:percent[:maximum], e.g. 5812-5814:20 or 5541,5542:0:17500 "
                     "(percent at most 1000, maximum in minor units)");
    }
    if (Status s = parse_mcc_ranges(fields[0], &group.mccs); !s.ok()) return s;
    if (group.mccs.empty()) return refused(part, "names no MCC");
    group.percent = static_cast<std::uint16_t>(percent);
    group.maximum = static_cast<std::int64_t>(maximum);
    groups.push_back(std::move(group));
  }
  *out = std::move(groups);
  return Status();
}

bool in_ranges(const std::vector<MccRange>& ranges, std::uint16_t value) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [value](const MccRange& r) { return r.first <= value && value <= r.last; });
}

const OverCaptureGroup* over_capture_group(const CardRules& rules, std::uint16_t value) {
  for (const OverCaptureGroup& group : rules.over_capture) {
    if (in_ranges(group.mccs, value)) return &group;
  }
  return nullptr;
}

}  // namespace ledger::iso8583
