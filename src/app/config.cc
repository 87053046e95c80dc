#include "app/config.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "ledger/card_rules.h"
#include "ledger/limits.h"
#include "ledger/parse.h"
#include "ledger/sepa.h"
#include "outbound/crypto.h"
#include "outbound/destination.h"

namespace ledger::app {
namespace {

struct Setting {
  const char* flag;  // without the leading "--"
  const char* env;
  const char* help;
  Status (*apply)(const std::string& value, Config* config);
};

Status parse_u32(const std::string& value, std::uint32_t min, std::uint32_t max,
                 std::uint32_t* out) {
  std::uint32_t parsed = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error != std::errc() || end != value.data() + value.size() || parsed < min || parsed > max) {
    return Status::error("expected a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", got \"" + value + "\"");
  }
  *out = parsed;
  return Status();
}

const Setting settings[] = {
    {"database-url", "LEDGER_DATABASE_URL", "PostgreSQL libpq URI (postgresql://user@host:port/db)",
     [](const std::string& v, Config* c) {
       c->database_url = v;
       return Status();
     }},
    {"http-listen", "LEDGER_HTTP_LISTEN", "REST listener HOST:PORT (default 127.0.0.1:8080)",
     [](const std::string& v, Config* c) { return parse_endpoint(v, &c->http_listen); }},
    {"iso8583-listen", "LEDGER_ISO8583_LISTEN",
     "ISO 8583 listener HOST:PORT (default 127.0.0.1:8583)",
     [](const std::string& v, Config* c) { return parse_endpoint(v, &c->iso8583_listen); }},
    {"log-level", "LEDGER_LOG_LEVEL", "trace|debug|info|warn|error|critical|off (default info)",
     [](const std::string& v, Config* c) {
       for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
         if (v == level) {
           c->log_level = v;
           return Status();
         }
       }
       return Status::error("unknown log level \"" + v + "\"");
     }},
    {"migrations-dir", "LEDGER_MIGRATIONS_DIR", "folder of NNNN_name.sql migrations",
     [](const std::string& v, Config* c) {
       c->migrations_dir = v;
       return Status();
     }},
    {"lease-ms", "LEDGER_LEASE_MS",
     "how long the ledger lease outlives its last renewal: the longest a standby waits for a "
     "dead active, and a restart after kill -9 for itself (default 1000)",
     [](const std::string& v, Config* c) { return parse_u32(v, 200, 60'000, &c->lease_ms); }},
    {"max-clock-skew-ms", "LEDGER_MAX_CLOCK_SKEW_MS",
     "how far this host's clock may be from PostgreSQL's: beyond it the lease is refused, and "
     "an active whose clock drifts that far steps down (default 500)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 10, 60'000, &c->max_clock_skew_ms);
     }},
    {"snapshot-dir", "LEDGER_SNAPSHOT_DIR",
     "directory for engine snapshots, so that a restart loads only the journal's tail "
     "(created if missing; default: none, every start loads the whole journal)",
     [](const std::string& v, Config* c) {
       c->snapshot_dir = v;
       return Status();
     }},
    {"snapshot-interval-s", "LEDGER_SNAPSHOT_INTERVAL_S",
     "seconds between engine snapshots while the journal moves on (default 300)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 86'400, &c->snapshot_interval_s);
     }},
    {"group-commit-interval-us", "LEDGER_GROUP_COMMIT_INTERVAL_US",
     "under load, the least time between the starts of two group commits: requests arriving "
     "meanwhile join the next one; a COMMIT that held a single request is never followed by a "
     "pause (0: none; default 2000, at most 50000)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, limits::group_commit_interval_us_max, &c->group_commit_interval_us);
     }},
    {"io-threads", "LEDGER_IO_THREADS", "network I/O threads (default 1)",
     [](const std::string& v, Config* c) { return parse_u32(v, 1, 64, &c->io_threads); }},
    {"shutdown-grace-ms", "LEDGER_SHUTDOWN_GRACE_MS",
     "how long shutdown waits for in-flight requests (default 10000)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, 600'000, &c->shutdown_grace_ms);
     }},
    {"accounts-max", "LEDGER_ACCOUNTS_MAX", "account capacity, preallocated (default 1000000)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 1'000'000'000, &c->accounts_max);
     }},
    {"transfers-max", "LEDGER_TRANSFERS_MAX",
     "remembered transfer ids, preallocated at 168 bytes each (default 4000000)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 16, 2'000'000'000, &c->transfers_max);
     }},
    {"batch-max", "LEDGER_BATCH_MAX", "commands per engine batch (default 8192)",
     [](const std::string& v, Config* c) { return parse_u32(v, 1, 1'000'000, &c->batch_max); }},
    {"ingress-max", "LEDGER_INGRESS_MAX", "commands waiting for the engine (default 65536)",
     [](const std::string& v, Config* c) { return parse_u32(v, 2, 16'777'216, &c->ingress_max); }},
    {"iso8583-bitmap", "LEDGER_ISO8583_BITMAP",
     "binary (default) or hex: how the ISO 8583 bitmap is sent",
     [](const std::string& v, Config* c) {
       if (v != "binary" && v != "hex") return Status::error("expected binary or hex");
       c->iso8583_hex_bitmap = v == "hex";
       return Status();
     }},
    {"auth-deadline-ms", "LEDGER_AUTH_DEADLINE_MS",
     "every card authorization is answered within this (default 2000); else 91",
     [](const std::string& v, Config* c) { return parse_u32(v, 1, 60'000, &c->auth_deadline_ms); }},
    {"iso8583-read-timeout-ms", "LEDGER_ISO8583_READ_TIMEOUT_MS",
     "a started ISO 8583 frame must arrive whole within this (default 5000)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 10, 600'000, &c->iso8583_read_timeout_ms);
     }},
    {"iso8583-allowlist", "LEDGER_ISO8583_ALLOWLIST",
     "comma-separated source IP addresses (default: any)",
     [](const std::string& v, Config* c) {
       c->iso8583_allowlist = v;
       return Status();
     }},
    {"http-allowlist", "LEDGER_HTTP_ALLOWLIST",
     "comma-separated source IP addresses for the REST listener (default: any)",
     [](const std::string& v, Config* c) {
       c->http_allowlist = v;
       return Status();
     }},
    {"tls-cert", "LEDGER_TLS_CERT",
     "PEM certificate chain: the REST listener speaks HTTPS only (with --tls-key)",
     [](const std::string& v, Config* c) {
       c->tls_cert_file = v;
       return Status();
     }},
    {"tls-key", "LEDGER_TLS_KEY", "PEM private key of --tls-cert (never logged)",
     [](const std::string& v, Config* c) {
       c->tls_key_file = v;
       return Status();
     }},
    {"http-connections-max", "LEDGER_HTTP_CONNECTIONS_MAX",
     "open REST connections at most; more are closed at accept (default 1024)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 100'000, &c->http_connections_max);
     }},
    {"http-connections-per-source-max", "LEDGER_HTTP_CONNECTIONS_PER_SOURCE_MAX",
     "open REST connections from one source address at most (default 256)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 100'000, &c->http_connections_per_source_max);
     }},
    {"iso8583-connections-max", "LEDGER_ISO8583_CONNECTIONS_MAX",
     "open ISO 8583 connections at most; more are closed at accept (default 64)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 10'000, &c->iso8583_connections_max);
     }},
    {"iso8583-connections-per-source-max", "LEDGER_ISO8583_CONNECTIONS_PER_SOURCE_MAX",
     "open ISO 8583 connections from one source address at most (default 32)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 10'000, &c->iso8583_connections_per_source_max);
     }},
    {"rate-limit-per-key", "LEDGER_RATE_LIMIT_PER_KEY",
     "REST requests per second per API key, beyond it 429 (default 0: no limit)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, 10'000'000, &c->rate_limit_per_key);
     }},
    {"rate-burst-per-key", "LEDGER_RATE_BURST_PER_KEY",
     "requests an API key may send at once before its rate applies (default: the rate)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, 10'000'000, &c->rate_burst_per_key);
     }},
    {"pan-lookups-per-minute", "LEDGER_PAN_LOOKUPS_PER_MINUTE",
     "card creations (PAN lookups) per minute per API key, a minute's worth at once; beyond "
     "it 429 (default 60; 0: no limit, e.g. for a bulk issuance)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, 10'000'000, &c->pan_lookups_per_minute);
     }},
    {"payee-checks-per-minute", "LEDGER_PAYEE_CHECKS_PER_MINUTE",
     "Verification of Payee checks (POST /v1/payee-verifications) per minute per API key, a "
     "minute's worth at once; beyond it 429 (default 600; 0: no limit)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, 10'000'000, &c->payee_checks_per_minute);
     }},
    {"home-country", "LEDGER_HOME_COUNTRY",
     "ISO 3166 numeric country of the issuer (DE19 elsewhere = abroad); default: none",
     [](const std::string& v, Config* c) {
       if (v.size() != 3 || v.find_first_not_of("0123456789") != std::string::npos) {
         return Status::error("expected a 3-digit ISO 3166 numeric code, e.g. 276");
       }
       c->home_country = v;
       return Status();
     }},
    {"preauthorization-mccs", "LEDGER_PREAUTHORIZATION_MCCS",
     "MCCs whose holds live --preauthorization-hold-days (default "
     "3351-3999,4411,7011,7512-7513,7519: car rental, lodging, cruise lines)",
     [](const std::string& v, Config* c) {
       std::vector<iso8583::MccRange> ranges;
       if (Status s = iso8583::parse_mcc_ranges(v, &ranges); !s.ok()) return s;
       c->preauthorization_mccs = v;
       return Status();
     }},
    {"over-capture", "LEDGER_OVER_CAPTURE",
     "completion above the hold per MCC group, MCCs:percent[:maximum] separated by ';' "
     "(default 5812-5814,4121,7230:20;3351-3999,7011,7512-7513,7519:15;5541-5542:0:17500)",
     [](const std::string& v, Config* c) {
       std::vector<iso8583::OverCaptureGroup> groups;
       if (Status s = iso8583::parse_over_capture(v, &groups); !s.ok()) return s;
       c->over_capture = v;
       return Status();
     }},
    {"hold-days", "LEDGER_HOLD_DAYS", "days an approved card hold lives (default 7)",
     [](const std::string& v, Config* c) { return parse_u32(v, 1, 60, &c->hold_days); }},
    {"preauthorization-hold-days", "LEDGER_PREAUTHORIZATION_HOLD_DAYS",
     "days a pre-authorization hold lives (default 30)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 60, &c->preauthorization_hold_days);
     }},
    {"cards-max", "LEDGER_CARDS_MAX", "card capacity, preallocated (default 100000)",
     [](const std::string& v, Config* c) { return parse_u32(v, 1, 100'000'000, &c->cards_max); }},
    {"pan-secret", "LEDGER_PAN_SECRET",
     "HMAC key (at least 32 characters) for storing card numbers; never logged",
     [](const std::string& v, Config* c) {
       if (v.size() < 32) return Status::error("the PAN secret must be at least 32 characters");
       c->pan_secret = v;
       return Status();
     }},
    {"webhook-key", "LEDGER_WEBHOOK_KEY",
     "64 hex digits: the AES-256 key sealing webhook URLs and secrets at rest; never logged "
     "(unset: subscriptions cannot be made)",
     [](const std::string& v, Config* c) {
       const auto key = outbound::parse_seal_key(v);
       if (!key) return Status::error("the webhook key must be 64 hexadecimal digits");
       c->webhook_key = *key;
       return Status();
     }},
    {"webhook-allowlist", "LEDGER_WEBHOOK_ALLOWLIST",
     "comma-separated hosts or CIDRs that webhook deliveries may reach although private or "
     "loopback (and over plain http://); default: none",
     [](const std::string& v, Config* c) {
       std::string error;
       if (!outbound::parse_allowlist(v, &error)) return Status::error(error);
       c->webhook_allowlist = v;
       return Status();
     }},
    {"clock", "LEDGER_CLOCK",
     "system (default) or manual: a test clock that POST /v1/test-clock/advance moves forward "
     "(for tests only; logged loudly and shown on /ready and /metrics)",
     [](const std::string& v, Config* c) {
       if (v != "manual" && v != "system") {
         return Status::error("LEDGER_CLOCK must be system or manual");
       }
       c->clock_manual = v == "manual";
       return Status();
     }},
    {"dd-settlement-time", "LEDGER_DD_SETTLEMENT_TIME",
     "HH:MM (UTC) on the due date at which direct debits are settled (default 06:00)",
     [](const std::string& v, Config* c) {
       std::uint32_t h = 0, m = 0;
       if (v.size() != 5 || v[2] != ':' || !parse_u32(v.substr(0, 2), 0, 23, &h).ok() ||
           !parse_u32(v.substr(3, 2), 0, 59, &m).ok()) {
         return Status::error("the settlement time must be HH:MM, e.g. 06:00");
       }
       c->dd_settlement_minute = h * 60 + m;
       return Status();
     }},
    {"dd-wait-hours", "LEDGER_DD_WAIT_HOURS",
     "hours an unfunded direct debit waits for funds before it is returned (default 48)",
     [](const std::string& v, Config* c) { return parse_u32(v, 0, 24 * 14, &c->dd_wait_hours); }},
    {"dd-return-margin-hours", "LEDGER_DD_RETURN_MARGIN_HOURS",
     "hours kept before the D+5 return deadline (default 4)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, 24 * 4, &c->dd_return_margin_hours);
     }},
    {"iban-bank-code", "LEDGER_IBAN_BANK_CODE",
     "country and bank code of generated IBANs, e.g. DE10010010 (default)",
     [](const std::string& v, Config* c) {
       if (v.size() < 4 || v.size() > 14 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z') {
         return Status::error("the IBAN bank code is a country code and digits, e.g. DE10010010");
       }
       for (std::size_t i = 2; i < v.size(); ++i) {
         if (v[i] < '0' || v[i] > '9') {
           return Status::error("the IBAN bank code is a country code and digits, e.g. DE10010010");
         }
       }
       c->iban_country = v.substr(0, 2);
       c->iban_bank_code = v.substr(2);
       return Status();
     }},
    {"bic", "LEDGER_BIC",
     "this bank's BIC (8 or 11 characters), written in the pacs.002 and pacs.004 files "
     "(default LEDGDEFFXXX)",
     [](const std::string& v, Config* c) {
       if (!sepa::bic_valid(v)) {
         return Status::error(
             "LEDGER_BIC must be a BIC (ISO 9362): 4 letters, a country code, 2 letters or "
             "digits, and an optional 3-character branch");
       }
       c->bic = v;
       return Status();
     }},
    {"sct-inst-url", "LEDGER_SCT_INST_URL",
     "the instant clearing house's endpoint an SCT Inst pacs.008 is POSTed to (http(s)://...; "
     "default none: instant transfers out answer 503)",
     [](const std::string& v, Config* c) {
       std::string why;
       if (!v.empty() && !outbound::parse_url(v, &why)) return Status::error(why);
       c->sct_inst_url = v;
       return Status();
     }},
    {"sct-inst-token", "LEDGER_SCT_INST_TOKEN",
     "bearer token sent to LEDGER_SCT_INST_URL (default none)",
     [](const std::string& v, Config* c) {
       c->sct_inst_token = v;
       return Status();
     }},
    {"sct-inst-timeout-ms", "LEDGER_SCT_INST_TIMEOUT_MS",
     "how long an instant transfer out waits for its pacs.002 before its hold is released and "
     "its status asked (pacs.028); default 10000 (the SCT Inst rulebook's time-out)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 100, 60'000, &c->sct_inst_timeout_ms);
     }},
    {"sct-inst-max-amount", "LEDGER_SCT_INST_MAX_AMOUNT",
     "largest incoming instant payment in euro cents, beyond it RJCT AM23 (default 10000000, "
     "100,000.00 EUR)",
     [](const std::string& v, Config* c) {
       std::uint64_t wide = 0;
       if (v.size() > 11 || !parse_digits(v, &wide) || wide == 0 ||
           wide > static_cast<std::uint64_t>(sepa::amount_max)) {
         return Status::error("expected euro cents from 1 to 99999999999");
       }
       c->sct_inst_max_amount = static_cast<std::int64_t>(wide);
       return Status();
     }},
    {"sct-cutoff", "LEDGER_SCT_CUTOFF",
     "the daily cut-off of the regular SCT file, HH:MM UTC (default 14:00); transfers accepted "
     "later go into the next TARGET2 business day's file",
     [](const std::string& v, Config* c) {
       std::uint64_t h = 0;
       std::uint64_t m = 0;
       if (v.size() != 5 || v[2] != ':' || !parse_digits(v.substr(0, 2), &h) ||
           !parse_digits(v.substr(3), &m) || h > 23 || m > 59) {
         return Status::error("expected HH:MM (UTC), e.g. 14:00");
       }
       c->sct_cutoff_minute = static_cast<std::uint32_t>(h * 60 + m);
       return Status();
     }},
    {"sct-auto-cutoff", "LEDGER_SCT_AUTO_CUTOFF",
     "on (default): ledgerd cuts the regular SCT files itself at LEDGER_SCT_CUTOFF on TARGET2 "
     "business days; off: only POST /v1/credit-transfers/files cuts them",
     [](const std::string& v, Config* c) {
       if (v != "on" && v != "off") return Status::error("expected on or off");
       c->sct_auto_cutoff = v == "on";
       return Status();
     }},
    {"clearing-match-days", "LEDGER_CLEARING_MATCH_DAYS",
     "how many days before a clearing record's transaction date its authorization may be "
     "(the date window of the approval-code match; default 30)",
     [](const std::string& v, Config* c) {
       std::uint64_t n = 0;
       if (!parse_digits(v, &n) || n < 1 || n > 400) return Status::error("expected 1 to 400");
       c->clearing_match_days = static_cast<std::uint32_t>(n);
       return Status();
     }},
    {"clearing-import-rate", "LEDGER_CLEARING_IMPORT_RATE",
     "clearing records one import posts per second, to spread a day's file over more time "
     "(default 0: as fast as the ledger takes them)",
     [](const std::string& v, Config* c) {
       std::uint64_t n = 0;
       if (!parse_digits(v, &n) || n > 1'000'000) return Status::error("expected 0 to 1000000");
       c->clearing_import_rate = static_cast<std::uint32_t>(n);
       return Status();
     }},
    {"chargeback-days", "LEDGER_CHARGEBACK_DAYS",
     "the chargeback time limit per dispute reason, days from the processing date, e.g. "
     "fraud:120,not_received:120,not_as_described:120,duplicate:120,amount:120 (the default)",
     [](const std::string& v, Config* c) {
       std::string_view rest(v);
       while (!rest.empty()) {
         const auto comma = rest.find(',');
         const std::string_view part = rest.substr(0, comma);
         const auto colon = part.find(':');
         std::uint64_t n = 0;
         const std::string_view reason = part.substr(0, colon);
         if (colon == std::string_view::npos || !parse_digits(part.substr(colon + 1), &n) ||
             n < 1 || n > 1000 ||
             (reason != "fraud" && reason != "not_received" && reason != "not_as_described" &&
              reason != "duplicate" && reason != "amount")) {
           return Status::error(
               "expected reason:days pairs separated by commas (reasons: fraud, "
               "not_received, not_as_described, duplicate, amount)");
         }
         rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
       }
       c->chargeback_days = v;
       return Status();
     }},
    {"representment-days", "LEDGER_REPRESENTMENT_DAYS",
     "how long the acquirer may answer a chargeback with a second presentment, in days; a "
     "dispute without one by then is won (default 45)",
     [](const std::string& v, Config* c) {
       std::uint64_t n = 0;
       if (!parse_digits(v, &n) || n < 1 || n > 400) return Status::error("expected 1 to 400");
       c->representment_days = static_cast<std::uint32_t>(n);
       return Status();
     }},
    {"chargeback-cutoff", "LEDGER_CHARGEBACK_CUTOFF",
     "when the day's chargeback file is cut, HH:MM UTC (default 18:00)",
     [](const std::string& v, Config* c) {
       std::uint64_t h = 0;
       std::uint64_t m = 0;
       if (v.size() != 5 || v[2] != ':' || !parse_digits(v.substr(0, 2), &h) ||
           !parse_digits(v.substr(3), &m) || h > 23 || m > 59) {
         return Status::error("expected HH:MM (UTC), e.g. 18:00");
       }
       c->chargeback_cutoff_minute = static_cast<std::uint32_t>(h * 60 + m);
       return Status();
     }},
    {"chargeback-auto-cutoff", "LEDGER_CHARGEBACK_AUTO_CUTOFF",
     "on (default): ledgerd cuts the chargeback file itself daily at LEDGER_CHARGEBACK_CUTOFF and "
     "decides disputes whose representment window closed; off: only POST "
     "/v1/card-clearing/files cuts, and only POST /v1/disputes/{id}/decide decides",
     [](const std::string& v, Config* c) {
       if (v != "on" && v != "off") return Status::error("expected on or off");
       c->chargeback_auto_cutoff = v == "on";
       return Status();
     }},
    {"vop-url", "LEDGER_VOP_URL",
     "the payee's bank Verification of Payee endpoint ({iban, name} in, result out), asked "
     "before a credit transfer is accepted (default none: transfers record not_checked)",
     [](const std::string& v, Config* c) {
       std::string why;
       if (!v.empty() && !outbound::parse_url(v, &why)) return Status::error(why);
       c->vop_url = v;
       return Status();
     }},
    {"vop-token", "LEDGER_VOP_TOKEN", "bearer token sent to LEDGER_VOP_URL (default none)",
     [](const std::string& v, Config* c) {
       c->vop_token = v;
       return Status();
     }},
    {"dd-compensation-rate-bp", "LEDGER_DD_COMPENSATION_RATE_BP",
     "yearly rate of a direct-debit refund's compensation, in basis points (the euro short-term "
     "rate, e.g. 390 for 3.90%; default 0)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 0, 10'000, &c->dd_compensation_rate_bp);
     }},
    {"ledger-timeout-ms", "LEDGER_LEDGER_TIMEOUT_MS",
     "how long a REST request waits for its durable answer before 503 (default 5000)",
     [](const std::string& v, Config* c) {
       return parse_u32(v, 1, 600'000, &c->ledger_timeout_ms);
     }},
};

