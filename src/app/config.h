// ledgerd configuration: flags, then environment, then an optional file, then defaults.
// Parsing is pure (the environment comes in as a function) so it is unit-tested alone.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ledger/limits.h"
#include "ledger/status.h"

namespace ledger::app {

struct Endpoint {
  std::string host;  // an IP literal (IPv6 without brackets)
  std::uint16_t port = 0;
  std::string text() const;
};

enum class Subcommand { serve, migrate, keys_create, help, version };

struct Config {
  Subcommand command = Subcommand::serve;
  std::string database_url;
  Endpoint http_listen{"127.0.0.1", 8080};
  Endpoint iso8583_listen{"127.0.0.1", 8583};
  std::string log_level = "info";
  std::string migrations_dir;
  std::string config_file;
  std::uint32_t io_threads = 1;
  // The ledger lease (docs/operations.md): how long a holder that stopped renewing keeps it.
  std::uint32_t lease_ms = limits::lease_ms_default;
  std::uint32_t max_clock_skew_ms = limits::max_clock_skew_ms_default;
  // Engine snapshots (docs/durability.md, "Snapshots"); empty: none.
  std::string snapshot_dir;
  std::uint32_t snapshot_interval_s = limits::snapshot_interval_s_default;
  std::uint32_t group_commit_interval_us = limits::group_commit_interval_us_default;
  std::uint32_t shutdown_grace_ms = limits::shutdown_grace_ms_default;
  std::uint32_t accounts_max = limits::accounts_max_default;
  std::uint32_t transfers_max = limits::transfers_max_default;
  std::uint32_t batch_max = limits::batch_commands_max_default;
  std::uint32_t ingress_max = limits::ingress_commands_max_default;
  std::uint32_t ledger_timeout_ms = limits::ledger_timeout_ms_default;
  std::uint32_t cards_max = limits::cards_max_default;
  bool iso8583_hex_bitmap = false;
  std::uint32_t auth_deadline_ms = limits::auth_deadline_ms;
  std::uint32_t iso8583_read_timeout_ms = limits::iso8583_read_timeout_ms;
  std::string iso8583_allowlist;  // comma-separated IP addresses; empty: any
  std::string http_allowlist;     // same, for the REST listener
  std::string tls_cert_file;      // PEM certificate chain: HTTPS on the REST listener
  std::string tls_key_file;       // PEM private key (with tls_cert_file)
  std::uint32_t http_connections_max = limits::http_connections_max_default;
  std::uint32_t http_connections_per_source_max = limits::http_connections_per_source_max_default;
  std::uint32_t iso8583_connections_max = limits::iso8583_connections_max;
  std::uint32_t iso8583_connections_per_source_max = limits::iso8583_connections_per_source_max;
  std::uint32_t rate_limit_per_key = 0;  // REST requests per second per API key; 0: off
  std::uint32_t rate_burst_per_key = 0;  // 0: the same as the rate
  // POST /v1/cards per minute per API key (burst: as many); 0: off
  std::uint32_t pan_lookups_per_minute = limits::pan_lookups_per_minute_default;
  std::uint32_t payee_checks_per_minute = limits::payee_checks_per_minute_default;
  std::string home_country;  // ISO 3166 numeric, for the "abroad" control
  // Card lifecycle MCC rules (iso8583/card_rules.h); empty: the defaults.
  std::string preauthorization_mccs;
  std::string over_capture;
  std::uint32_t hold_days = 7;
  std::uint32_t preauthorization_hold_days = 30;
  std::string pan_secret;         // never logged
  std::string webhook_key;        // 32 bytes: seals webhook URLs and secrets; never logged
  std::string webhook_allowlist;  // hosts or CIDRs deliveries may reach on private networks
  bool clock_manual = false;      // LEDGER_CLOCK=manual: the test clock (never in production)
  // Direct debits: settlement time on the due date (minutes after 00:00 UTC), how long an
  // unfunded collection waits, the margin kept before the D+5 return deadline, and the bank
  // code (country + BBAN prefix) generated IBANs use.
  std::uint32_t dd_settlement_minute = 6 * 60;
  std::uint32_t dd_wait_hours = 48;
  std::uint32_t dd_return_margin_hours = 4;
  std::string iban_country = "DE";
  std::string iban_bank_code = "10010010";
  // This bank's BIC (ISO 9362): the debtor agent and the originator of the pacs.002 and
  // pacs.004 files ledgerd writes.
  std::string bic = "LEDGDEFFXXX";
  // The interest rate of a refund's compensation (EPC SDD Core: the debtor bank claims interest
  // for the days between the debit and the refund), in basis points a year (the euro
  // short-term rate, €STR, of the day; 0: none).
  std::uint32_t dd_compensation_rate_bp = 0;
  // SEPA credit transfers (docs/credit-transfers.md): the instant clearing house's endpoint
  // (empty: instant transfers out are refused 503) and its bearer token, how long an instant
  // transfer waits for its pacs.002 (the SCT Inst rulebook's 10 s), the largest incoming
  // instant payment (AM23 beyond), the regular file's daily cut-off (minutes after 00:00 UTC),
  // and the payee's bank name check endpoint (Verification of Payee as the payer's bank; empty:
  // transfers record not_checked) with its bearer token.
  std::string sct_inst_url;
  std::string sct_inst_token;
  std::uint32_t sct_inst_timeout_ms = 10'000;
  std::int64_t sct_inst_max_amount = 10'000'000;
  std::uint32_t sct_cutoff_minute = 14 * 60;
  bool sct_auto_cutoff = true;
  // Card clearing and disputes (docs/card-clearing.md).
  std::uint32_t clearing_match_days = 30;
  std::uint32_t clearing_import_rate = 0;  // records per second (0: unpaced)
  std::string chargeback_days;             // "fraud:120,not_received:120,..." (empty: 120 for each)
  std::uint32_t representment_days = 45;
  std::uint32_t chargeback_cutoff_minute = 18 * 60;
  bool chargeback_auto_cutoff = true;
  std::string vop_url;
  std::string vop_token;
  // keys create
  std::string key_scope;
  std::string key_name;
  std::uint32_t key_expires_days = 0;  // 0: never
  std::string describe() const;        // one log line of the effective settings, no secrets
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Parses argv (without argv[0]). Errors name the flag, variable or file line at fault.
Status parse_config(const std::vector<std::string>& args, const EnvLookup& env,
                    const std::string& default_migrations_dir, Config* out);

Status parse_endpoint(const std::string& text, Endpoint* out);

std::string usage_text();

}  // namespace ledger::app
