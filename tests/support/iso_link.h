// A small ISO 8583 client for failover tests: one exchange at a time on a kept connection,
// never throwing (no answer = an empty MTI), and the authorization those tests send.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
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
// (refused, closed or timed out).
class IsoLink {
 public:
  iso8583::Message call(int port, const iso8583::Message& request, int timeout_ms) {
    iso8583::Message answer;
    if (port <= 0) return answer;
    boost::system::error_code error;
    if (port != port_ || !socket_.is_open()) {
      socket_.close(error);
      socket_.open(boost::asio::ip::tcp::v4(), error);
      if (error) return answer;
      socket_.connect(
          {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, error);
      if (error) {
        socket_.close(error);
        return answer;
      }
      port_ = port;
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string frame(2, '\0');
    std::string encode_error;
    if (!iso8583::encode(request, iso8583::BitmapEncoding::binary, &frame, &encode_error, 2)) {
      ADD_FAILURE() << encode_error;
      return answer;
    }
    frame[0] = static_cast<char>((frame.size() - 2) >> 8);
    frame[1] = static_cast<char>((frame.size() - 2) & 0xFF);
    unsigned char header[2];
    if (boost::asio::write(socket_, boost::asio::buffer(frame), error); !error) {
      boost::asio::read(socket_, boost::asio::buffer(header), error);
    }
    std::string body;
    if (!error) {
      body.assign((static_cast<std::size_t>(header[0]) << 8) | header[1], '\0');
      boost::asio::read(socket_, boost::asio::buffer(body), error);
    }
    iso8583::DecodeError decode_error;
    if (error || !iso8583::decode(body, iso8583::BitmapEncoding::binary, &answer, &decode_error)) {
      socket_.close(error);
      return iso8583::Message{};
    }
    return answer;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_{io_};
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
