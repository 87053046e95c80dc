// Every limit of ledgerd in one place, units last in the name, related limits tied together
// by static_assert at the end. Defaults of settings that an operator may change (README,
// "Configuration") are named *_default; the others are fixed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ledger::limits {

// --- Engine (preallocated at start; each is a setting) ------------------------------------
inline constexpr std::uint32_t accounts_max_default = 1'000'000;
inline constexpr std::uint32_t transfers_max_default = 4'000'000;  // remembered transfer ids
inline constexpr std::uint32_t cards_max_default = 100'000;
inline constexpr std::uint32_t spike_window_s_max = 28 * 86'400;  // a rule's window, at most
inline constexpr std::uint32_t spike_cooldown_s_max = 28 * 86'400;
inline constexpr std::size_t spike_keys_per_rule_max = 200'000;       // windows kept per rule
inline constexpr std::size_t spike_window_entries_max = 4'096;        // per window (older merged)
inline constexpr std::uint64_t spike_rebuild_events_max = 2'000'000;  // re-read at start
inline constexpr std::uint32_t monitors_max = 100'000;                // balance monitors, ever made
inline constexpr std::uint32_t monitors_per_account_max = 16;
inline constexpr std::uint32_t direct_debits_max =
    2'000'000;  // collections kept in the engine         // live ones per account
inline constexpr std::size_t card_blocked_mccs_max = 16;   // per card
inline constexpr std::uint32_t card_incrementals_max = 8;  // incremental holds per transaction
inline constexpr std::uint32_t card_reversals_max = 16;    // reversals per transaction
inline constexpr std::size_t linked_chain_undo_entries_reserved = 1'024;  // grows if needed

// --- Ledger pipeline ----------------------------------------------------------------------
inline constexpr std::uint32_t ingress_commands_max_default = 65'536;  // waiting for the engine
inline constexpr std::uint32_t batch_commands_max_default = 8'192;     // per engine batch
inline constexpr std::size_t batches_in_flight_max = 8;  // applied, waiting for or in a COMMIT
// Commands one call may submit together (a linked chain, a page of lookups), all or none.
inline constexpr std::size_t pipeline_submit_all_max = 8'192;
inline constexpr std::uint32_t engine_idle_tick_ms = 100;  // wake-up for hold expiry when idle
inline constexpr std::uint32_t reconnect_backoff_max_ms = 2'000;  // after a failed COMMIT

// --- REST ---------------------------------------------------------------------------------
inline constexpr std::size_t http_body_bytes_max = 4 * 1024 * 1024;  // batch of 8000 fits
inline constexpr std::size_t http_header_bytes_max = 16 * 1024;
inline constexpr std::uint32_t http_read_timeout_ms = 10'000;  // one request, header to body
inline constexpr std::uint32_t http_idle_timeout_ms = 60'000;  // keep-alive between requests
inline constexpr std::uint32_t http_write_timeout_ms = 10'000;
inline constexpr std::uint32_t http_linger_ms = 2'000;  // drain after an early error answer
inline constexpr std::size_t http_linger_bytes_max = 2 * http_body_bytes_max;
inline constexpr std::uint32_t http_connections_max_default = 1'024;
inline constexpr std::uint32_t http_connections_per_source_max_default = 256;
// Card creations (each looks a PAN up) per API key: a minute's worth at once, then one a
// second. Guessing the hidden digits of one card takes about 100,000 lookups.
inline constexpr std::uint32_t pan_lookups_per_minute_default = 60;
// Verification of Payee checks per minute per API key (each requesting bank has its own key):
// a check tells whether a name goes with an IBAN, so a bank may not walk the names.
inline constexpr std::uint32_t payee_checks_per_minute_default = 600;
inline constexpr std::uint32_t ledger_timeout_ms_default = 5'000;    // wait for a durable answer
inline constexpr std::size_t http_batch_transfers_max = 8'000;       // POST /v1/transfers/batch
inline constexpr std::uint32_t http_accounts_page_max = 200;         // GET /v1/accounts
inline constexpr std::uint32_t http_history_page_max = 500;          // GET .../transfers
inline constexpr std::uint32_t http_audit_page_max = 1'000;          // GET /v1/audit
inline constexpr std::uint32_t http_events_page_max = 1'000;         // GET /v1/events
inline constexpr std::uint32_t events_scan_max = 10'000;             // events looked at per read
inline constexpr std::uint32_t standby_follow_page_max = 1'000;      // a standby's journal reads
inline constexpr std::uint32_t events_wait_ms_max = 30'000;          // GET /v1/events?wait_ms=
inline constexpr std::uint32_t events_poll_interval_ms = 50;         // a waiting read looks again
inline constexpr std::uint32_t webhook_timeout_ms = 10'000;          // one delivery attempt
inline constexpr std::uint32_t http_statement_lines_max = 50'000;    // beyond: 422, shorter period
inline constexpr std::uint32_t hold_timeout_s_max = 60 * 24 * 3600;  // a hold's timeout_seconds
inline constexpr std::uint32_t card_daily_count_limit_max = 1'000'000;
inline constexpr std::size_t api_key_name_bytes_max = 200;
inline constexpr std::uint32_t api_key_expiry_days_max = 36'500;
inline constexpr std::size_t audit_actor_bytes_max = 100;        // GET /v1/audit?actor=
inline constexpr std::size_t audit_target_bytes_max = 512;       // a request path, as recorded
inline constexpr std::size_t audit_detail_bytes_max = 255;       // an Idempotency-Key, as recorded
inline constexpr std::size_t audit_queue_entries_max = 100'000;  // waiting for PostgreSQL
inline constexpr std::uint32_t audit_retry_backoff_max_ms = 2'000;
inline constexpr std::size_t audit_batch_rows_max = 1'000;   // one INSERT (7 parameters each)
inline constexpr std::uint32_t audit_stop_retry_ms = 5'000;  // on stop, before logging instead
inline constexpr std::uint32_t api_keys_refresh_interval_ms = 1'000;

