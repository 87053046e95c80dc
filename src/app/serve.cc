#include "app/serve.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "app/keys.h"
#include "app/logging.h"
#include "app/spike_watcher.h"
#include "http/api.h"
#include "http/health.h"
#include "http/server.h"
#include "iso8583/server.h"
#include "journal/audit_writer.h"
#include "journal/lease.h"
#include "journal/migrator.h"
#include "journal/pg.h"
#include "journal/probe.h"
#include "journal/read_pool.h"
#include "ledger/limits.h"
#include "ledger/metrics.h"
#include "ledger/thread_name.h"
#include "ledger/units.h"
#include "outbound/dispatcher.h"
#include "pipeline/pipeline.h"

namespace ledger::app {
namespace {

namespace asio = boost::asio;
using pipeline::Pipeline;
using pipeline::PipelineOptions;

int fail(int code, const std::string& message) {
  print_error(message);
  return code;
}

std::string_view bhttp_method(const http::Request& request) {
  const auto text = request.method_string();
  return request.method() == boost::beast::http::verb::unknown
             ? "other"
             : std::string_view(text.data(), text.size());
}

// GET /metrics: the Prometheus text format. No key needed (scrapers rarely carry one; it holds
// no account data); restrict it with LEDGER_HTTP_ALLOWLIST.
http::Response metrics_response(const http::Request& request, const metrics::Registry& registry) {
  namespace bhttp = boost::beast::http;
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
    http::Response response = http::make_problem(
        bhttp::status::method_not_allowed, "method_not_allowed", "use GET", request.version());
    response.set(bhttp::field::allow, "GET, HEAD");
    return response;
  }
  http::Response response{bhttp::status::ok, request.version()};
  response.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.set(bhttp::field::cache_control, "no-store");
  response.body() = registry.render();
  response.prepare_payload();
  return response;
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

// "a,b,c" -> addresses; prints the bad one and returns false.
bool parse_allowlist(const std::string& text, const char* flag,
                     std::vector<asio::ip::address>* out) {
  for (std::size_t start = 0; start < text.size();) {
    const auto comma = text.find(',', start);
    const std::string part = text.substr(start, comma - start);
    boost::system::error_code error;
    out->push_back(asio::ip::make_address(part, error));
    if (error) {
      print_error(std::string("--") + flag + ": \"" + part + "\" is not an IP address");
      return false;
    }
    start = comma == std::string::npos ? text.size() : comma + 1;
  }
  return true;
}

// After SIGINT/SIGTERM both listeners have stopped accepting and reading; this waits until
// every request already received is answered (up to the grace period), then stops the loop.
asio::awaitable<void> drain_then_stop(asio::io_context& io, http::Server& server,
                                      iso8583::Server& iso_server, std::uint32_t grace_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  asio::steady_timer timer(io);
  const auto open = [&] { return server.open_connections() + iso_server.open_connections(); };
  while (open() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (open() > 0) {
    spdlog::warn("event=shutdown_grace_expired open_connections={}", open());
  }
  io.stop();
}

// Set by SIGINT/SIGTERM from the moment this process asks for the lease until asio's
// signal_set takes the signals over once it serves: while it waits as the standby, and
// through the takeover and the journal load. A signal in that window is a clean stop, never
// the default action (killed, the lease left to lapse) nor lost.
std::atomic<int> early_signal{0};
extern "C" void on_early_signal(int signal_number) { early_signal = signal_number; }

// "host:pid": who holds the lease, for the other ledgerd's logs and for operators.
std::string lease_holder_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string name = host[0] != '\0' ? host : "unknown-host";
  name.append(":").append(std::to_string(getpid()));
  return name;
}

// While waiting for the lease: the REST port answers /health (200), /ready (503, role standby)
// and everything else 503, so load balancers and operators see a live standby.
class StandbyListener {
 public:
  StandbyListener(const asio::ip::tcp::endpoint& endpoint, http::ServerOptions options,
                  const http::Readiness& readiness)
      : io_(1), server_(io_, handler(readiness), strip(std::move(options))) {
    if (Status s = server_.listen(endpoint); !s.ok()) {
      spdlog::warn("event=standby_listener_failed error=\"{}\"", s.message());
      return;
    }
    server_.start();
    const auto bound = server_.local_endpoint();
    // Not "event=listening": that line announces the active's ports.
    spdlog::info("event=standby_listening interface=http address={}:{}",
                 bound.address().to_string(), bound.port());
    thread_ = std::thread([this] {
      name_this_thread("ledgerd-io");
      io_.run();
      ran_out_ = true;
    });
  }
  ~StandbyListener() {
    if (!thread_.joinable()) return;
    // Closing the acceptor and every connection leaves the loop without work: it returns by
    // itself, with every coroutine finished (none is left to be destroyed after the server).
    server_.stop();
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(limits::standby_listener_close_ms);
    while (!ran_out_ && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!ran_out_) io_.stop();  // a connection that would not close: do not wait for it
    thread_.join();
  }
  StandbyListener(const StandbyListener&) = delete;
  StandbyListener& operator=(const StandbyListener&) = delete;

