#include "app/simulate.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "ledger/clearing_file.h"
#include "ledger/parse.h"
#include "ledger/types.h"

namespace ledger::app {
namespace {

struct KindName {
  const char* name;
  SimulateKind kind;
};
constexpr KindName kind_names[] = {
    {"authorize", SimulateKind::authorize}, {"incremental", SimulateKind::incremental},
    {"complete", SimulateKind::complete},   {"reverse", SimulateKind::reverse},
    {"advice", SimulateKind::advice},       {"refund", SimulateKind::refund},
    {"purchase", SimulateKind::purchase},   {"balance", SimulateKind::balance},
    {"echo", SimulateKind::echo},
};

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

std::string zero_padded(std::int64_t value, int width) {
  char text[32];
  std::snprintf(text, sizeof text, "%0*lld", width, static_cast<long long>(value));
  return text;
}

std::string default_state_file() {
  if (const char* file = std::getenv("LEDGER_SIMULATE_STATE")) return file;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
    return std::string(state) + "/ledgerd/simulate.tsv";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/state/ledgerd/simulate.tsv";
  }
  return ".ledgerd-simulate.tsv";
}

// An original this simulator sent: what a follow-up needs for DE90 and DE37, and what its
// clearing record needs (`ledgerd simulate clearing-file`): the approval code, the life cycle
// id, the approved amount and currency, the MCC. Never the PAN.
struct Remembered {
  std::string stan;
  std::string rrn;
  std::string transmission;
  std::string acquirer;
  std::string approval = "-";    // DE38 of an approval ("-": none)
  std::string life_cycle = "-";  // DE63 of the answer
  std::string amount = "-";      // DE4 approved (12 digits)
  std::string currency = "-";    // DE49 (3 digits)
  std::string mcc = "-";         // DE18
};
constexpr std::size_t remembered_max = 1'000;

std::deque<Remembered> load_state(const std::string& file) {
  std::deque<Remembered> entries;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Remembered r;
    if (fields >> r.stan >> r.rrn >> r.transmission >> r.acquirer) {
      fields >> r.approval >> r.life_cycle >> r.amount >> r.currency >> r.mcc;  // newer lines
      entries.push_back(r);
    }
    if (entries.size() > remembered_max) entries.pop_front();
  }
  return entries;
}

std::optional<Remembered> find_original(const std::string& file, const std::string& key) {
  const std::deque<Remembered> entries = load_state(file);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->stan == key || it->rrn == key) return *it;
  }
  return std::nullopt;
}

void save_state(const std::string& file, const std::deque<Remembered>& entries) {
  std::error_code ignored;
  const std::filesystem::path path(file);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ignored);
  std::ofstream out(file, std::ios::trunc);
  for (const Remembered& e : entries) {
    out << e.stan << '\t' << e.rrn << '\t' << e.transmission << '\t' << e.acquirer << '\t'
        << e.approval << '\t' << e.life_cycle << '\t' << e.amount << '\t' << e.currency << '\t'
        << e.mcc << '\n';
  }
  if (!out) std::fprintf(stderr, "simulate: could not remember the original in %s\n", file.c_str());
}

void remember(const std::string& file, const Remembered& r) {
  std::deque<Remembered> entries = load_state(file);
  entries.push_back(r);
  while (entries.size() > remembered_max) entries.pop_front();
  save_state(file, entries);
}

// Marks an original as settled online (completed or reversed): no clearing record is written
// for it.
void settle_remembered(const std::string& file, const std::string& key) {
  std::deque<Remembered> entries = load_state(file);
  bool changed = false;
  for (Remembered& e : entries) {
    if ((e.stan == key || e.rrn == key) && e.approval != "-") {
      e.approval = "-";
      changed = true;
    }
  }
  if (changed) save_state(file, entries);
}

