// One HTTP POST to a delivery destination, on the dispatcher's own io_context: resolve (every
// address checked against the private-network rule), connect, TLS with certificate and host
// name verification for https, write, read the status and at most 64 KiB of the answer; all
// within one deadline. Redirects are not followed (a 3xx is a failed attempt).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "outbound/destination.h"

namespace ledger::outbound {

struct HttpAttempt {
  int status = 0;                   // 0: no answer
  std::string error;                // why there was no (complete) answer
  std::int64_t retry_after_s = -1;  // Retry-After in seconds, -1 when absent or unreadable
};

using Headers = std::vector<std::pair<std::string, std::string>>;

boost::asio::awaitable<HttpAttempt> post(const Url& url, const Headers& headers, std::string body,
                                         const Allowlist& allowlist, boost::asio::ssl::context& tls,
                                         std::chrono::milliseconds timeout);

}  // namespace ledger::outbound
