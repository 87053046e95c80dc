#include "serve.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "api.h"
#include "health.h"
#include "keys.h"
#include "logging.h"
#include "migrator.h"
#include "pg.h"
#include "pipeline.h"
#include "probe.h"
#include "read_pool.h"
#include "server.h"

namespace ledger::app {
namespace {

namespace asio = boost::asio;

int fail(int code, const std::string& message) {
  print_error(message);
  return code;
}

}  // namespace

int prepare_database(const Config& config, pg::Conn* conn) {
  if (Status s = pg::validate_url(config.database_url); !s.ok())
    return fail(exit_usage, s.message());
  std::vector<MigrationFile> files;
  if (Status s = load_migrations(config.migrations_dir, &files); !s.ok()) {
    return fail(exit_failure, s.message());
  }
  if (Status s = pg::connect(config.database_url, conn); !s.ok()) {
    return fail(exit_failure, s.message());
  }
  MigrationReport report;
  if (Status s = apply_migrations(conn->get(), files, &report); !s.ok()) {
    return fail(exit_failure, s.message());
  }
  pg::Result instance;
  const bool named =
      pg::exec_params(conn->get(), "SELECT instance_id FROM ledger_instance", {}, &instance).ok() &&
      PQntuples(instance.get()) == 1;
  spdlog::info(
      "event=migrations applied_now={} already_applied={} latest_version={} instance_id={}",
      report.applied_now, report.already_applied, report.latest_version,
      named ? PQgetvalue(instance.get(), 0, 0) : "unknown");
  return exit_ok;
}

namespace {

bool resolve(const Endpoint& endpoint, const char* flag, asio::ip::tcp::endpoint* out) {
  boost::system::error_code error;
  const auto address = asio::ip::make_address(endpoint.host, error);
  if (error) {
    print_error(std::string("--") + flag + ": \"" + endpoint.host + "\" is not an IP address");
    return false;
  }
  *out = asio::ip::tcp::endpoint(address, endpoint.port);
  return true;
}

// After SIGINT/SIGTERM: stop accepting, wait for in-flight requests up to the grace period.
asio::awaitable<void> drain_then_stop(asio::io_context& io, http::Server& server,
                                      std::uint32_t grace_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  asio::steady_timer timer(io);
  while (server.open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (server.open_connections() > 0) {
    spdlog::warn("event=shutdown_grace_expired open_connections={}", server.open_connections());
  }
  io.stop();
}

}  // namespace

int run_migrate(const Config& config) {
  spdlog::info("event=migrate database=\"{}\" migrations_dir=\"{}\"",
               pg::describe_url(config.database_url), config.migrations_dir);
  pg::Conn conn;
  return prepare_database(config, &conn);
}

int run_serve(const Config& config) {
  spdlog::info("event=starting version={} {} database=\"{}\"", LEDGERD_VERSION, config.describe(),
               pg::describe_url(config.database_url));
  asio::ip::tcp::endpoint http_endpoint;
  if (!resolve(config.http_listen, "http-listen", &http_endpoint)) return exit_usage;
  http::Readiness readiness;
  {
    pg::Conn conn;
    if (int code = prepare_database(config, &conn); code != exit_ok) return code;
  }
  readiness.migrations_applied = true;
  readiness.database_reachable = true;

  PipelineOptions pipeline_options;
  pipeline_options.database_url = config.database_url;
  pipeline_options.engine =
      engine::EngineOptions{config.accounts_max, config.transfers_max, config.cards_max};
  pipeline_options.batch_commands_max = config.batch_max;
  pipeline_options.ingress_capacity = config.ingress_max;
  Pipeline pipeline(pipeline_options);
  if (Status s = pipeline.start(); !s.ok())
    return fail(exit_failure, "cannot load the ledger: " + s.message());
  readiness.state_loaded = true;

  http::KeyRing keys;
  KeyRefresher key_refresher(config.database_url, keys, 1'000);
  if (Status s = key_refresher.start(); !s.ok())
    return fail(exit_failure, "cannot load API keys: " + s.message());
  ReadPool reader(config.database_url, 2, 1'024);

  asio::io_context io(static_cast<int>(config.io_threads));
  http::Api api(
      pipeline, reader, keys, readiness,
      http::ApiOptions{std::chrono::milliseconds(config.ledger_timeout_ms), config.pan_secret});
  if (config.pan_secret.empty()) {
    spdlog::warn(
        "event=pan_secret_unset detail=\"cards cannot be created until LEDGER_PAN_SECRET is set\"");
  }
  http::Handler handler = [&api, &readiness,
                           &pipeline](http::Request& request) -> asio::awaitable<http::Response> {
    readiness.ledger_running = pipeline.running();
    co_return co_await api.handle(request);
  };
  http::Server server(io, handler);
  if (Status s = server.listen(http_endpoint); !s.ok())
    return fail(exit_failure, "http: " + s.message());

  DatabaseProbe probe(config.database_url, limits::ready_probe_interval_ms,
                      [&readiness](bool reachable) { readiness.database_reachable = reachable; });
  probe.start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal_number) {
    if (error) return;
    spdlog::info("event=shutdown_requested signal={}", signal_number);
    readiness.stopping = true;
    server.stop();
    asio::co_spawn(io, drain_then_stop(io, server, config.shutdown_grace_ms), asio::detached);
  });
  server.start();
  const auto bound = server.local_endpoint();
  spdlog::info("event=listening interface=http address={}:{}", bound.address().to_string(),
               bound.port());

  spdlog::info("event=serving");
  std::vector<std::thread> threads;
  for (std::uint32_t i = 1; i < config.io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();
  pipeline.stop();  // after the HTTP drain: in-flight requests needed it
  key_refresher.stop();
  probe.stop();
  spdlog::info("event=stopped");
  return exit_ok;
}

}  // namespace ledger::app