const char* field_name(int field) {
  switch (field) {
    case 2:
      return "PAN";
    case 3:
      return "processing code";
    case 4:
      return "amount, transaction";
    case 6:
      return "amount, cardholder billing";
    case 7:
      return "transmission date and time";
    case 11:
      return "STAN";
    case 14:
      return "expiry (YYMM)";
    case 18:
      return "merchant category code";
    case 19:
      return "acquirer country";
    case 22:
      return "POS entry mode";
    case 32:
      return "acquirer id";
    case 37:
      return "retrieval reference number";
    case 38:
      return "approval code";
    case 39:
      return "response code";
    case 41:
      return "terminal id";
    case 42:
      return "merchant id";
    case 43:
      return "merchant name and location";
    case 48:
      return "additional data";
    case 49:
      return "currency, transaction";
    case 51:
      return "currency, cardholder billing";
    case 54:
      return "additional amounts";
    case 70:
      return "network management code";
    case 90:
      return "original data elements";
    case 95:
      return "replacement amounts";
    default:
      return "";
  }
}

const char* response_meaning(std::string_view code) {
  static const struct {
    const char* code;
    const char* meaning;
  } meanings[] = {
      {"00", "approved"},
      {"08", "honour with identification"},
      {"10", "partial approval"},
      {"12", "invalid transaction"},
      {"13", "invalid amount"},
      {"14", "invalid card number"},
      {"30", "format error"},
      {"51", "insufficient funds"},
      {"54", "expired card"},
      {"57", "transaction not permitted to cardholder"},
      {"61", "exceeds amount limit"},
      {"62", "restricted card"},
      {"65", "exceeds frequency limit"},
      {"85", "no reason to decline"},
      {"91", "issuer unavailable"},
      {"96", "system malfunction"},
  };
  for (const auto& m : meanings) {
    if (code == m.code) return m.meaning;
  }
  return "";
}

std::string masked(std::string_view pan) {
  if (pan.size() < 13) return std::string(pan.size(), '*');
  const std::size_t shown = shown_leading_digits(pan.size());
  return std::string(pan.substr(0, shown)) + std::string(pan.size() - shown - 4, '*') +
         std::string(pan.substr(pan.size() - 4));
}

std::string transmission_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%m%d%H%M%S", &utc);
  return text;
}

// RRN: last digit of the year, day of the year, hour, then the STAN (12 digits).
std::string rrn_for(const std::string& stan) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[16];
  std::snprintf(text, sizeof text, "%d%03d%02d", (utc.tm_year + 1900) % 10, utc.tm_yday + 1,
                utc.tm_hour);
  return std::string(text) + stan;
}

