#include "outbound/destination.h"

#include <algorithm>

#include "ledger/parse.h"

namespace ledger::outbound {
namespace {

namespace ip = boost::asio::ip;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
}

std::optional<ip::address> literal(std::string_view host) {
  boost::system::error_code error;
  const auto address = ip::make_address(std::string(host), error);
  if (error) return std::nullopt;
  return address;
}

// The address's bytes in network order (4 for IPv4, 16 for IPv6).
std::vector<unsigned char> bytes_of(const ip::address& a) {
  if (a.is_v4()) {
    const auto bytes = a.to_v4().to_bytes();
    return std::vector<unsigned char>(bytes.begin(), bytes.end());
  }
  const auto bytes = a.to_v6().to_bytes();
  return std::vector<unsigned char>(bytes.begin(), bytes.end());
}

bool in_network(const ip::address& a, const ip::address& network, unsigned prefix) {
  if (a.is_v4() != network.is_v4()) return false;
  const std::vector<unsigned char> bytes_a = bytes_of(a);
  const std::vector<unsigned char> bytes_n = bytes_of(network);
  for (unsigned bit = 0; bit < prefix && bit / 8 < bytes_a.size(); ++bit) {
    const unsigned mask = 0x80u >> (bit % 8);
    if ((bytes_a[bit / 8] & mask) != (bytes_n[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

std::string Url::hint() const {
  std::string out = https ? "https://" : "http://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (https ? 443 : 80)) out += ":" + std::to_string(port);
  return out;
}

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  Url url;
  if (text.size() > 2048) {
    *error = "the URL is longer than 2048 characters";
    return std::nullopt;
  }
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      *error = "the URL holds spaces, control or non-ASCII characters";
      return std::nullopt;
    }
  }
  std::string_view rest = text;
  if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    url.https = false;
    url.port = 80;
    rest.remove_prefix(7);
  } else {
    *error = "the URL must start with https://";
    return std::nullopt;
  }
  const std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  if (tail.find('#') != std::string_view::npos) {
    *error = "the URL must not have a fragment";
    return std::nullopt;
  }
  if (authority.find('@') != std::string_view::npos) {
    *error = "the URL must not hold a user name or password";
    return std::nullopt;
  }
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *error = "the URL's IPv6 host is not closed by ]";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    if (!literal(url.host) || !literal(url.host)->is_v6()) {
      *error = "the URL's host is not an IPv6 address";
      return std::nullopt;
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        *error = "the URL's host is malformed";
        return std::nullopt;
      }
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    url.host = lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (url.host.empty() || url.host.size() > 253 ||
        !std::all_of(url.host.begin(), url.host.end(), host_char) || url.host.front() == '.' ||
        url.host.front() == '-') {
      *error = "the URL's host is missing or malformed";
      return std::nullopt;
    }
  }
  if (has_port) {
    std::uint64_t value = 0;
    if (port.size() > 5 || !parse_digits(port, &value) || value == 0 || value > 65535) {
      *error = "the URL's port must be 1 to 65535";
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  if (!tail.empty()) url.target = tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  return url;
}

bool Allowlist::permits_host(std::string_view host) const {
  const std::string name = lower(host);
  if (std::find(hosts.begin(), hosts.end(), name) != hosts.end()) return true;
  const auto address = literal(host);
  return address && permits(*address);
}

bool Allowlist::permits(const ip::address& address) const {
  for (const auto& [network, prefix] : networks) {
    if (in_network(address, network, prefix)) return true;
  }
  return false;
}

std::optional<Allowlist> parse_allowlist(std::string_view text, std::string* error) {
  Allowlist list;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string entry(text.substr(0, comma));
    text = comma == std::string_view::npos ? "" : text.substr(comma + 1);
    entry.erase(0, entry.find_first_not_of(' '));
    entry.erase(entry.find_last_not_of(' ') + 1);
    if (entry.empty()) continue;
    const std::size_t slash = entry.find('/');
    const auto address = literal(entry.substr(0, slash));
    if (address) {
      const unsigned bits = address->is_v4() ? 32 : 128;
      unsigned prefix = bits;
      if (slash != std::string::npos) {
        std::uint64_t p = 0;
        if (!parse_digits(std::string_view(entry).substr(slash + 1), &p) || p > bits) {
          *error = "allowlist entry " + entry + " has a bad prefix length";
          return std::nullopt;
        }
        prefix = static_cast<unsigned>(p);
      }
      list.networks.emplace_back(*address, prefix);
    } else if (slash == std::string::npos && std::all_of(entry.begin(), entry.end(), host_char)) {
      list.hosts.push_back(lower(entry));
    } else {
      *error = "allowlist entry " + entry + " is neither a host name nor an address or CIDR";
      return std::nullopt;
    }
  }
  return list;
}

std::optional<ip::address> address_literal(std::string_view host) { return literal(host); }

bool is_private(const ip::address& a) {
  if (a.is_unspecified() || a.is_loopback() || a.is_multicast()) return true;
  if (a.is_v6()) {
    const ip::address_v6 v6 = a.to_v6();
    if (v6.is_v4_mapped()) return is_private(ip::make_address_v4(ip::v4_mapped, v6));
    if (v6.is_link_local() || v6.is_site_local()) return true;
    if ((v6.to_bytes()[0] & 0xFE) == 0xFC) return true;  // fc00::/7 unique local
    // Addresses that carry or reach an IPv4 address, and ranges never meant for the Internet:
    // NAT64 (64:ff9b::/96, 64:ff9b:1::/48) reaches any IPv4 address through a translator,
    // 6to4 (2002::/16) and Teredo (2001::/32) embed one, discard-only (100::/64) and
    // documentation (2001:db8::/32) ranges are reserved.
    static const std::pair<const char*, unsigned> v6_networks[] = {
        {"64:ff9b::", 96}, {"64:ff9b:1::", 48}, {"2002::", 16},
        {"2001::", 32},    {"100::", 64},       {"2001:db8::", 32}};
    for (const auto& [network, prefix] : v6_networks) {
      if (in_network(a, ip::make_address(network), prefix)) return true;
    }
    return false;
  }
  static const std::pair<const char*, unsigned> networks[] = {
      {"10.0.0.0", 8},
      {"172.16.0.0", 12},
      {"192.168.0.0", 16},
      {"127.0.0.0", 8},
      {"169.254.0.0", 16},
      {"0.0.0.0", 8},
      {"100.64.0.0", 10},
      {"255.255.255.255", 32},
      // IETF protocol assignments (192.0.0.0/24), documentation (TEST-NET-1..3), benchmarking
      // (198.18.0.0/15) and the reserved 240.0.0.0/4.
      {"192.0.0.0", 24},
      {"192.0.2.0", 24},
      {"198.51.100.0", 24},
      {"203.0.113.0", 24},
      {"198.18.0.0", 15},
      {"240.0.0.0", 4}};
  for (const auto& [network, prefix] : networks) {
    if (in_network(a, ip::make_address(network), prefix)) return true;
  }
  return false;
}

std::string check_destination(const Url& url, const Allowlist& allowlist) {
  const bool allowed = allowlist.permits_host(url.host);
  if (!url.https && !allowed) {
    return "the URL must be https:// (http:// only for hosts in LEDGER_WEBHOOK_ALLOWLIST)";
  }
  const auto address = literal(url.host);
  const bool local_name = url.host == "localhost" || url.host.ends_with(".localhost");
  if (((address && is_private(*address)) || local_name) && !allowed) {
    return "the URL's host is a private, loopback or reserved address (permit it with "
           "LEDGER_WEBHOOK_ALLOWLIST)";
  }
  return "";
}

}  // namespace ledger::outbound