const Setting* find_flag(const std::string& name) {
  for (const Setting& setting : settings) {
    if (name == setting.flag) return &setting;
  }
  return nullptr;
}

const Setting* find_env(const std::string& name) {
  for (const Setting& setting : settings) {
    if (name == setting.env) return &setting;
  }
  return nullptr;
}

Status with_context(const Status& status, const std::string& where) {
  return status.ok() ? status : Status::error(where + ": " + status.message());
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

// File format: one NAME=value per line with the environment names; '#' starts a comment.
Status apply_file(const std::string& path, Config* config) {
  std::ifstream in(path);
  if (!in) return Status::error("cannot read config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > limits::config_file_bytes_max) {
    return Status::error("config file " + path + " is larger than " +
                         std::to_string(limits::config_file_bytes_max) + " bytes");
  }
  std::istringstream lines(text.str());
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto equals = line.find('=');
    if (equals == std::string::npos) return Status::error(where + ": expected NAME=value");
    const std::string name = trim(line.substr(0, equals));
    const Setting* setting = find_env(name);
    if (setting == nullptr) return Status::error(where + ": unknown setting " + name);
    if (Status s = setting->apply(trim(line.substr(equals + 1)), config); !s.ok()) {
      return with_context(s, where + " " + name);
    }
  }
  return Status();
}

