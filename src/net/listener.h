// What the REST and ISO 8583 listeners share at the door: opening the acceptor with an error
// that names the endpoint, and the source-address allowlist. Header-only (Asio).
#pragma once

#include <algorithm>
#include <boost/asio.hpp>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace ledger {

// Opens, binds and listens (SO_REUSEADDR). The error names the endpoint and the reason
// ("Address already in use"); the acceptor is left closed then.
inline Status listen_on(boost::asio::ip::tcp::acceptor& acceptor,
                        const boost::asio::ip::tcp::endpoint& endpoint) {
  boost::system::error_code error;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(boost::asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return Status::error("cannot listen on " + endpoint.address().to_string() + ":" +
                         std::to_string(endpoint.port()) + ": " + error.message());
  }
  return Status();
}

// An empty allowlist admits every source; otherwise the peer's address must be on it (a peer
// whose address cannot be read is refused).
template <class Socket>  // a TCP socket on any executor
bool source_allowed(const Socket& socket, const std::vector<boost::asio::ip::address>& allowlist) {
  if (allowlist.empty()) return true;
  boost::system::error_code error;
  const auto peer = socket.remote_endpoint(error);
  return !error && std::find(allowlist.begin(), allowlist.end(), peer.address()) != allowlist.end();
}

}  // namespace ledger
