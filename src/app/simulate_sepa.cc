// `ledgerd simulate instant-payment` and `ledgerd simulate clearing-house`: the two ends of a
// SEPA instant payment for people trying ledgerd (docs/credit-transfers.md, "Simulator").
// instant-payment plays another bank's customer paying one of ledgerd's IBANs: it POSTs an SCT
// Inst pacs.008 to /v1/credit-transfers/instant-payments as the instant clearing house would
// and prints the pacs.002. clearing-house plays the instant clearing house ledgerd's own
// instant transfers go to (LEDGER_SCT_INST_URL): it answers each pacs.008 with a pacs.002 (ACCP,
// or RJCT for creditor names the operator chose) and each pacs.028 with the status.
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/simulate.h"
#include "http/pacs.h"
#include "ledger/parse.h"
#include "ledger/sepa.h"
#include "ledger/units.h"

namespace ledger::app {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string sepa_usage() {
  return "usage: ledgerd simulate instant-payment --to IBAN --amount EUROS [--key KEY]\n"
         "         [--http HOST:PORT] [--from-name NAME] [--from-iban IBAN] [--from-bic BIC]\n"
         "         [--to-name NAME] [--remittance TEXT] [--tx-id ID]\n"
         "       sends an SCT Inst pacs.008 to ledgerd's /v1/credit-transfers/instant-payments\n"
         "       (as the instant clearing house does) and prints the pacs.002; exit 0 on ACCP,\n"
         "       1 on RJCT, 3 when ledgerd cannot be reached. --key: an API key with the\n"
         "       backoffice scope (default: $LEDGER_API_KEY).\n"
         "       ledgerd simulate clearing-house [--listen HOST:PORT] [--reject NAME=CODE ...]\n"
         "         [--silent NAME ...] [--count N]\n"
         "       the instant clearing house for LEDGER_SCT_INST_URL=http://HOST:PORT/sct-inst:\n"
         "       answers each pacs.008 with a pacs.002 ACCP, or RJCT CODE when the creditor's\n"
         "       name contains NAME; never answers (--silent) a creditor whose name contains\n"
         "       NAME until ledgerd asks its status (pacs.028, answered ACCP); stops after N\n"
         "       messages (default: runs until stopped). Default --listen 127.0.0.1:9099.\n";
}

bool split_host_port(const std::string& text, std::string* host, std::uint16_t* port) {
  const auto colon = text.rfind(':');
  std::uint64_t p = 0;
  if (colon == std::string::npos || colon == 0 || !parse_digits(text.substr(colon + 1), &p) ||
      p == 0 || p > 65535) {
    return false;
  }
  *host = text.substr(0, colon);
  *port = static_cast<std::uint16_t>(p);
  return true;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string element(const std::string& xml, const std::string& tag) {
  const std::size_t start = xml.find("<" + tag + ">");
  if (start == std::string::npos) return "";
  const std::size_t begin = start + tag.size() + 2;
  const std::size_t end = xml.find("</" + tag + ">", begin);
  return end == std::string::npos ? "" : xml.substr(begin, end - begin);
}

// "25", "25.5", "25.00" -> cents; -1 for anything else or beyond the SEPA maximum.
std::int64_t euro_cents(const std::string& text) {
  const auto dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
  std::uint64_t units = 0;
  std::uint64_t cents = 0;
  if (whole.empty() || whole.size() > 9 || fraction.size() > 2 || !parse_digits(whole, &units) ||
      (!fraction.empty() && !parse_digits(fraction, &cents))) {
    return -1;
  }
  if (fraction.size() == 1) cents *= 10;
  return static_cast<std::int64_t>(units * 100 + cents);
}

std::string random_reference() {
  std::random_device device;
  std::uniform_int_distribution<int> digit(0, 35);
  std::string out = "SIM";
  for (int i = 0; i < 20; ++i) out.push_back("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit(device)]);
  return out;
}

http::pacs::FileHeader header_now(std::string message_id, std::string bic) {
  return http::pacs::file_header(
      std::move(message_id),
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()),
      std::move(bic));
}

int instant_payment(const std::vector<std::string>& args) {
  std::string http = "127.0.0.1:8080";
  const char* env_key = std::getenv("LEDGER_API_KEY");
  std::string key = env_key == nullptr ? "" : env_key;
  http::pacs::CreditEntry entry;
  CreditTransferRecord& t = entry.transfer;
  t.debtor_name = "Max Mustermann";
  t.debtor_iban = "FR1420041010050500013M02606";
  std::string from_bic = "BNPAFRPPXXX";
  t.creditor_name = "Account Holder";
  t.creditor_bic = "LEDGDEFFXXX";
  std::string tx_id;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "ledgerd simulate: %s needs a value\n%s", flag.c_str(),
                   sepa_usage().c_str());
      return 2;
    }
    const std::string& value = args[i + 1];
    if (flag == "--http") {
      http = value;
    } else if (flag == "--key") {
      key = value;
    } else if (flag == "--to") {
      t.creditor_iban = sepa::normalize_iban(value).value_or(value);
    } else if (flag == "--amount") {
      t.amount = euro_cents(value);
      if (t.amount <= 0) {
        std::fprintf(stderr, "ledgerd simulate: --amount must be euros, e.g. 25.00\n");
        return 2;
      }
    } else if (flag == "--from-name") {
      t.debtor_name = value;
    } else if (flag == "--from-iban") {
      t.debtor_iban = sepa::normalize_iban(value).value_or(value);
    } else if (flag == "--from-bic") {
      from_bic = value;
    } else if (flag == "--to-name") {
      t.creditor_name = value;
    } else if (flag == "--remittance") {
      t.remittance = value;
    } else if (flag == "--tx-id") {
      tx_id = value;
    } else {
      std::fprintf(stderr, "ledgerd simulate: unknown flag %s\n%s", flag.c_str(),
                   sepa_usage().c_str());
      return 2;
    }
  }
  std::string host;
  std::uint16_t port = 0;
  if (t.creditor_iban.empty() || t.amount == 0 || !split_host_port(http, &host, &port)) {
    std::fprintf(stderr, "ledgerd simulate: --to and --amount are required, --http HOST:PORT\n%s",
                 sepa_usage().c_str());
    return 2;
  }
  const std::string reference = tx_id.empty() ? random_reference() : tx_id.substr(0, 35);
  t.transaction_id = reference;
  t.end_to_end_id = "E2E-" + reference.substr(0, 31);
  t.id = Uint128{1, 1};
  const std::string document =
      http::pacs::write_pacs008({entry}, header_now("MSG-" + reference.substr(0, 31), from_bic),
                                /*instant=*/true);
  std::printf("-> pacs.008 SCT Inst %s.%02lld EUR from %s (%s) to %s, TxId %s\n",
              std::to_string(t.amount / 100).c_str(), static_cast<long long>(t.amount % 100),
              t.debtor_name.c_str(), t.debtor_iban.c_str(), t.creditor_iban.c_str(),
              reference.c_str());
  const auto started = std::chrono::steady_clock::now();
  try {
    asio::io_context io;
    tcp::socket socket(io);
    tcp::resolver resolver(io);
    asio::connect(socket, resolver.resolve(host, std::to_string(port)));
    set_timeouts(socket.native_handle(), 15);
    bhttp::request<bhttp::string_body> request{bhttp::verb::post,
                                               "/v1/credit-transfers/instant-payments", 11};
    request.set(bhttp::field::host, host);
    request.set(bhttp::field::content_type, "application/xml");
    if (!key.empty()) request.set(bhttp::field::authorization, "Bearer " + key);
    request.body() = document;
    request.prepare_payload();
    bhttp::write(socket, request);
    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1 << 20);
    bhttp::read(socket, buffer, parser);
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const auto& response = parser.get();
    if (response.result_int() != 200) {
      std::printf("<- HTTP %u in %.1f ms: %s\n", response.result_int(), ms,
                  response.body().substr(0, 400).c_str());
      return 1;
    }
    const std::string status = element(response.body(), "TxSts");
    const std::string reason = element(response.body(), "Cd");
    std::printf("<- pacs.002 in %.1f ms: %s%s%s\n", ms, status.c_str(), reason.empty() ? "" : " ",
                reason.c_str());
    return status == "ACCP" ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ledgerd simulate: %s:%u: %s\n", host.c_str(), port, e.what());
    return 3;
  }
}