// --- Events out (webhooks, Slack) ---------------------------------------------------------
inline constexpr std::uint32_t dispatch_match_events_max = 500;    // per subscription per round
inline constexpr std::uint32_t dispatch_due_deliveries_max = 100;  // per subscription per round
// Webhook deliveries of one subscription sent in order over one connection per round.
inline constexpr std::size_t dispatch_send_deliveries_max = 64;
inline constexpr std::size_t filter_id_list_entries_max = 100;  // ids or MCCs in one filter
inline constexpr std::size_t filter_any_of_max = 20;  // alternative filters of one subscription

// --- SEPA files ------------------------------------------------------------------------------
inline constexpr std::size_t pacs_transactions_max = 10'000;  // in one pacs.003 document

// --- High availability ---------------------------------------------------------------------
// A standby's listener, on taking over or stopping, waits this long for its connections.
inline constexpr std::uint32_t standby_listener_close_ms = 2'000;
// A standby whose journal load failed tries again after this long (a load is not cheap).
inline constexpr std::uint32_t standby_load_retry_ms = 10'000;

// --- Card network (ISO 8583) -------------------------------------------------------------
inline constexpr std::uint32_t auth_deadline_ms = 2'000;  // receipt to answer, configurable
inline constexpr std::uint32_t iso8583_idle_timeout_ms = 300'000;  // between frames
inline constexpr std::uint32_t iso8583_read_timeout_ms = 5'000;    // rest of a started frame
inline constexpr std::uint32_t iso8583_write_timeout_ms = 5'000;   // one answer written
inline constexpr std::size_t iso8583_frame_bytes_max = 8'192;      // after the 2-byte length
inline constexpr std::size_t iso8583_in_flight_max = 256;          // requests per connection
// Answers waiting to be written on one connection: every request in flight, plus immediate
// answers (echoes, 30s) of a peer that sends faster than it reads. Beyond: the peer is closed.
inline constexpr std::size_t iso8583_outbox_frames_max = iso8583_in_flight_max + 256;
inline constexpr std::size_t iso8583_connections_max = 64;
inline constexpr std::size_t iso8583_connections_per_source_max = 32;