std::string fresh_stan() {
  std::random_device device;
  return zero_padded(1 + static_cast<std::int64_t>(device() % 999'999), 6);
}

// Connects with a deadline; -1 with *error set on failure.
int connect_to(const std::string& host, std::uint16_t port, int timeout_ms, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    *error = "not an IP address: " + host;
    return -1;
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rc = fd < 0 ? -1 : connect(fd, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
    int so_error = 0;
    socklen_t length = sizeof so_error;
    if (rc == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length) != 0 || so_error)) {
      errno = so_error;
      rc = -1;
    } else if (rc != 0) {
      errno = ETIMEDOUT;
    }
  }
  if (rc != 0) {
    *error = std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

// Waits up to the deadline for fd to be ready; false on timeout or error.
bool ready(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
  if (left <= 0) return false;
  pollfd p{fd, events, 0};
  return poll(&p, 1, static_cast<int>(left)) == 1;
}

bool write_all(int fd, const std::string& data, std::chrono::steady_clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    if (!ready(fd, POLLOUT, deadline)) return false;
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (n > 0) sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_exactly(int fd, std::size_t count, std::string* out,
                  std::chrono::steady_clock::time_point deadline) {
  out->clear();
  char buffer[4096];
  while (out->size() < count) {
    if (!ready(fd, POLLIN, deadline)) return false;
    const ssize_t n = recv(fd, buffer, std::min(sizeof buffer, count - out->size()), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
    if (n > 0) out->append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

Status parse_endpoint_text(const std::string& text, SimulateOptions* o) {
  const auto colon = text.rfind(':');
  std::uint64_t port = 0;
  if (colon == std::string::npos || !parse_digits(text.substr(colon + 1), &port) || port == 0 ||
      port > 65'535) {
    return Status::error("expected HOST:PORT, e.g. 127.0.0.1:8583");
  }
  o->host = text.substr(0, colon);
  if (o->host.size() >= 2 && o->host.front() == '[' && o->host.back() == ']') {
    o->host = o->host.substr(1, o->host.size() - 2);
  }
  o->port = static_cast<std::uint16_t>(port);
  return Status();
}

}  // namespace

std::optional<std::int64_t> parse_decimal_amount(std::string_view text, Currency currency) {
  const int exponent = currency_info(currency).exponent;
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (!all_digits(whole) || whole.size() > 12 ||
      (dot != std::string_view::npos && (fraction.empty() || !all_digits(fraction))) ||
      fraction.size() > static_cast<std::size_t>(exponent)) {
    return std::nullopt;
  }
  std::uint64_t units = 0;
  std::uint64_t minor = 0;
  if (!parse_digits(whole, &units) || (!fraction.empty() && !parse_digits(fraction, &minor))) {
    return std::nullopt;
  }
  std::uint64_t scale = 1;
  for (int i = 0; i < exponent; ++i) scale *= 10;
  for (std::size_t i = fraction.size(); i < static_cast<std::size_t>(exponent); ++i) minor *= 10;
  const std::uint64_t total = units * scale + minor;
  if (total > 999'999'999'999ULL) return std::nullopt;  // DE4 has 12 digits
  return static_cast<std::int64_t>(total);
}

std::string simulate_usage() {
  return R"(usage: ledgerd simulate KIND [flags]

Sends one ISO 8583 message to ledgerd, prints the request and the answer field by field
(the PAN masked), and exits 0 when approved, 1 when declined, 2 on a usage error, 3 when no
answer came (connection refused, timeout).

KIND
  authorize     0100 authorization (a hold)            --pan --amount [--cash] [--partial]
  incremental   0100 adding to an authorization        --pan --amount --original
  complete      0220 completion (capture, tip included) --pan --amount --original
  reverse       0400 reversal, all of it or partly     --pan --original [--actual] [--amount]
  advice        0120 the network approved (or not)     --pan --amount [--code] [--original]
  refund        0200 refund (0220 with --original)     --pan --amount [--original]
  purchase      0200 single-message purchase           --pan --amount [--cash]
  balance       0100 balance inquiry                   --pan
  echo          0800 echo test

  instant-payment   another bank's customer pays one of ledgerd's IBANs (SCT Inst pacs.008)
  clearing-house    the instant clearing house ledgerd's instant transfers go to
                    (ledgerd simulate instant-payment --help)
  clearing-file     the scheme's clearing file of the authorizations this simulator had
                    approved, for POST /v1/card-clearing/import (--pan DIGITS --out FILE)

flags
  --connect HOST:PORT   ledgerd's ISO 8583 listener (default: LEDGER_ISO8583_LISTEN or
                        127.0.0.1:8583)
  --hex-bitmap          ASCII-hex bitmaps (default: binary, or LEDGER_ISO8583_BITMAP=hex)
  --pan DIGITS          the card number (DE2; printed masked, never stored)
  --expiry YYMM         DE14 (default: not sent)
  --amount 12.40        in the currency's units (JPY 1240, BHD 1.240)
  --actual 8.00         reverse: what the sale really came to (DE95; default: nothing)
  --currency EUR        ISO 4217 alpha or numeric code (default EUR)
  --mcc 5812            merchant category code (default 5999)
  --merchant "NAME"     merchant name and location (DE43, up to 40 characters)
  --terminal ID         DE41 (8 characters, default SIM00001)
  --acquirer DIGITS     DE32 (default 12345)
  --country 276         DE19, ISO 3166 numeric (default: not sent)
  --original KEY        the original's STAN (6 digits) or RRN (12 characters)
  --code 00             advice: the network's response code (default 00)
  --stan DIGITS         this message's STAN (default: random)
  --cash                DE3 01 (cash) instead of 00 (purchase)
  --partial             the acquirer supports partial approval (DE48 subelement 61)
  --contactless         POS entry mode 071 instead of 051 (chip)
  --timeout-ms N        wait for the answer at most this long (default 10000)
  --state FILE          where originals are remembered (default: LEDGER_SIMULATE_STATE or
                        ~/.local/state/ledgerd/simulate.tsv)
)";
}

Status parse_simulate(const std::vector<std::string>& args, SimulateOptions* out) {
  SimulateOptions o;
  o.currency = *currency_from_alpha("EUR");
  o.state_file = default_state_file();
  const char* listen = std::getenv("LEDGER_ISO8583_LISTEN");
  bool connect_given = false;
  if (const char* bitmap = std::getenv("LEDGER_ISO8583_BITMAP"))
    o.hex_bitmap = std::string(bitmap) == "hex";
  if (args.empty()) return Status::error("which message? (authorize, complete, reverse, ...)");
  bool known = false;
  for (const KindName& k : kind_names) {
    if (args[0] == k.name) {
      o.kind = k.kind;
      known = true;
    }
  }
  if (!known) return Status::error("unknown kind \"" + args[0] + "\"");
  std::optional<std::string> amount_text;
  std::optional<std::string> actual_text;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--cash") {
      o.cash = true;
      continue;
    }
    if (flag == "--partial") {
      o.partial = true;
      continue;
    }
    if (flag == "--contactless") {
      o.contactless = true;
      continue;
    }
    if (flag == "--hex-bitmap") {
      o.hex_bitmap = true;
      continue;
    }
    if (i + 1 >= args.size()) return Status::error(flag + ": needs a value");
    const std::string& v = args[++i];
    const auto fail = [&](const std::string& why) { return Status::error(flag + ": " + why); };
    if (flag == "--connect") {
      if (Status s = parse_endpoint_text(v, &o); !s.ok()) return fail(s.message());
      connect_given = true;
    } else if (flag == "--pan") {
      if (!all_digits(v) || v.size() < 12 || v.size() > 19) return fail("12 to 19 digits");
      o.pan = v;
    } else if (flag == "--expiry") {
      std::uint64_t yymm = 0;
      if (v.size() != 4 || !parse_digits(v, &yymm) || yymm % 100 < 1 || yymm % 100 > 12)
        return fail("YYMM, e.g. 2812");
      o.expiry = v;
    } else if (flag == "--amount") {
      amount_text = v;
    } else if (flag == "--actual") {
      actual_text = v;
    } else if (flag == "--currency") {
      std::uint64_t numeric = 0;
      const auto currency = parse_digits(v, &numeric) && numeric <= 999
                                ? currency_from_numeric(static_cast<std::uint16_t>(numeric))
                                : currency_from_alpha(v);
      if (!currency) return fail("not an ISO 4217 currency (EUR, 978, ...)");
      o.currency = *currency;
    } else if (flag == "--mcc") {
      std::uint64_t mcc = 0;
      if (v.size() != 4 || !parse_digits(v, &mcc)) return fail("4 digits, e.g. 5812");
      o.mcc = static_cast<std::uint16_t>(mcc);
    } else if (flag == "--merchant") {
      if (v.empty() || v.size() > 40 ||
          v.find_first_not_of(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") != std::string::npos)
        return fail("1 to 40 printable ASCII characters");
      o.merchant = v;
    } else if (flag == "--terminal") {
      if (v.empty() || v.size() > 8) return fail("1 to 8 characters");
      o.terminal = v;
    } else if (flag == "--acquirer") {
      if (!all_digits(v) || v.size() > 11) return fail("1 to 11 digits");
      o.acquirer = v;
    } else if (flag == "--country") {
      if (v.size() != 3 || !all_digits(v)) return fail("3 digits (ISO 3166 numeric)");
      o.country = v;
    } else if (flag == "--original") {
      if (!((v.size() == 6 && all_digits(v)) || v.size() == 12))
        return fail("a STAN (6 digits) or an RRN (12 characters)");
      o.original = v;
    } else if (flag == "--code") {
      if (v.size() != 2) return fail("2 characters, e.g. 00 or 05");
      o.code = v;
    } else if (flag == "--stan") {
      if (!all_digits(v) || v.size() > 6) return fail("1 to 6 digits");
      o.stan = zero_padded(std::atoll(v.c_str()), 6);
    } else if (flag == "--timeout-ms") {
      std::uint64_t ms = 0;
      if (!parse_digits(v, &ms) || ms < 1 || ms > 600'000) return fail("1 to 600000");
      o.timeout_ms = static_cast<int>(ms);
    } else if (flag == "--state") {
      o.state_file = v;
    } else {
      return Status::error("unknown flag " + flag);
    }
  }
  for (const auto& [text, target, name] : {std::tuple{amount_text, &o.amount, "--amount"},
                                           std::tuple{actual_text, &o.actual, "--actual"}}) {
    if (!text) continue;
    *target = parse_decimal_amount(*text, o.currency);
    if (!*target) {
      return Status::error(std::string(name) + ": not an amount in " +
                           std::string(currency_alpha(o.currency)) + " (e.g. 12.40; " +
                           std::to_string(currency_info(o.currency).exponent) + " decimals)");
    }
  }
  if (!connect_given && listen != nullptr) {
    if (Status s = parse_endpoint_text(listen, &o); !s.ok() || o.port == 0) {
      return Status::error(
          "LEDGER_ISO8583_LISTEN: expected HOST:PORT of a running ledgerd (or "
          "give --connect)");
    }
  }
  const SimulateKind k = o.kind;
  const bool card = k != SimulateKind::echo;
  if (card && o.pan.empty()) return Status::error("--pan is required for " + args[0]);
  const bool needs_amount = k == SimulateKind::authorize || k == SimulateKind::incremental ||
                            k == SimulateKind::complete || k == SimulateKind::advice ||
                            k == SimulateKind::refund || k == SimulateKind::purchase;
  if (needs_amount && !o.amount) return Status::error("--amount is required for " + args[0]);
  const bool needs_original =
      k == SimulateKind::incremental || k == SimulateKind::complete || k == SimulateKind::reverse;
  if (needs_original && o.original.empty())
    return Status::error("--original (STAN or RRN) is required for " + args[0]);
  *out = o;
  return Status();
}

iso8583::Message build_simulated_request(const SimulateOptions& o, const std::string& transmission,
                                         const std::string& stan) {
  using iso8583::Message;
  Message m;
  m.set(7, transmission);
  m.set(11, stan);
  if (o.kind == SimulateKind::echo) {
    m.mti = "0800";
    m.set(70, "301");
    return m;
  }
  const std::optional<Remembered> original =
      o.original.empty() ? std::nullopt : find_original(o.state_file, o.original);
  std::string rrn = rrn_for(stan);
  switch (o.kind) {
    case SimulateKind::authorize:
    case SimulateKind::incremental:
    case SimulateKind::balance:
      m.mti = "0100";
      break;
    case SimulateKind::advice:
      m.mti = "0120";
      break;
    case SimulateKind::purchase:
      m.mti = "0200";
      break;
    case SimulateKind::refund:
      m.mti = o.original.empty() ? "0200" : "0220";
      break;
    case SimulateKind::complete:
      m.mti = "0220";
      break;
    case SimulateKind::reverse:
      m.mti = "0400";
      break;
    case SimulateKind::echo:
      break;
  }
  const char* processing = o.kind == SimulateKind::balance  ? "310000"
                           : o.kind == SimulateKind::refund ? "200000"
                           : o.cash                         ? "010000"
                                                            : "000000";
  m.set(2, o.pan);
  m.set(3, processing);
  m.set(4, zero_padded(o.kind == SimulateKind::balance ? 0 : o.amount.value_or(0), 12));
  if (o.kind == SimulateKind::reverse && !o.amount) m.clear(4);
  if (!o.expiry.empty()) m.set(14, o.expiry);
  m.set(18, zero_padded(o.mcc, 4));
  if (!o.country.empty()) m.set(19, o.country);
  m.set(22, o.contactless ? "071" : "051");
  m.set(32, o.acquirer);
  m.set(41, o.terminal + std::string(8 - o.terminal.size(), ' '));
  m.set(42, "LEDGERDSIM00001");
  m.set(43, o.merchant + std::string(40 - o.merchant.size(), ' '));
  if (o.partial) m.set(48, "R610510000");  // Mastercard DE48 SE61: partial approval supported
  m.set(49, zero_padded(currency_info(o.currency).numeric, 3));
  if (o.kind == SimulateKind::advice) m.set(39, o.code);
  if (!o.original.empty()) {
    if (o.kind == SimulateKind::advice && original) {
      // An advice carries its original's keys: it reports what happened to that message.
      m.set(7, original->transmission);
      m.set(11, original->stan);
      m.set(32, original->acquirer);
      rrn = original->rrn;
    } else if (original) {
      m.set(90, "0100" + original->stan + original->transmission +
                    zero_padded(std::atoll(original->acquirer.c_str()), 11) + std::string(11, '0'));
      rrn = original->rrn;
    } else {
      // Not one of ours: the server matches on the card, RRN, STAN and acquirer.
      if (o.original.size() == 12) {
        rrn = o.original;
        m.set(11, o.original.substr(6));
      } else {
        m.set(11, o.original);
      }
    }
  }
  m.set(37, rrn);
  if (o.kind == SimulateKind::reverse && o.actual) {
    m.set(95, zero_padded(*o.actual, 12) + std::string(12, '0') + "C00000000C00000000");
  }
  return m;
}

std::string describe_message(const iso8583::Message& m, bool request) {
  std::string text = std::string(request ? "-> " : "<- ") + m.mti + "\n";
  for (int field = 2; field <= 128; ++field) {
    if (!m.has(field)) continue;
    const std::string value = field == 2 ? masked(m.get(field)) : m.get(field);
    char line[256];
    std::snprintf(line, sizeof line, "   DE%-3d %-30s %s", field, field_name(field), value.c_str());
    text += line;
    if (field == 39) {
      const char* meaning = response_meaning(m.get(39));
      if (*meaning != '\0') text += std::string("  (") + meaning + ")";
    }
    text += "\n";
  }
  return text;
}

// `ledgerd simulate clearing-file --pan DIGITS --out FILE`: the acquirer's side of the day. A
// scheme clearing file (ISO 8583:1993, RDW framed) with a first presentment (1240/200) for every
// authorization this simulator had approved, at its approved amount, carrying its approval code
// and life cycle id, between a 1644 header and a trailer with the counts and amounts.
int run_clearing_file(const std::vector<std::string>& args) {
  std::string pan_text;
  std::string out_file;
  std::string state = default_state_file();
  std::string merchant = "SIMULATED MERCHANT\\1 Main Street\\Berlin\\10115      BE DEU";
  bool ebcdic = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--ebcdic") {
      ebcdic = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "ledgerd simulate clearing-file: %s needs a value\n", args[i].c_str());
      return 2;
    }
    const std::string& v = args[++i];
    if (args[i - 1] == "--connect") {
      continue;  // (the card link: not used to write a file)
    } else if (args[i - 1] == "--pan") {
      pan_text = v;
    } else if (args[i - 1] == "--out") {
      out_file = v;
    } else if (args[i - 1] == "--state") {
      state = v;
    } else if (args[i - 1] == "--merchant") {
      merchant = v;
    } else {
      std::fprintf(stderr, "ledgerd simulate clearing-file: unknown flag %s\n",
                   args[i - 1].c_str());
      return 2;
    }
  }
  if (pan_text.empty() || out_file.empty() || pan_text.size() < 12 || pan_text.size() > 19 ||
      pan_text.find_first_not_of("0123456789") != std::string::npos) {
    std::fputs(
        "usage: ledgerd simulate clearing-file --pan DIGITS --out FILE [--state FILE] "
        "[--merchant TEXT] [--ebcdic]\n"
        "       writes the scheme's clearing file of the authorizations this simulator had "
        "approved\n"
        "       (one first presentment each), for POST /v1/card-clearing/import\n",
        stderr);
    return 2;
  }
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[40];
  std::snprintf(date, sizeof date, "%02d%02d%02d", utc.tm_year % 100, utc.tm_mon + 1, utc.tm_mday);
  char file_id[80];
  std::snprintf(file_id, sizeof file_id, "002%s%011d%05d", date, 12345,
                static_cast<int>(now % 86400 / 3));
  namespace cf = ledger::clearing;
  std::vector<cf::Message> presentments;
  std::uint64_t checksum = 0;
  for (const Remembered& r : load_state(state)) {
    if (r.approval == "-" || r.amount == "-" || r.currency == "-") continue;
    cf::Message& p = presentments.emplace_back();
    p.mti = "1240";
    p.set(2, pan_text);
    p.set(3, "000000");
    p.set(4, r.amount);
    p.set(12, std::string(date) + r.transmission.substr(4, 6));
    p.set(24, "200");
    p.set(26, r.mcc == "-" ? "5999" : r.mcc);
    // Acquirer reference data: 23 digits, unique per transaction.
    std::string ard = "7" + std::string(6 - std::min<std::size_t>(6, r.acquirer.size()), '0') +
                      r.acquirer.substr(0, 6) + date + r.transmission.substr(4, 4) + r.stan;
    ard = ard.substr(0, 23);
    ard += std::string(23 - ard.size(), '0');
    p.set(31, ard);
    p.set(37, r.rrn);
    p.set(38, r.approval);
    p.set(43, merchant.substr(0, 99));
    p.set(49, r.currency);
    if (r.life_cycle != "-") p.set(63, r.life_cycle);
    p.set(73, date);
    std::uint64_t amount = 0;
    (void)parse_digits(r.amount, &amount);
    checksum += amount;
  }
  std::string file;
  std::string error;
  if (!cf::write_file(file_id, date, presentments,
                      ebcdic ? cf::Charset::ebcdic : cf::Charset::ascii, cf::Framing::rdw, &file,
                      &error)) {
    std::fprintf(stderr, "ledgerd simulate clearing-file: %s\n", error.c_str());
    return 2;
  }
  std::ofstream out(out_file, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  if (!out) {
    std::fprintf(stderr, "ledgerd simulate clearing-file: cannot write %s\n", out_file.c_str());
    return 3;
  }
  std::printf("clearing file %s: %llu first presentments, %s minor units, file id %s\n",
              out_file.c_str(), static_cast<unsigned long long>(presentments.size()),
              std::to_string(checksum).c_str(), file_id);
  return 0;
}

int run_simulate(const std::vector<std::string>& args) {
  if (is_sepa_simulation(args)) return run_simulate_sepa(args);
  if (!args.empty() && args[0] == "clearing-file") return run_clearing_file(args);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    std::fputs(simulate_usage().c_str(), stdout);
    return 0;
  }
  SimulateOptions o;
  if (Status s = parse_simulate(args, &o); !s.ok()) {
    std::fprintf(stderr, "ledgerd simulate: %s (see ledgerd simulate --help)\n",
                 s.message().c_str());
    return 2;
  }
  const std::string stan = o.stan.empty() ? fresh_stan() : o.stan;
  const iso8583::Message request = build_simulated_request(o, transmission_now(), stan);
  const auto bitmap =
      o.hex_bitmap ? iso8583::BitmapEncoding::ascii_hex : iso8583::BitmapEncoding::binary;
  std::string body;
  std::string error;
  if (!iso8583::encode(request, bitmap, &body, &error)) {
    std::fprintf(stderr, "ledgerd simulate: cannot encode the request: %s\n", error.c_str());
    return 2;
  }
  std::fputs(describe_message(request, true).c_str(), stdout);
  std::fflush(stdout);
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::milliseconds(o.timeout_ms);
  const int fd = connect_to(o.host, o.port, o.timeout_ms, &error);
  if (fd < 0) {
    std::fprintf(stderr, "ledgerd simulate: cannot connect to %s:%u: %s\n", o.host.c_str(), o.port,
                 error.c_str());
    return 3;
  }
  std::string frame;
  frame.push_back(static_cast<char>(body.size() >> 8));
  frame.push_back(static_cast<char>(body.size() & 0xFF));
  frame += body;
  iso8583::Message reply;
  bool answered = write_all(fd, frame, deadline);
  while (answered) {
    std::string prefix;
    std::string answer;
    if (!read_exactly(fd, 2, &prefix, deadline) ||
        !read_exactly(fd,
                      (static_cast<std::size_t>(static_cast<unsigned char>(prefix[0])) << 8) |
                          static_cast<unsigned char>(prefix[1]),
                      &answer, deadline)) {
      answered = false;
      break;
    }
    iso8583::DecodeError decode_error;
    reply = iso8583::Message{};
    if (iso8583::decode(answer, bitmap, &reply, &decode_error) && reply.has(11) &&
        reply.get(11) == request.get(11)) {
      break;  // ours (anything else on the link is skipped)
    }
  }
  close(fd);
  if (!answered) {
    std::fprintf(stderr, "ledgerd simulate: no answer from %s:%u within %d ms\n", o.host.c_str(),
                 o.port, o.timeout_ms);
    return 3;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  std::fputs(describe_message(reply, false).c_str(), stdout);
  const std::string code = reply.has(39) ? reply.get(39) : "";
  const bool approved =
      code == "00" || code == "10" || code == "85" || code == "08" || code == "11";
  const bool original = o.kind == SimulateKind::authorize || o.kind == SimulateKind::purchase ||
                        (o.kind == SimulateKind::refund && o.original.empty()) ||
                        (o.kind == SimulateKind::advice && o.original.empty());
  if (original) {
    Remembered r{request.get(11), request.get(37), request.get(7), o.acquirer};
    if (approved && o.kind == SimulateKind::authorize && reply.has(38)) {
      r.approval = reply.get(38);
      if (reply.has(63)) r.life_cycle = reply.get(63);
      r.amount = reply.has(4) ? reply.get(4) : request.get(4);
      r.currency = request.has(49) ? request.get(49) : "-";
      r.mcc = request.has(18) ? request.get(18) : "-";
    }
    remember(o.state_file, r);
  }
  // Completed online (0220) or reversed in full: the acquirer will not present it.
  if (approved && !o.original.empty() &&
      (o.kind == SimulateKind::complete || (o.kind == SimulateKind::reverse && !o.actual))) {
    settle_remembered(o.state_file, o.original);
  }
  const bool decision = o.kind == SimulateKind::authorize || o.kind == SimulateKind::incremental ||
                        o.kind == SimulateKind::purchase || o.kind == SimulateKind::balance ||
                        o.kind == SimulateKind::refund;
  std::printf("%s in %lld ms: %s %s (STAN %s, RRN %s)\n",
              approved ? (decision ? "approved" : "accepted") : (decision ? "declined" : "refused"),
              static_cast<long long>(ms), code.c_str(), response_meaning(code),
              request.get(11).c_str(), request.has(37) ? request.get(37).c_str() : "-");
  return approved ? 0 : 1;
}

}  // namespace ledger::app
