// One HTTP POST to a delivery destination, on the dispatcher's own io_context: resolve (every
// address checked against the private-network rule), connect, TLS with certificate and host
// name verification for https, write, read the status and at most 64 KiB of the answer; all
// within one deadline. Redirects are not followed (a 3xx is a failed attempt).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "outbound/crypto.h"
#include "outbound/destination.h"

namespace ledger::outbound {

struct HttpAttempt {
  int status = 0;                   // 0: no answer
  std::string error;                // why there was no (complete) answer
  std::int64_t retry_after_s = -1;  // Retry-After in seconds, -1 when absent or unreadable
  bool keep_alive = false;          // the connection may carry the next request
  std::string body = {};            // the answer's body (at most 64 KiB), when read whole
};

struct OutgoingRequest {
  Headers headers;
  std::string body;
  // When set, the headers are made by this call right before the request is written (a
  // signature over the current time: the 64th request of a batch to a slow receiver carries
  // the time it was sent, not the time the batch was built).
  std::function<Headers()> headers_at_send;
};

// Whether `url`'s host resolves (within `timeout`) to an address the private-network rule
// refuses and the allowlist does not permit. false when it resolves to public addresses only,
// is allowlisted, is an address literal (check_destination decides those), or does not resolve
// (each delivery resolves and checks again).
boost::asio::awaitable<bool> resolves_inward(const Url& url, const Allowlist& allowlist,
                                             std::chrono::milliseconds timeout);

// Several POSTs to one destination, in order, over one kept-alive connection (a new one if
// the destination closes it), each with its own timeout; stops after the first attempt that
// is not answered 2xx. Returns one attempt per request tried (at least one).
boost::asio::awaitable<std::vector<HttpAttempt>> post_all(const Url& url,
                                                          std::vector<OutgoingRequest> requests,
                                                          const Allowlist& allowlist,
                                                          boost::asio::ssl::context& tls,
                                                          std::chrono::milliseconds timeout);

boost::asio::awaitable<HttpAttempt> post(const Url& url, const Headers& headers, std::string body,
                                         const Allowlist& allowlist, boost::asio::ssl::context& tls,
                                         std::chrono::milliseconds timeout);

}  // namespace ledger::outbound