struct FlagValue {
  const Setting* setting;
  std::string value;
};

// Splits args into the command and flag values; --config is taken out separately.
Status scan_args(const std::vector<std::string>& args, Config* config,
                 std::vector<FlagValue>* flags) {
  bool command_seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config->command = Subcommand::help;
      return Status();
    }
    if (arg == "--version") {
      config->command = Subcommand::version;
      return Status();
    }
    if (arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2);
      std::string value;
      const auto equals = name.find('=');
      if (equals != std::string::npos) {
        value = name.substr(equals + 1);
        name = name.substr(0, equals);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status::error("flag --" + name + " needs a value");
      }
      if (name == "config") {
        config->config_file = value;
        continue;
      }
      if (name == "scopes" || name == "name" || name == "expires-in-days") {
        if (config->command != Subcommand::keys_create) {
          return Status::error("--" + name + " belongs to \"ledgerd keys create\"");
        }
        if (name == "scopes") config->key_scope = value;
        if (name == "name") config->key_name = value;
        if (name == "expires-in-days") {
          if (Status s = parse_u32(value, 1, 3650, &config->key_expires_days); !s.ok()) {
            return Status::error("--expires-in-days: " + s.message());
          }
        }
        continue;
      }
      const Setting* setting = find_flag(name);
      if (setting == nullptr) return Status::error("unknown flag --" + name);
      flags->push_back({setting, value});
      continue;
    }
    if (command_seen) return Status::error("unexpected argument \"" + arg + "\"");
    command_seen = true;
    if (arg == "serve") {
      config->command = Subcommand::serve;
    } else if (arg == "migrate") {
      config->command = Subcommand::migrate;
    } else if (arg == "keys") {
      if (i + 1 >= args.size() || args[i + 1] != "create") {
        return Status::error("expected \"keys create\"");
      }
      ++i;
      config->command = Subcommand::keys_create;
    } else {
      return Status::error("unknown command \"" + arg +
                           "\" (expected serve, migrate or keys create)");
    }
  }
  return Status();
}

}  // namespace