 private:
  static http::ServerOptions strip(http::ServerOptions options) {
    options.check_header = {};  // no API keys needed: nothing but health is served
    options.observe_refusal = {};
    return options;
  }
  static http::Handler handler(const http::Readiness& readiness) {
    return [&readiness](http::Request& request) -> asio::awaitable<http::Response> {
      if (auto health = http::handle_health(request, readiness)) co_return std::move(*health);
      http::Response response = http::make_problem(
          boost::beast::http::status::service_unavailable, "standby",
          "this ledgerd is a standby: it takes over when the active's lease lapses",
          request.version());
      response.set(boost::beast::http::field::retry_after, "1");
      co_return response;
    };
  }

  asio::io_context io_;
  http::Server server_;
  std::atomic<bool> ran_out_{false};
  std::thread thread_;
};

// Waits until this process holds the ledger lease: at once on a database no live ledgerd
// holds, else when the holder's lease lapses (it died, hung or was stopped) or is released (a
// clean stop). Until then this process is a standby: it journals nothing and its REST port
// answers only /health and /ready. false: told to stop.
bool take_lease(const Config& config, const asio::ip::tcp::endpoint& http_endpoint,
                const http::ServerOptions& http_options, http::Readiness* readiness,
                const std::function<void()>& follow, LeaseState* lease) {
  early_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_early_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);  // until asio's signal_set replaces it (serve)
  sigaction(SIGTERM, &action, nullptr);
  const std::string holder = lease_holder_name();
  const auto started = std::chrono::steady_clock::now();
  // Each turn asks for the lease and applies what the active committed meanwhile.
  const auto poll =
      std::chrono::milliseconds(std::clamp<std::uint32_t>(config.lease_ms / 20, 10, 50));
  pg::Conn conn;
  bool announced = false;
  bool taken = false;
  std::optional<StandbyListener> listener;
  while (early_signal == 0) {
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      if (Status s = pg::connect(config.database_url, &conn); !s.ok()) {
        spdlog::warn("event=lease_unreachable error=\"{}\"", s.message());
        conn.reset();
      }
    }
    if (conn) {
      if (Status s = try_take_lease(conn.get(), holder, config.lease_ms, lease); !s.ok()) {
        spdlog::warn("event=lease_check_failed error=\"{}\"", s.message());
        if (PQstatus(conn.get()) != CONNECTION_OK) conn.reset();
      } else if (lease->taken) {
        taken = true;
        break;
      } else {
        readiness->lease_epoch = lease->epoch;
        readiness->lease_expires_in_ms = lease->expires_in_ms;
        if (!announced) {
          announced = true;
          spdlog::warn(
              "event=standby holder={} epoch={} expires_in_ms={} detail=\"another ledgerd holds "
              "the ledger lease; this one waits and takes over when it lapses\"",
              lease->holder, lease->epoch, lease->expires_in_ms);
          listener.emplace(http_endpoint, http_options, *readiness);
        }
        follow();
      }
    }
    std::this_thread::sleep_for(poll);
  }
  listener.reset();  // the active's listeners bind the same port next
  if (!taken) {
    spdlog::info("event=stopped role=standby signal={}", early_signal.load());
    return false;
  }
  readiness->role = http::Role::active;
  readiness->lease_epoch = lease->epoch;
  spdlog::info("event=lease_taken epoch={} holder={} waited_ms={}", lease->epoch, holder,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  return true;
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
  asio::ip::tcp::endpoint iso_endpoint;
  if (!resolve(config.iso8583_listen, "iso8583-listen", &iso_endpoint)) return exit_usage;
  iso8583::ServerOptions iso_options;
  if (!parse_allowlist(config.iso8583_allowlist, "iso8583-allowlist", &iso_options.allowlist))
    return exit_usage;
  http::ServerOptions http_options;
  if (!parse_allowlist(config.http_allowlist, "http-allowlist", &http_options.allowlist))
    return exit_usage;
  http_options.connections_max = config.http_connections_max;
  http_options.connections_per_source_max =
      std::min(config.http_connections_per_source_max, config.http_connections_max);
  if (config.tls_cert_file.empty() != config.tls_key_file.empty())
    return fail(exit_usage, "--tls-cert and --tls-key go together");
  if (!config.tls_cert_file.empty()) {
    if (Status s =
            http::make_tls_context(config.tls_cert_file, config.tls_key_file, &http_options.tls);
        !s.ok()) {
      return fail(exit_failure, s.message());
    }
  }
  iso_options.connections_max = config.iso8583_connections_max;
  iso_options.connections_per_source_max =
      std::min(config.iso8583_connections_per_source_max, config.iso8583_connections_max);
  http::Readiness readiness;
  {
    pg::Conn conn;
    if (int code = prepare_database(config, &conn); code != exit_ok) return code;
  }
  readiness.migrations_applied = true;
  readiness.database_reachable = true;

  asio::io_context io(static_cast<int>(config.io_threads));
  // Deposed (a renewal or a journal transaction found another epoch): stop serving as on
  // SIGTERM and exit with exit_deposed. `shutdown` is set before the loop runs.
  std::atomic<bool> deposed{false};
  std::function<void()> shutdown;
  const auto step_down = [&io, &deposed, &shutdown, &readiness] {
    if (deposed.exchange(true)) return;
    readiness.role = http::Role::deposed;
    asio::post(io, [&shutdown] {
      if (shutdown) shutdown();
    });
  };

  LedgerClock clock(config.clock_manual);
  readiness.test_clock = config.clock_manual;
  if (config.clock_manual) {
    spdlog::warn(
        "event=test_clock_enabled detail=\"LEDGER_CLOCK=manual: POST /v1/test-clock/advance moves "
        "this ledger's time forward; never run a real ledger like this\"");
  }
  PipelineOptions pipeline_options;
  pipeline_options.clock_ns = [&clock] { return clock.now_ns(); };
  pipeline_options.database_url = config.database_url;
  pipeline_options.engine =
      engine::EngineOptions{config.accounts_max, config.transfers_max, config.cards_max};
  pipeline_options.batch_commands_max = config.batch_max;
  pipeline_options.ingress_capacity = config.ingress_max;
  pipeline_options.on_fenced = step_down;
  if (!config.snapshot_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(config.snapshot_dir, error);
    if (error || access(config.snapshot_dir.c_str(), W_OK) != 0) {
      return fail(exit_failure, "LEDGER_SNAPSHOT_DIR \"" + config.snapshot_dir +
                                    "\" is not a writable directory");
    }
    pipeline_options.snapshot_dir = config.snapshot_dir;
    pipeline_options.snapshot_interval_ms = config.snapshot_interval_s * 1'000;
  }
  Pipeline pipeline(pipeline_options);

  // Only the lease holder journals (and so listens and answers); docs/operations.md. A standby
  // loads the journal while it waits and follows what the active commits, so that taking over
  // applies only the tail.
  auto last_load_attempt = std::chrono::steady_clock::time_point{};
  std::uint64_t follow_failures = 0;
  const auto follow = [&] {
    if (!pipeline.prepared()) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_load_attempt < std::chrono::milliseconds(limits::standby_load_retry_ms))
        return;
      last_load_attempt = now;
      if (Status s = pipeline.prepare(); !s.ok()) {
        spdlog::warn("event=standby_load_failed error=\"{}\"", s.message());
        return;
      }
      spdlog::info("event=standby_loaded events_seq={} seconds={:.3f}", pipeline.followed_seq(),
                   pipeline.last_load_seconds());
    }
    std::uint64_t lag = 0;
    if (Status s = pipeline.follow(&lag, 10); !s.ok()) {
      if (follow_failures++ % 100 == 0) {
        spdlog::warn("event=standby_follow_failed failures={} error=\"{}\"", follow_failures,
                     s.message());
      }
      return;
    }
    readiness.followed_seq = pipeline.followed_seq();
    readiness.follow_lag_events = static_cast<std::int64_t>(lag);
  };
  LeaseState lease;
  if (!take_lease(config, http_endpoint, http_options, &readiness, follow, &lease)) return exit_ok;
  pipeline.set_fence_epoch(lease.epoch);
  pg::set_session_fence(lease.epoch);  // the back office's connections, all made from here on
  // Renewed from now on, through the journal load too: a load longer than the lease (18 s for
  // 10M transfers) must not let a standby take over from a ledgerd that is only starting.
  LeaseKeeper lease_keeper(config.database_url, lease.epoch, config.lease_ms, step_down);
  lease_keeper.start();
  if (Status s = pipeline.start(); !s.ok())
    return fail(exit_failure, "cannot load the ledger: " + s.message());
  readiness.state_loaded = true;
  if (clock.manual() && pipeline.loaded_timestamp() > clock.now_ns()) {
    // A test clock restarts where the journal left it, never behind it.
    clock.advance(pipeline.loaded_timestamp() - clock.now_ns());
  }

  http::KeyRing keys;
  KeyRefresher key_refresher(config.database_url, keys, limits::api_keys_refresh_interval_ms);
  if (Status s = key_refresher.start(); !s.ok())
    return fail(exit_failure, "cannot load API keys: " + s.message());
  ReadPool reader(config.database_url, limits::read_pool_threads, limits::read_pool_jobs_max);
  AuditWriter audit(config.database_url, limits::audit_queue_entries_max);
  audit.start();

  std::string allowlist_error;
  const outbound::Allowlist webhook_allowlist =
      outbound::parse_allowlist(config.webhook_allowlist, &allowlist_error)
          .value_or(outbound::Allowlist{});  // checked when the configuration was read
  outbound::DispatcherOptions dispatcher_options;
  dispatcher_options.database_url = config.database_url;
  dispatcher_options.seal_key = config.webhook_key;
  dispatcher_options.allowlist = webhook_allowlist;
  outbound::Dispatcher dispatcher(dispatcher_options);
  dispatcher.start();
  SpikeWatcher spike_watcher(config.database_url, pipeline);
  spike_watcher.start();

  http::Api api(
      pipeline, reader, keys, readiness,
      http::ApiOptions{
          std::chrono::milliseconds(config.ledger_timeout_ms), config.pan_secret,
          static_cast<double>(config.rate_limit_per_key),
          static_cast<double>(config.rate_burst_per_key != 0 ? config.rate_burst_per_key
                                                             : config.rate_limit_per_key),
          static_cast<double>(config.pan_lookups_per_minute), &reader,
          http::WebhookContext{config.webhook_key, webhook_allowlist}, &reader, &reader, &clock,
          http::DirectDebitPolicy{config.dd_settlement_minute,
                                  std::uint64_t{config.dd_wait_hours} * ns_per_hour,
                                  std::uint64_t{config.dd_return_margin_hours} * ns_per_hour}},
      &audit, &reader);
  if (config.pan_secret.empty()) {
    spdlog::warn(
        "event=pan_secret_unset detail=\"cards cannot be created until LEDGER_PAN_SECRET is set\"");
  }
  metrics::Registry registry;
  metrics::CounterFamily http_requests({"method", "route", "status"});
  metrics::Histogram http_latency = metrics::Histogram::latency();
  http::Handler handler = [&](http::Request& request) -> asio::awaitable<http::Response> {
    const auto started = std::chrono::steady_clock::now();
    readiness.ledger_running = pipeline.running();
    const std::string_view target(request.target().data(), request.target().size());
    const std::string route = http::route_label(target);
    http::Response response;
    if (route == "/metrics") {
      response = metrics_response(request, registry);
    } else {
      response = co_await api.handle(request);
    }
    http_requests
        .with({std::string(bhttp_method(request)), route, std::to_string(response.result_int())})
        .add();
    http_latency.observe(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count()));
    co_return response;
  };
  http_options.check_header = [&api](const http::RequestHeader& header) {
    return api.check_header(header);
  };
  http_options.observe_refusal = [&api](const http::RequestHeader& header,
                                        const http::Response& response) {
    api.observe_refusal(header, response);
  };
  http::Server server(io, handler, http_options);
  if (Status s = server.listen(http_endpoint); !s.ok())
    return fail(exit_failure, "http: " + s.message());
  iso_options.bitmap = config.iso8583_hex_bitmap ? iso8583::BitmapEncoding::ascii_hex
                                                 : iso8583::BitmapEncoding::binary;
  iso_options.deadline = std::chrono::milliseconds(config.auth_deadline_ms);
  iso_options.read_timeout = std::chrono::milliseconds(config.iso8583_read_timeout_ms);
  iso_options.translate.pan_secret = config.pan_secret;
  iso_options.translate.home_country = config.home_country;
  iso_options.translate.hold_days = config.hold_days;
  iso_options.translate.preauthorization_hold_days = config.preauthorization_hold_days;
  if (!config.preauthorization_mccs.empty()) {  // checked when the configuration was read
    (void)iso8583::parse_mcc_ranges(config.preauthorization_mccs,
                                    &iso_options.translate.rules.preauthorization_mccs);
  }
  if (!config.over_capture.empty()) {
    (void)iso8583::parse_over_capture(config.over_capture,
                                      &iso_options.translate.rules.over_capture);
  }
  iso8583::Server iso_server(io, pipeline, iso_options);
  if (Status s = iso_server.listen(iso_endpoint); !s.ok()) {
    return fail(exit_failure, "iso8583: " + s.message());
  }
  registry.add_counter_family("ledgerd_http_requests_total",
                              "REST requests by method, route and HTTP status.", http_requests);
  registry.add_histogram("ledgerd_http_request_duration_seconds",
                         "From a REST request read whole to its response ready.", {}, http_latency);
  if (config.clock_manual) {
    registry.add_gauge("ledgerd_test_clock_offset_seconds",
                       "LEDGER_CLOCK=manual only: how far the test clock was moved ahead.", {},
                       [&clock] { return static_cast<double>(clock.offset_ns()) / 1e9; });
  }
  registry.add_gauge("ledgerd_open_connections", "Open client connections.",
                     {{"interface", "http"}},
                     [&server] { return static_cast<double>(server.open_connections()); });
  registry.add_counter("ledgerd_connections_refused_total",
                       "Connections closed at accept (allowlist or connection limit).",
                       {{"interface", "http"}},
                       [&server] { return static_cast<double>(server.refused_connections()); });
  registry.add_counter("ledgerd_tls_handshake_failures_total",
                       "REST connections closed because their TLS handshake failed (plain HTTP "
                       "on the HTTPS port included).",
                       {},
                       [&server] { return static_cast<double>(server.tls_handshake_failures()); });
  iso_server.register_metrics(registry);
  dispatcher.register_metrics(registry);
  spike_watcher.register_metrics(registry);
  registry.add_counter("ledgerd_pan_lookups_total",
                       "Card creations over REST, each of which looks a card number up.", {},
                       [&api] { return static_cast<double>(api.pan_lookups()); });
  registry.add_counter("ledgerd_pan_lookups_rate_limited_total",
                       "Card creations refused 429 because the key was over "
                       "LEDGER_PAN_LOOKUPS_PER_MINUTE.",
                       {}, [&api] { return static_cast<double>(api.pan_lookups_refused()); });
  registry.add_counter("ledgerd_audit_entries_written_total",
                       "Audit entries (back-office mutations) written to PostgreSQL.", {},
                       [&audit] { return static_cast<double>(audit.written()); });
  registry.add_counter("ledgerd_audit_dropped_total",
                       "Audit entries refused because the audit queue was full.", {},
                       [&audit] { return static_cast<double>(audit.dropped()); });
  registry.add_counter("ledgerd_audit_rows_set_aside_total",
                       "Audit entries PostgreSQL refused as they were, stored escaped with "
                       "set_aside=true.",
                       {}, [&audit] { return static_cast<double>(audit.set_aside()); });
  registry.add_counter("ledgerd_audit_entries_lost_total",
                       "Audit entries never written (refused even escaped, or PostgreSQL away at "
                       "stop): each one is in the log as event=audit_entry_unwritten.",
                       {}, [&audit] { return static_cast<double>(audit.lost()); });
  registry.add_counter("ledgerd_audit_write_failures_total",
                       "Audit batches that could not be written and wait for a retry.", {},
                       [&audit] { return static_cast<double>(audit.failures()); });
  pipeline.register_metrics(registry);
  registry.add_gauge("ledgerd_lease_epoch",
                     "The ledger lease epoch this ledgerd holds (docs/operations.md); it rises by "
                     "one at every takeover.",
                     {}, [&lease] { return static_cast<double>(lease.epoch); });
  registry.add_counter("ledgerd_lease_renewals_total", "Renewals of the ledger lease.", {},
                       [&lease_keeper] { return static_cast<double>(lease_keeper.renewals()); });
  registry.add_counter(
      "ledgerd_lease_renewal_failures_total",
      "Renewals of the ledger lease that got no answer (PostgreSQL away or slow): a standby "
      "takes over if they last longer than LEDGER_LEASE_MS.",
      {}, [&lease_keeper] { return static_cast<double>(lease_keeper.renewal_failures()); });

  DatabaseProbe probe(config.database_url, limits::ready_probe_interval_ms,
                      [&readiness](bool reachable) { readiness.database_reachable = reachable; });
  probe.start();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopping = false;
  shutdown = [&] {
    if (stopping) return;
    stopping = true;
    signals.cancel();
    readiness.stopping = true;
    server.stop();
    iso_server.stop();
    asio::co_spawn(io, drain_then_stop(io, server, iso_server, config.shutdown_grace_ms),
                   [&io](std::exception_ptr escaped) {
                     if (!escaped) return;  // it stopped the loop itself
                     spdlog::error("event=shutdown_drain_failed");
                     io.stop();  // the process must not hang at shutdown
                   });
  };
  signals.async_wait([&](const boost::system::error_code& error, int signal_number) {
    if (error) return;
    spdlog::info("event=shutdown_requested signal={}", signal_number);
    shutdown();
  });
  // A signal that came during the takeover or the journal load (before signal_set took over):
  // stop now, through the same drain, so the lease is released.
  if (const int early = early_signal.load(); early != 0) {
    spdlog::info("event=shutdown_requested signal={} detail=\"received while starting\"", early);
    asio::post(io, [&shutdown] { shutdown(); });
  }
  server.start();
  iso_server.start();
  const auto bound = server.local_endpoint();
  spdlog::info("event=listening interface=http address={}:{} tls={}", bound.address().to_string(),
               bound.port(), http_options.tls ? "on" : "off");
  const auto iso_bound = iso_server.local_endpoint();
  spdlog::info("event=listening interface=iso8583 address={}:{} bitmap={} deadline_ms={}",
               iso_bound.address().to_string(), iso_bound.port(),
               config.iso8583_hex_bitmap ? "hex" : "binary", config.auth_deadline_ms);

  spdlog::info("event=serving");
  std::vector<std::thread> threads;
  for (std::uint32_t i = 1; i < config.io_threads; ++i)
    threads.emplace_back([&io] {
      name_this_thread("ledgerd-io");
      io.run();
    });
  name_this_thread("ledgerd-io");  // this thread serves too
  io.run();
  for (auto& thread : threads) thread.join();
  spike_watcher.stop();  // before the pipeline: it may be waiting for a spike's commit
  pipeline.stop();       // after the HTTP drain: in-flight requests needed it
  key_refresher.stop();
  audit.stop();
  probe.stop();
  lease_keeper.stop();  // last: releases the lease, so a successor starts at once
  if (deposed) {
    spdlog::error("event=stopped reason=deposed epoch={}", lease.epoch);
    return exit_deposed;
  }
  spdlog::info("event=stopped");
  return exit_ok;
}

}  // namespace ledger::app
