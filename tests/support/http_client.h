// A small synchronous HTTP/1.1 client for tests (real sockets, loopback only, timeouts).
#pragma once

#include <map>
#include <string>

namespace ledger::testing {

struct HttpReply {
  int status = 0;  // 0: no answer (connection failed, closed or timed out)
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

HttpReply http_call(int port, const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::map<std::string, std::string>& headers = {},
                    int timeout_ms = 10'000);
// The same to another address (a test host of the fault harness, tests/chaos).
HttpReply http_call_to(const std::string& address, int port, const std::string& method,
                       const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {},
                       int timeout_ms = 10'000);

// Sends raw bytes and returns whatever comes back until close or timeout.
std::string raw_exchange(int port, const std::string& bytes, int timeout_ms = 5'000);

}  // namespace ledger::testing