// --- Database -----------------------------------------------------------------------------
inline constexpr std::uint32_t db_connect_timeout_s = 5;
// A peer that stopped answering: TCP keepalive probes after 5 s idle, every 2 s, 3 of them, on
// both ends of every connection; unacknowledged data gives up after db_tcp_user_timeout_ms.
inline constexpr std::uint32_t db_keepalive_idle_s = 5;
inline constexpr std::uint32_t db_keepalive_interval_s = 2;
inline constexpr std::uint32_t db_keepalive_count = 3;
inline constexpr std::uint32_t db_tcp_user_timeout_ms = 10'000;
inline constexpr std::uint32_t db_read_statement_timeout_ms = 10'000;  // history, statements
// Connections for reads, keys and the SEPA edges (an incoming instant payment is one job): 4
// halved the instant payments' p99 at 1,000/s against 2 (queueing behind one another).
inline constexpr std::size_t read_pool_threads = 4;
inline constexpr std::size_t read_pool_jobs_max = 1'024;  // waiting; beyond: 503
inline constexpr std::uint32_t ready_probe_interval_ms = 1'000;
// The ledger lease: renewed every quarter of it; a standby asks for it as often.
inline constexpr std::uint32_t lease_ms_default = 1'000;
// How far a ledgerd's clock may be from PostgreSQL's (LEDGER_MAX_CLOCK_SKEW_MS): business time
// (holds' expiry, deadlines) is the lease holder's clock.
inline constexpr std::uint32_t max_clock_skew_ms_default = 500;
// Late approvals (journal/late_approvals.h): how far back a new lease holder looks for
// approvals that committed after their answer was due, at most how many it reverses, and the
// longest its query may run.
inline constexpr std::uint32_t late_approvals_window_s = 120;
inline constexpr std::uint32_t late_approvals_max = 100'000;
inline constexpr std::uint32_t late_approvals_query_ms = 2'000;  // before serving
// How much later than its answer_by (PostgreSQL's clock, through the measured skew) a commit
// must be to count as late: the skew measurement's error (half a round trip, and the drift
// between two renewals) is far below it.
inline constexpr std::uint32_t late_approvals_margin_ms = 100;
// The longest a transaction that passed the lease fence may wait for its ledgerd's next
// statement (half the lease, at least this): longer, PostgreSQL ends the session (migration
// 0018), so that a stopped ledgerd cannot hold the lease row through a takeover.
inline constexpr std::uint32_t fence_idle_ms_min = 100;
// Engine snapshots (docs/durability.md): how often one is taken while the journal moves on,
// and the first one after a load that read at least snapshot_soon_records records.
inline constexpr std::uint32_t snapshot_interval_s_default = 300;
inline constexpr std::uint32_t snapshot_soon_s = 10;
// Group-commit pacing (docs/durability.md): under load a COMMIT starts at most once per this
// interval, so that PostgreSQL's cost per COMMIT (its transaction, its COPY statements, the
// fence, the WAL flush) is shared by more requests. Bounded by group_commit_interval_us_max.
inline constexpr std::uint32_t group_commit_interval_us_default = 2'000;
inline constexpr std::uint32_t group_commit_interval_us_max = 50'000;
inline constexpr std::uint64_t snapshot_soon_records = 100'000;

// --- Process ------------------------------------------------------------------------------
inline constexpr std::uint32_t shutdown_grace_ms_default = 10'000;  // answer what was received
inline constexpr std::size_t migration_file_bytes_max = 1024 * 1024;
inline constexpr std::size_t migration_files_max = 9999;
inline constexpr std::size_t config_file_bytes_max = 64 * 1024;

// A batch, and the engine lookups behind a page of accounts or history, go in one submit_all.
static_assert(http_batch_transfers_max <= pipeline_submit_all_max);
static_assert(http_accounts_page_max <= pipeline_submit_all_max);
static_assert(http_history_page_max <= pipeline_submit_all_max);
// A whole linked chain fits in the batch it lands in (the engine never splits a chain).
static_assert(pipeline_submit_all_max <= ingress_commands_max_default);
static_assert(http_header_bytes_max < http_body_bytes_max);
static_assert(http_read_timeout_ms <= http_idle_timeout_ms);
static_assert(http_connections_per_source_max_default <= http_connections_max_default);
static_assert(iso8583_outbox_frames_max > iso8583_in_flight_max);
static_assert(iso8583_connections_per_source_max <= iso8583_connections_max);
static_assert(iso8583_frame_bytes_max <= 0xFFFF);  // the 2-byte length prefix
static_assert(iso8583_read_timeout_ms <= iso8583_idle_timeout_ms);
// Every answer of a deadline-bound request has been written by the time the process exits.
static_assert(auth_deadline_ms + iso8583_write_timeout_ms <= shutdown_grace_ms_default);

}  // namespace ledger::limits
