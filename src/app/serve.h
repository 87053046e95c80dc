#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>

#include "app/config.h"
#include "http/api.h"
#include "http/server.h"
#include "iso8583/server.h"
#include "journal/pg.h"
#include "outbound/dispatcher.h"
#include "pipeline/pipeline.h"

namespace ledger::app {
// Exit codes: 0 clean stop, 1 run-time failure (database, port, migrations), 2 bad settings.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_deposed = 3;  // another ledgerd took the ledger lease

// What serving takes from the configuration, worked out before anything starts. What needs
// the running process is wired by run_serve: the TLS context (it reads files), the pipeline's
// clock and fence callback, the API's stores and clock, the REST key check.
struct ServeOptions {
  boost::asio::ip::tcp::endpoint http_endpoint;
  boost::asio::ip::tcp::endpoint iso_endpoint;
  http::ServerOptions http;
  iso8583::ServerOptions iso;
  pipeline::PipelineOptions pipeline;
  outbound::DispatcherOptions dispatcher;
  http::ApiOptions api;
};
// Pure: no file, socket or database is touched. nullopt with *error naming the setting at
// fault (run_serve exits exit_usage with it).
std::optional<ServeOptions> options_from(const Config& config, std::string* error);

int run_serve(const Config& config);
// Validates the URL, reads the migrations, connects and applies what is pending; prints the
// error line and returns its exit code on failure.
int prepare_database(const Config& config, pg::Conn* conn);
int run_migrate(const Config& config);
}  // namespace ledger::app