int clearing_house(const std::vector<std::string>& args) {
  std::string listen = "127.0.0.1:9099";
  std::vector<std::pair<std::string, std::string>> rejects;
  std::vector<std::string> silent;
  std::uint64_t count = 0;
  for (std::size_t i = 1; i < args.size(); i += 2) {
    const std::string& flag = args[i];
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "ledgerd simulate: %s needs a value\n%s", flag.c_str(),
                   sepa_usage().c_str());
      return 2;
    }
    const std::string& value = args[i + 1];
    if (flag == "--listen") {
      listen = value;
    } else if (flag == "--reject") {
      const auto equals = value.rfind('=');
      if (equals == std::string::npos || equals == 0 || value.size() - equals - 1 != 4) {
        std::fprintf(stderr, "ledgerd simulate: --reject NAME=CODE (a 4-character ISO code)\n");
        return 2;
      }
      rejects.emplace_back(value.substr(0, equals), value.substr(equals + 1));
    } else if (flag == "--silent") {
      silent.push_back(value);
    } else if (flag == "--count") {
      if (!parse_digits(value, &count)) {
        std::fprintf(stderr, "ledgerd simulate: --count must be a number\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "ledgerd simulate: unknown flag %s\n%s", flag.c_str(),
                   sepa_usage().c_str());
      return 2;
    }
  }
  std::string host;
  std::uint16_t port = 0;
  if (!split_host_port(listen, &host, &port)) {
    std::fprintf(stderr, "ledgerd simulate: --listen HOST:PORT\n");
    return 2;
  }
  try {
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address(host), port});
    std::printf("clearing house listening on http://%s:%u/sct-inst\n", host.c_str(), port);
    std::fflush(stdout);
    for (std::uint64_t handled = 0; count == 0 || handled < count;) {
      tcp::socket socket(io);
      acceptor.accept(socket);
      set_timeouts(socket.native_handle(), 30);
      boost::beast::flat_buffer buffer;
      for (;;) {  // the requests of one keep-alive connection
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(4 << 20);
        boost::system::error_code error;
        bhttp::read(socket, buffer, parser, error);
        if (error) break;
        const std::string body = parser.get().body();
        std::string answer;
        http::pacs::CreditDocument doc;
        http::pacs::CreditStatusDocument asked;
        std::string why;
        const http::pacs::FileHeader h = header_now("CSM-" + random_reference(), "CSMXDEFFXXX");
        if (body.find("pacs.028") != std::string::npos) {
          // A status request: the transaction was settled (ACCP).
          http::pacs::CreditEntry e;
          e.transfer.end_to_end_id = element(body, "OrgnlEndToEndId");
          e.transfer.transaction_id = element(body, "OrgnlTxId");
          e.status = "ACCP";
          answer = http::pacs::write_credit_pacs002({e}, element(body, "OrgnlMsgId"),
                                                    "pacs.008.001.02", h);
          std::printf("pacs.028 TxId %s: ACCP\n", e.transfer.transaction_id.c_str());
        } else if (http::pacs::parse_pacs008(body, &doc, &why)) {
          std::vector<http::pacs::CreditEntry> entries;
          bool quiet = false;
          for (const http::pacs::CreditTransaction& t : doc.transactions) {
            http::pacs::CreditEntry& e = entries.emplace_back();
            e.transfer.end_to_end_id = t.end_to_end_id;
            e.transfer.transaction_id = t.transaction_id;
            e.status = t.reason_code.empty() ? "ACCP" : "RJCT";
            e.reason_code = t.reason_code;
            for (const auto& [name, code] : rejects) {
              if (t.creditor_name.find(name) != std::string::npos) {
                e.status = "RJCT";
                e.reason_code = code;
              }
            }
            for (const std::string& name : silent) {
              quiet = quiet || t.creditor_name.find(name) != std::string::npos;
            }
            std::printf("pacs.008 %s %lld.%02lld EUR from %s to %s (%s): %s%s%s\n",
                        doc.message_id.c_str(), static_cast<long long>(t.amount / 100),
                        static_cast<long long>(t.amount % 100), t.debtor_name.c_str(),
                        t.creditor_name.c_str(), t.creditor_iban.c_str(),
                        quiet ? "no answer" : e.status.c_str(), e.reason_code.empty() ? "" : " ",
                        e.reason_code.c_str());
          }
          std::fflush(stdout);
          if (quiet) break;  // never answered: the sender's time-out decides
          answer = http::pacs::write_credit_pacs002(entries, doc.message_id, doc.message, h);
        } else {
          std::printf("refused a document: %s\n", why.c_str());
          bhttp::response<bhttp::string_body> bad{bhttp::status::bad_request, 11};
          bad.body() = why;
          bad.prepare_payload();
          bhttp::write(socket, bad, error);
          ++handled;
          break;
        }
        std::fflush(stdout);
        bhttp::response<bhttp::string_body> response{bhttp::status::ok, 11};
        response.set(bhttp::field::content_type, "application/xml");
        response.body() = answer;
        response.keep_alive(parser.get().keep_alive());
        response.prepare_payload();
        bhttp::write(socket, response, error);
        ++handled;
        if (error || !parser.get().keep_alive() || (count != 0 && handled >= count)) break;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ledgerd simulate: clearing house on %s: %s\n", listen.c_str(), e.what());
    return 3;
  }
  return 0;
}

}  // namespace

bool is_sepa_simulation(const std::vector<std::string>& args) {
  return !args.empty() && (args[0] == "instant-payment" || args[0] == "clearing-house");
}

int run_simulate_sepa(const std::vector<std::string>& args) {
  if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h")) {
    std::fputs(sepa_usage().c_str(), stdout);
    return 0;
  }
  return args[0] == "instant-payment" ? instant_payment(args) : clearing_house(args);
}

}  // namespace ledger::app