std::string Endpoint::text() const {
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

Status parse_endpoint(const std::string& text, Endpoint* out) {
  std::string host;
  std::string port_text;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos)
      return Status::error("expected [IPv6]:PORT, got \"" + text + "\"");
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return Status::error("expected HOST:PORT, got \"" + text + "\"");
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  if (host.empty()) return Status::error("missing host in \"" + text + "\"");
  std::uint32_t port = 0;
  if (Status s = parse_u32(port_text, 0, 65535, &port); !s.ok()) {
    return Status::error("bad port in \"" + text + "\": " + s.message());
  }
  out->host = host;
  out->port = static_cast<std::uint16_t>(port);
  return Status();
}

Status parse_config(const std::vector<std::string>& args, const EnvLookup& env,
                    const std::string& default_migrations_dir, Config* out) {
  Config config;
  config.migrations_dir = default_migrations_dir;
  std::vector<FlagValue> flags;
  if (Status s = scan_args(args, &config, &flags); !s.ok()) return s;
  if (config.command == Subcommand::help || config.command == Subcommand::version) {
    *out = config;
    return Status();
  }
  if (config.config_file.empty()) config.config_file = env("LEDGER_CONFIG").value_or("");
  if (!config.config_file.empty()) {
    if (Status s = apply_file(config.config_file, &config); !s.ok()) return s;
  }
  for (const Setting& setting : settings) {
    if (const auto value = env(setting.env)) {
      if (Status s = setting.apply(*value, &config); !s.ok()) return with_context(s, setting.env);
    }
  }
  for (const FlagValue& flag : flags) {
    if (Status s = flag.setting->apply(flag.value, &config); !s.ok()) {
      return with_context(s, std::string("--") + flag.setting->flag);
    }
  }
  *out = config;
  return Status();
}

