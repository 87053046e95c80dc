// Slack messages a person reads at a glance: one line of text (and the same as a block) per
// event, and a digest line for what the rate limit held back. Link-free. Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "ledger/reader.h"

namespace ledger::outbound {

// How an account is named in a message: its IBAN masked ("DE89 …3000"), or "" to fall back
// to the last digits of its id ("…0002").
using AccountLabel = std::function<std::string(AccountId)>;
// "Card payment 12.40 EUR: approved (account DE89 …3000)".
std::string slack_text(const Event& event, const AccountLabel& account_label = nullptr);
// "DE89370400440532013000" -> "DE89 …3000": enough to recognise one's account, not to use it.
std::string masked_iban(std::string_view iban);
// The request body: {"text": ..., "blocks": [{"type": "section", ...}]}.
// Text that came from outside (a merchant's name and city, from the card network) made safe for
// Slack: Slack reads <...> as a mention, a channel command or a link and &...; as an entity,
// so &, < and > are escaped as &amp;, &lt; and &gt;, and nothing else
// (https://api.slack.com/reference/surfaces/formatting#escaping). "<!channel>" is then shown
// as written and pings nobody.
std::string slack_escape(std::string_view text);
std::string slack_body(const std::string& text);

// What a digest covers: counts per kind of event and sums per currency.
struct Digest {
  std::uint32_t count = 0;
  std::map<std::string, std::uint32_t> kinds;  // "card payments" -> n
  std::map<std::string, __int128> sums;        // "EUR" -> money moved (postings only)
  std::uint64_t first_ns = 0;                  // the first event's time
  void add(const Event& event);
  // "37 more events since 12:00:03 UTC: 30 card payments, ... (1,240.50 EUR)".
  std::string text() const;
};

// 1240.5 EUR -> "1,240.50" (minor units by the currency's exponent).
std::string format_amount(__int128 minor, Currency currency);

}  // namespace ledger::outbound
