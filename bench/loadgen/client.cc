// REST and id helpers, and provisioning of the cardholders through the API.
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "ledger/card_ids.h"
#include "ledger/clearing_file.h"
#include "loadgen.h"

namespace ledger::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string uuid(unsigned group, unsigned long long n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012llx", group, n);
  return text;
}
unsigned invocation_nonce() {
  static const unsigned nonce = std::random_device{}() | 0x10000000u;
  return nonce;
}

std::string account_id(int card) { return uuid(1, static_cast<unsigned long long>(card)); }

std::string iban_for(int card) {
  char bban[32];
  std::snprintf(bban, sizeof bban, "12030000%010d", card);
  // ISO 7064 MOD 97-10 over the BBAN, then "DE00" (D = 13, E = 14).
  unsigned remainder = 0;
  for (const char c : std::string(bban) + "131400") {
    remainder = (remainder * 10 + static_cast<unsigned>(c - '0')) % 97;
  }
  char iban[40];
  std::snprintf(iban, sizeof iban, "DE%02u%s", 98 - remainder, bban);
  return iban;
}

std::string instant_payment(int card, int amount, const std::string& reference) {
  char value[32];
  std::snprintf(value, sizeof value, "%d.%02d", amount / 100, amount % 100);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document "
         "xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\"><FIToFICstmrCdtTrf><GrpHdr>"
         "<MsgId>M" +
         reference +
         "</MsgId><CreDtTm>2026-12-07T12:00:00</CreDtTm><NbOfTxs>1</NbOfTxs><SttlmInf><SttlmMtd>"
         "CLRG</SttlmMtd></SttlmInf><PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>INST"
         "</Cd></LclInstrm></PmtTpInf></GrpHdr><CdtTrfTxInf><PmtId><EndToEndId>E" +
         reference + "</EndToEndId><TxId>T" + reference +
         "</TxId></PmtId><IntrBkSttlmAmt Ccy=\"EUR\">" + value +
         "</IntrBkSttlmAmt><ChrgBr>SLEV</ChrgBr><Dbtr><Nm>Bench Payer</Nm></Dbtr><DbtrAcct><Id>"
         "<IBAN>FR1420041010050500013M02606</IBAN></Id></DbtrAcct><DbtrAgt><FinInstnId><BICFI>"
         "BNPAFRPPXXX</BICFI></FinInstnId></DbtrAgt><CdtrAgt><FinInstnId><BICFI>LEDGDEFFXXX"
         "</BICFI></FinInstnId></CdtrAgt><Cdtr><Nm>Bench Payee</Nm></Cdtr><CdtrAcct><Id><IBAN>" +
         iban_for(card) + "</IBAN></Id></CdtrAcct></CdtTrfTxInf></FIToFICstmrCdtTrf></Document>";
}

std::string pan_for(int n) {
  char body[16];
  std::snprintf(body, sizeof body, "4%014d", 100000000 + n);
  std::string pan(body);
  int sum = 0;
  for (int i = static_cast<int>(pan.size()) - 1, twice = 1; i >= 0; --i, twice = !twice) {
    int d = pan[static_cast<std::size_t>(i)] - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return pan + static_cast<char>('0' + (10 - sum % 10) % 10);
}

int rest(int port, const std::string& key, bhttp::verb verb, const std::string& target,
         const json& body, std::string* answer) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  boost::system::error_code error;
  stream.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, error);
  if (error) return 0;
  bhttp::request<bhttp::string_body> request{verb, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  if (!key.empty()) request.set(bhttp::field::authorization, "Bearer " + key);
  if (!body.is_null()) {
    request.set(bhttp::field::content_type, "application/json");
    request.body() = body.dump();
  }
  request.prepare_payload();
  bhttp::write(stream, request, error);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(stream, buffer, parser, error);
  if (error) return 0;
  if (answer != nullptr) *answer = parser.get().body();
  return static_cast<int>(parser.get().result_int());
}

