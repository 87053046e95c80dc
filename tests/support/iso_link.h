// A small ISO 8583 client for failover tests and the fault harness: one exchange at a time on a
// kept connection, never throwing (no answer = an empty MTI), and the authorization those tests
// send.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "iso8583/codec.h"

namespace ledger::testing {

inline constexpr const char* pan = "4000056655665556";
inline constexpr const char* acquirer = "00012345";
inline constexpr const char* transmission = "1130120000";

inline std::string stan_of(int n) {
  char text[8];
  std::snprintf(text, sizeof text, "%06d", n % 1'000'000);
  return text;
}

// One ISO 8583 exchange on a fresh or kept connection; never throws. An empty MTI: no answer
// (refused, closed or timed out). Every step has the deadline: a stopped or partitioned peer
// never holds the caller longer than timeout_ms (Asio's blocking calls would wait for ever).
class IsoLink {
 public:
  iso8583::Message call(int port, const iso8583::Message& request, int timeout_ms) {
    return call_to("127.0.0.1", port, request, timeout_ms);
  }
  // To another address (a test host of the fault harness, tests/chaos).
  iso8583::Message call_to(const std::string& address, int port, const iso8583::Message& request,
                           int timeout_ms) {
    iso8583::Message answer;
    if (port <= 0) return answer;
    std::string frame(2, '\0');
    std::string encode_error;
    if (!iso8583::encode(request, iso8583::BitmapEncoding::binary, &frame, &encode_error, 2)) {
      ADD_FAILURE() << encode_error;
      return answer;
    }
    frame[0] = static_cast<char>((frame.size() - 2) >> 8);
    frame[1] = static_cast<char>((frame.size() - 2) & 0xFF);
    boost::system::error_code error;
    stream_.expires_after(std::chrono::milliseconds(timeout_ms));
    const auto run = [this] {
      io_.run();
      io_.restart();
    };
    if (port != port_ || address != address_ || !stream_.socket().is_open()) {
      stream_.close();
      const auto ip = boost::asio::ip::make_address(address, error);
      if (error) return answer;
      stream_.async_connect({ip, static_cast<unsigned short>(port)},
                            [&error](boost::system::error_code e) { error = e; });
      run();
      if (error) {
        stream_.close();
        return answer;
      }
      port_ = port;
      address_ = address;
    }
    unsigned char header[2];
    std::string body;
    boost::asio::async_write(stream_, boost::asio::buffer(frame),
                             [&error](boost::system::error_code e, std::size_t) { error = e; });
    run();
    if (!error) {
      boost::asio::async_read(stream_, boost::asio::buffer(header),
                              [&error](boost::system::error_code e, std::size_t) { error = e; });
      run();
    }
    if (!error) {
      body.assign((static_cast<std::size_t>(header[0]) << 8) | header[1], '\0');
      boost::asio::async_read(stream_, boost::asio::buffer(body),
                              [&error](boost::system::error_code e, std::size_t) { error = e; });
      run();
    }
    iso8583::DecodeError decode_error;
    if (error || !iso8583::decode(body, iso8583::BitmapEncoding::binary, &answer, &decode_error)) {
      stream_.close();
      return iso8583::Message{};
    }
    return answer;
  }

 private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_{io_};
  std::string address_;
  int port_ = 0;
};

// An authorization (or its repeat, 0101) of 1.00 EUR with STAN n, at a fixed DE7: its
// transfer id is iso8583::authorization_id(acquirer, stan_of(n), transmission).
inline iso8583::Message authorization(const char* mti, int n) {
  iso8583::Message m;
  m.mti = mti;
  m.set(2, pan);
  m.set(3, "000000");
  m.set(4, "000000000100");
  m.set(7, transmission);
  m.set(11, stan_of(n));
  m.set(14, "4012");
  m.set(18, "5411");
  m.set(19, "276");
  m.set(22, "051");
  m.set(32, acquirer);
  char rrn[16];
  std::snprintf(rrn, sizeof rrn, "RRN%09d", n);
  m.set(37, rrn);
  m.set(41, "TERM0001");
  m.set(49, "978");
  return m;
}

}  // namespace ledger::testing
