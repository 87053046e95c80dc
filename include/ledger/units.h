// Units of time as integer nanoseconds, the engine's clock unit (time is data: a uint64
// count of nanoseconds since the Unix epoch). One definition for every component.
#pragma once

#include <cstdint>

namespace ledger {

inline constexpr std::uint64_t ns_per_us = 1'000;
inline constexpr std::uint64_t ns_per_ms = 1'000'000;
inline constexpr std::uint64_t ns_per_s = 1'000'000'000;
inline constexpr std::uint64_t ns_per_hour = 3'600 * ns_per_s;
inline constexpr std::uint64_t ns_per_day = 86'400 * ns_per_s;

}  // namespace ledger