bool provision(const Options& o) {
  const auto post = [&](const std::string& target, const json& body) {
    const int status = rest(o.http_port, o.key, bhttp::verb::post, target, body);
    if (status == 429) {
      std::fprintf(stderr,
                   "loadgen: %s answered 429: start ledgerd with LEDGER_PAN_LOOKUPS_PER_MINUTE=0 "
                   "(and no LEDGER_RATE_LIMIT_PER_KEY) to provision cards in bulk\n",
                   target.c_str());
    }
    return status / 100 == 2;
  };
  const auto account = [&](int n, const char* kind) {
    json body{{"id", account_id(n)},
              {"holder_id", uuid(9, static_cast<unsigned long long>(n / 10))},
              {"currency", "EUR"},
              {"kind", kind}};
    if (n > 0) body["iban"] = iban_for(n);  // incoming instant payments name it
    return post("/v1/accounts", body);
  };
  if (!account(0, "settlement")) return false;
  json batch = json::array();
  for (int n = 1; n <= o.cards; ++n) {
    if (!account(n, "customer")) return false;
    if (!post("/v1/cards", {{"id", uuid(3, static_cast<unsigned long long>(n))},
                            {"account_id", account_id(n)},
                            {"pan", pan_for(n)},
                            {"expiry", "4012"}})) {
      return false;
    }
    batch.push_back({{"id", uuid(2, static_cast<unsigned long long>(n))},
                     {"debit_account_id", account_id(0)},
                     {"credit_account_id", account_id(n)},
                     {"amount", 100'000'000},
                     {"currency", "EUR"}});
    if (batch.size() == 8000 || n == o.cards) {
      if (!post("/v1/transfers/batch", {{"transfers", batch}})) return false;
      batch = json::array();
    }
  }
  return true;
}

json write_clearing_files(const Options& o, const Stats& s) {
  namespace cf = ledger::clearing;
  std::set<std::pair<std::uint64_t, std::uint64_t>> online;
  for (const TransferId& id : s.settled_online) online.insert({id.value.hi, id.value.lo});
  std::vector<Stats::Clearable> items;
  for (const Stats::Clearable& c : s.clearable) {
    if (online.count({c.id.value.hi, c.id.value.lo}) == 0) items.push_back(c);
  }
  std::filesystem::create_directories(o.clearing_dir);
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[40];
  std::snprintf(date, sizeof date, "%02d%02d%02d", utc.tm_year % 100, utc.tm_mon + 1, utc.tm_mday);
  constexpr std::size_t per_file = 15'000;  // under ledgerd's 4 MiB request body
  std::size_t files = 0;
  std::string error;
  for (std::size_t from = 0; from < items.size(); from += per_file) {
    char file_id[80];
    std::snprintf(file_id, sizeof file_id, "002%s%011d%05zu", date, 1000000 + (int)(now % 100000),
                  files + 1);
    std::vector<cf::Message> presentments;
    for (std::size_t i = from; i < std::min(items.size(), from + per_file); ++i) {
      const Stats::Clearable& c = items[i];
      char text[64];
      cf::Message& p = presentments.emplace_back();
      p.mti = "1240";
      p.set(2, pan_for(c.card));
      p.set(3, "000000");
      std::snprintf(text, sizeof text, "%012d", c.amount);
      p.set(4, text);
      p.set(24, "200");
      p.set(26, "5411");
      std::snprintf(text, sizeof text, "7%06d%s%010zu", 123456, date, i);
      p.set(31, text);
      char code[6];
      ledger::card_ids::approval_code_text(ledger::card_ids::approval_code_value(c.id), code);
      p.set(38, std::string(code, 6));
      p.set(43, "NOON SUPERMARKET\\Main St 1\\Berlin\\10115      BE DEU");
      p.set(49, "978");
      std::snprintf(text, sizeof text, "%016llX",
                    static_cast<unsigned long long>(ledger::card_ids::life_cycle_key(c.id)));
      p.set(63, text);
      p.set(73, date);
    }
    std::string bytes;
    if (!cf::write_file(file_id, date, presentments, cf::Charset::ascii, cf::Framing::rdw, &bytes,
                        &error)) {
      break;
    }
    ++files;
    char name[64];
    std::snprintf(name, sizeof name, "/clearing-%03zu.ipm", files);
    std::ofstream out(o.clearing_dir + name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  return json{{"files", files}, {"records", items.size()}, {"error", error}};
}

}  // namespace ledger::bench
