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
inline constexpr std::uint32_t http_pipelined_requests_max = 16;  // per connection, queued

// --- Database -----------------------------------------------------------------------------
inline constexpr std::uint32_t db_connect_timeout_s = 5;
inline constexpr std::uint32_t db_statement_timeout_ms = 30'000;
inline constexpr std::uint32_t ready_probe_interval_ms = 1'000;

// --- Migrations ---------------------------------------------------------------------------
inline constexpr std::size_t migration_file_bytes_max = 1024 * 1024;
inline constexpr std::size_t migration_files_max = 9999;

// --- Configuration ------------------------------------------------------------------------
inline constexpr std::size_t config_file_bytes_max = 64 * 1024;

static_assert(http_header_bytes_max < http_body_bytes_max);
static_assert(http_read_timeout_ms <= http_idle_timeout_ms);

}  // namespace ledger::limits
