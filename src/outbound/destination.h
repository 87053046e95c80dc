// Where deliveries go: URL parsing and the rule that keeps them off private networks.
// Destinations resolving to private, loopback or link-local addresses are refused unless
// LEDGER_WEBHOOK_ALLOWLIST (comma-separated hosts or CIDRs) permits them; plain http:// only
// for allowlisted hosts. Pure.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::outbound {

struct Url {
  bool https = true;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
  std::string hint() const;  // "https://host": what the API shows of a URL
};

// nullopt and *error for anything but http(s)://host[:port][/path][?query] without userinfo
// or fragment, at most 2048 characters.
std::optional<Url> parse_url(std::string_view text, std::string* error);

struct Allowlist {
  std::vector<std::string> hosts;  // lower case
  std::vector<std::pair<boost::asio::ip::address, unsigned>> networks;
  bool permits_host(std::string_view host) const;
  bool permits(const boost::asio::ip::address& address) const;
};
// nullopt and *error for an entry that is neither a host name nor an address/CIDR.
std::optional<Allowlist> parse_allowlist(std::string_view text, std::string* error);

// Private (RFC 1918, RFC 4193, CGNAT), loopback, link-local, unspecified or multicast.
bool is_private(const boost::asio::ip::address& address);
// The host as an IP address, when it is one.
std::optional<boost::asio::ip::address> address_literal(std::string_view host);

// At creation: may this URL be a destination? "" when yes, else the reason. Host names are
// checked again, resolved, at every delivery.
std::string check_destination(const Url& url, const Allowlist& allowlist);

}  // namespace ledger::outbound