std::string usage_text() {
  std::string text =
      "usage: ledgerd [serve|migrate] [--flag value ...]\n"
      "       ledgerd keys create --scopes admin|backoffice|read --name NAME [--expires-in-days "
      "N]\n"
      "       ledgerd simulate KIND [--flag value ...]  (card simulator: ledgerd simulate --help)\n"
      "       ledgerd --help | --version\n\n"
      "commands:\n"
      "  serve        apply migrations, load state, serve REST and ISO 8583 (default)\n"
      "  migrate      apply pending migrations and exit\n"
      "  keys create  print a new API key once (only its hash is stored)\n"
      "  simulate     send one ISO 8583 message to a running ledgerd and print the answer\n\n"
      "settings (flag, environment variable; flags win over environment over --config file):\n"
      "  --config FILE, LEDGER_CONFIG: file of NAME=value lines using the environment names\n";
  for (const Setting& setting : settings) {
    text += std::string("  --") + setting.flag + ", " + setting.env + ": " + setting.help + "\n";
  }
  return text;
}

std::string Config::describe() const {
  return "http_listen=" + http_listen.text() + " iso8583_listen=" + iso8583_listen.text() +
         " log_level=" + log_level + " migrations_dir=\"" + migrations_dir +
         "\" io_threads=" + std::to_string(io_threads) +
         " shutdown_grace_ms=" + std::to_string(shutdown_grace_ms) +
         " lease_ms=" + std::to_string(lease_ms) +
         " max_clock_skew_ms=" + std::to_string(max_clock_skew_ms) + " snapshot_dir=\"" +
         snapshot_dir + "\" snapshot_interval_s=" + std::to_string(snapshot_interval_s) +
         " group_commit_interval_us=" + std::to_string(group_commit_interval_us) +
         " accounts_max=" + std::to_string(accounts_max) +
         " transfers_max=" + std::to_string(transfers_max) +
         " batch_max=" + std::to_string(batch_max) + " ingress_max=" + std::to_string(ingress_max) +
         " ledger_timeout_ms=" + std::to_string(ledger_timeout_ms) +
         " cards_max=" + std::to_string(cards_max) +
         " pan_secret=" + (pan_secret.empty() ? "unset" : "set") +
         " webhook_key=" + (webhook_key.empty() ? "unset" : "set") +
         " webhook_allowlist=" + (webhook_allowlist.empty() ? "none" : webhook_allowlist) +
         " rate_limit_per_key=" + std::to_string(rate_limit_per_key) +
         " clock=" + (clock_manual ? "manual" : "system") +
         " pan_lookups_per_minute=" + std::to_string(pan_lookups_per_minute) +
         " payee_checks_per_minute=" + std::to_string(payee_checks_per_minute) +
         " sct_inst_url=" + (sct_inst_url.empty() ? "none" : "set") +
         " sct_cutoff_minute=" + std::to_string(sct_cutoff_minute) +
         " sct_auto_cutoff=" + (sct_auto_cutoff ? "on" : "off") +
         " vop_url=" + (vop_url.empty() ? "none" : "set") +
         (config_file.empty() ? "" : " config_file=\"" + config_file + "\"");
}

}  // namespace ledger::app
