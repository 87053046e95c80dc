// The noon-peak workload: which request leaves when, for which card. Built before a run (the
// schedule is fixed in advance: open loop) from a profile, a mix and a Zipf card popularity.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ledger/parse.h"
#include "schedule.h"

namespace ledger::bench {

// instant: an incoming SEPA instant payment (a pacs.008 to /v1/credit-transfers/instant-
// payments) crediting the card's account.
enum class Kind : std::uint8_t { auth, capture, reversal, inquiry, transfer, instant };
inline constexpr std::size_t kinds = 6;
inline constexpr std::array<const char*, kinds> kind_names = {
    "authorization", "capture", "reversal", "balance_inquiry", "transfer", "instant_payment"};

// Weights by kind, parsed from "auth=70,capture=15,reversal=3,inquiry=7,transfer=5".
struct Mix {
  std::array<double, kinds> weight{70, 15, 3, 7, 5, 0};

  // false with a message naming the bad part.
  bool parse(const std::string& text, std::string* error) {
    static constexpr std::array<const char*, kinds> keys = {"auth",    "capture",  "reversal",
                                                            "inquiry", "transfer", "instant"};
    weight.fill(0);
    std::size_t start = 0;
    while (start < text.size()) {
      const auto comma = text.find(',', start);
      const std::string part =
          text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const auto equals = part.find('=');
      const auto key = part.substr(0, equals);
      const auto k = std::find(keys.begin(), keys.end(), key) - keys.begin();
      if (equals == std::string::npos || k == static_cast<long>(kinds)) {
        *error = "--mix: \"" + part +
                 "\" is not NAME=WEIGHT with NAME one of auth, capture, "
                 "reversal, inquiry, transfer, instant";
        return false;
      }
      if (!parse_number(std::string_view(part).substr(equals + 1),
                        &weight[static_cast<std::size_t>(k)])) {
        *error = "--mix: weight of " + key + " is not a number";
        return false;
      }
      if (weight[static_cast<std::size_t>(k)] < 0) {
        *error = "--mix: weight of " + key + " is negative";
        return false;
      }
      start = comma == std::string::npos ? text.size() : comma + 1;
    }
    double total = 0;
    for (double w : weight) total += w;
    if (total <= 0) {
      *error = "--mix: all weights are zero";
      return false;
    }
    return true;
  }
};

struct Planned {
  double offset;  // seconds from the start: the intended send time
  Kind kind;
  int card;        // 1..cards (the cardholder account for transfers' debit)
  int other_card;  // transfers: the credit account
  int amount;      // minor units
};

// Requests in global send order; bounded by `limit`.
inline std::vector<Planned> plan_workload(Schedule schedule, const Mix& mix, int cards,
                                          std::uint64_t seed, std::size_t limit) {
  std::mt19937_64 rng(seed);
  std::vector<double> cdf(static_cast<std::size_t>(cards));  // Zipf(1) card popularity
  double sum = 0;
  for (int n = 0; n < cards; ++n) cdf[static_cast<std::size_t>(n)] = (sum += 1.0 / (n + 1));
  std::discrete_distribution<int> pick_kind(mix.weight.begin(), mix.weight.end());
  const auto card = [&] {
    const double u = std::uniform_real_distribution<double>(0, sum)(rng);
    const int c = 1 + static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    return std::min(c, cards);
  };
  std::vector<Planned> out;
  for (double t = schedule.next(); t >= 0 && out.size() < limit; t = schedule.next()) {
    Planned p{t, static_cast<Kind>(pick_kind(rng)), card(), 0,
              100 + static_cast<int>(rng() % 5000)};
    if (p.kind == Kind::transfer) {
      p.other_card = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(cards));
      if (p.other_card == p.card) p.other_card = p.card % cards + 1;
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace ledger::bench
