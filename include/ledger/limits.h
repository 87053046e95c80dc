// Every limit of ledgerd in one place, units last in the name (STYLE.md rule 6).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ledger::limits {

// --- Network edge -------------------------------------------------------------------------
inline constexpr std::size_t http_body_bytes_max = 4 * 1024 * 1024;  // batch of 8000 fits
inline constexpr std::size_t http_header_bytes_max = 16 * 1024;
inline constexpr std::uint32_t http_read_timeout_ms = 10'000;  // one request, header to body
inline constexpr std::uint32_t http_idle_timeout_ms = 60'000;  // keep-alive between requests
inline constexpr std::uint32_t http_write_timeout_ms = 10'000;
inline constexpr std::uint32_t http_linger_ms = 2'000;  // drain after an early error answer
inline constexpr std::uint32_t http_connections_max = 1024;
inline constexpr std::uint32_t http_pipelined_requests_max = 16;   // per connection, queued
inline constexpr std::size_t http_batch_transfers_max = 8'000;     // POST /v1/transfers/batch
inline constexpr std::uint32_t http_accounts_page_max = 200;       // GET /v1/accounts
inline constexpr std::uint32_t http_history_page_max = 500;        // GET .../transfers
inline constexpr std::uint32_t http_audit_page_max = 1'000;        // GET /v1/audit
inline constexpr std::uint32_t http_statement_lines_max = 50'000;  // beyond: 422, shorter period

// --- Ledger pipeline ----------------------------------------------------------------------
// Commands one call may submit together (a linked chain, a page of lookups), all or none.
inline constexpr std::size_t pipeline_submit_all_max = 8'192;

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
inline constexpr std::uint32_t db_read_statement_timeout_ms = 10'000;  // history, statements
inline constexpr std::uint32_t ready_probe_interval_ms = 1'000;

// --- Migrations ---------------------------------------------------------------------------
inline constexpr std::size_t migration_file_bytes_max = 1024 * 1024;
inline constexpr std::size_t migration_files_max = 9999;

// --- Configuration ------------------------------------------------------------------------
inline constexpr std::size_t config_file_bytes_max = 64 * 1024;

static_assert(http_header_bytes_max < http_body_bytes_max);
// Batches, and the engine lookups behind a page of accounts or history, go in one submit_all.
static_assert(http_batch_transfers_max <= pipeline_submit_all_max);
static_assert(http_accounts_page_max <= pipeline_submit_all_max);
static_assert(http_history_page_max <= pipeline_submit_all_max);
static_assert(iso8583_outbox_frames_max > iso8583_in_flight_max);
static_assert(iso8583_connections_per_source_max <= iso8583_connections_max);
static_assert(iso8583_frame_bytes_max <= 0xFFFF);  // the 2-byte length prefix
static_assert(iso8583_read_timeout_ms <= iso8583_idle_timeout_ms);
static_assert(http_read_timeout_ms <= http_idle_timeout_ms);

}  // namespace ledger::limits
