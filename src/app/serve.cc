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
#include "journal/late_approvals.h"
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
  std::uint64_t failed_in_a_row = 0;  // checks without an answer, logged once per streak
  bool skew_refusing = false;
  std::optional<StandbyListener> listener;
  while (early_signal == 0) {
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      if (Status s = pg::connect(config.database_url, &conn); !s.ok()) {
        if (failed_in_a_row++ == 0) {
          spdlog::warn(
              "event=lease_unreachable error=\"{}\" detail=\"asking again every {} ms; logged "
              "again when an answer comes\"",
              s.message(), poll.count());
        }
        conn.reset();
      } else {
        // The take waits for journal transactions that are committing (they passed the fence):
        // bounded, so that this loop keeps answering signals and asking again.
        (void)pg::exec(conn.get(), "SET lock_timeout = " + std::to_string(config.lease_ms));
      }
    }
    if (conn) {
      if (Status s =
              try_take_lease(conn.get(), holder, config.lease_ms, config.max_clock_skew_ms, lease);
          !s.ok()) {
        if (failed_in_a_row++ == 0) {  // once per streak, not twenty times a second
          spdlog::warn(
              "event=lease_check_failed error=\"{}\" detail=\"asking again every {} ms; logged "
              "again when an answer comes\"",
              s.message(), poll.count());
        }
        if (PQstatus(conn.get()) != CONNECTION_OK) conn.reset();
        std::this_thread::sleep_for(poll);
        continue;
      }
      if (failed_in_a_row > 0) {
        spdlog::info("event=lease_checked failed_checks={}", failed_in_a_row);
        failed_in_a_row = 0;
      }
      readiness->clock_skew_ms = lease->clock_skew_ms;
      if (lease->skew_refused) {
        if (!skew_refusing) {  // once per streak
          skew_refusing = true;
          spdlog::error(
              "event=lease_refused reason=clock_skew skew_ms={} max_skew_ms={} detail=\"the "
              "lease is free, but this host's clock is more than LEDGER_MAX_CLOCK_SKEW_MS from "
              "PostgreSQL's (positive: PostgreSQL's is ahead); fix NTP here; logged again when "
              "it is within the bound\"",
              lease->clock_skew_ms, config.max_clock_skew_ms);
        }
      } else if (skew_refusing &&
                 std::abs(lease->clock_skew_ms) <= std::int64_t{config.max_clock_skew_ms}) {
        skew_refusing = false;
        spdlog::info("event=clock_skew_within_bound skew_ms={}", lease->clock_skew_ms);
      }
      if (lease->taken) {
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
  // The old holder's sessions: none of their transactions can commit now, but one stopped in
  // mid-COPY holds uncommitted keys that this holder's inserts would wait for.
  std::int64_t ended = 0;
  if (Status s = end_deposed_sessions(conn.get(), lease->epoch, &ended); !s.ok()) {
    spdlog::warn("event=deposed_sessions_not_ended epoch={} error=\"{}\"", lease->epoch,
                 s.message());
  } else if (ended > 0) {
    spdlog::info("event=deposed_sessions_ended epoch={} sessions={}", lease->epoch, ended);
  }
  readiness->role = http::Role::active;
  readiness->lease_epoch = lease->epoch;
  spdlog::info("event=lease_taken epoch={} holder={} waited_ms={}", lease->epoch, holder,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  return true;
}

// What an active ledgerd runs beside its listeners. The members are declared in the order they
// stop (stop()): first what may still be waiting on the pipeline, then the pipeline, then the
// other users of the database, and last the lease, whose release lets a successor start at
// once. The read pool, which only reads, stops when this is destroyed.
class Services {
 public:
  Services(const Config& config, const ServeOptions& options, Pipeline& ledger, http::KeyRing& keys,
           http::Readiness& readiness, std::int64_t epoch, std::function<void()> deposed)
      : spike_watcher(config.database_url, ledger),
        pipeline(ledger),
        key_refresher(config.database_url, keys, limits::api_keys_refresh_interval_ms),
        audit(config.database_url, limits::audit_queue_entries_max),
        probe(config.database_url, limits::ready_probe_interval_ms,
              [&readiness](bool reachable) { readiness.database_reachable = reachable; }),
        dispatcher(options.dispatcher),
        lease_keeper(config.database_url, epoch, config.lease_ms, config.max_clock_skew_ms,
                     std::move(deposed)),
        reader(config.database_url, limits::read_pool_threads, limits::read_pool_jobs_max),
        url_(config.database_url),
        readiness_(readiness) {}
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  // In the order serving needs them: lease renewals first, through the journal load too (a
  // load longer than the lease, 18 s for 10M transfers, must not let a standby take over from
  // a ledgerd that is only starting), then the load, then the API keys and the rest.
  Status start() {
    lease_keeper.start();
    if (Status s = pipeline.start(); !s.ok())
      return Status::error("cannot load the ledger: " + s.message());
    readiness_.state_loaded = true;
    if (Status s = key_refresher.start(); !s.ok())
      return Status::error("cannot load API keys: " + s.message());
    audit.start();
    dispatcher.start();
    spike_watcher.start();
    probe.start();
    // Before the listeners open: a repeat of a late approval must find it reversed (and decide
    // anew), not confirm a hold whose reversal is about to be applied.
    reverse_late_approvals();
    return Status();
  }

  void stop() {
    spike_watcher.stop();  // it may be waiting for a spike's commit
    pipeline.stop();       // answers what is in flight; nothing is journaled after this
    key_refresher.stop();
    audit.stop();
    probe.stop();
    dispatcher.stop();
    lease_keeper.stop();  // last: releases the lease
  }

  SpikeWatcher spike_watcher;
  Pipeline& pipeline;  // made before the lease is taken: the standby follows the journal with it
  KeyRefresher key_refresher;
  AuditWriter audit;
  DatabaseProbe probe;
  outbound::Dispatcher dispatcher;
  LeaseKeeper lease_keeper;
  ReadPool reader;

 private:
  // Once, as the new lease holder, before serving: approvals of the last late_approvals_window_s
  // that committed after their answer was due and that the ledgerd which answered 91 did not
  // live to reverse (journal/late_approvals.h). The late rule reverses them; repeats change
  // nothing.
  void reverse_late_approvals() {
    pg::Conn conn;
    LateApprovals found;
    const std::uint64_t window_ns = std::uint64_t{limits::late_approvals_window_s} * 1'000'000'000;
    const std::uint64_t now = static_cast<std::uint64_t>(system_clock_ms()) * 1'000'000;
    Status s = pg::connect(url_, &conn);
    if (s.ok()) {
      s = pg::exec(conn.get(),
                   "SET statement_timeout = " + std::to_string(limits::late_approvals_query_ms));
    }
    if (s.ok()) {
      s = find_late_approvals(conn.get(), now > window_ns ? now - window_ns : 0,
                              limits::late_approvals_margin_ms, limits::late_approvals_max, &found);
    }
    if (!s.ok()) {
      spdlog::warn(
          "event=late_approvals_unchecked error=\"{}\" detail=\"approvals that "
          "committed after their 91 in the last {} s may still hold money\"",
          s.message(), limits::late_approvals_window_s);
      return;
    }
    for (const LateApprovals::Late& late : found.transfers) {
      pipeline.reverse_late(late.transfer, late.answer_by);
    }
    if (!found.by_commit_time) {
      spdlog::warn(
          "event=late_approvals_by_apply_time detail=\"track_commit_timestamp is off: "
          "only approvals late before they reached PostgreSQL are found; set it on\"");
    }
    spdlog::info("event=late_approvals_checked window_s={} by={} reversing={}",
                 limits::late_approvals_window_s,
                 found.by_commit_time ? "commit_time" : "apply_time", found.transfers.size());
  }

  std::string url_;
  http::Readiness& readiness_;
};

struct HttpMetrics {
  metrics::CounterFamily requests{{"method", "route", "status"}};
  metrics::Histogram latency = metrics::Histogram::latency();
};

// Everything /metrics shows of a serving ledgerd.
struct Observed {
  HttpMetrics& http;
  const http::Server& server;
  iso8583::Server& iso_server;
  const http::Api& api;
  Services& services;
  std::int64_t lease_epoch;
  const LedgerClock* test_clock;  // LEDGER_CLOCK=manual only
};

// The one place where the metrics of ledgerd are registered (docs/operations.md lists them).
void register_metrics(metrics::Registry& registry, const Observed& o) {
  registry.add_counter_family("ledgerd_http_requests_total",
                              "REST requests by method, route and HTTP status.", o.http.requests);
  registry.add_histogram("ledgerd_http_request_duration_seconds",
                         "From a REST request read whole to its response ready.", {},
                         o.http.latency);
  if (const LedgerClock* clock = o.test_clock) {
    registry.add_gauge("ledgerd_test_clock_offset_seconds",
                       "LEDGER_CLOCK=manual only: how far the test clock was moved ahead.", {},
                       [clock] { return static_cast<double>(clock->offset_ns()) / 1e9; });
  }
  const http::Server* server = &o.server;
  registry.add_gauge("ledgerd_open_connections", "Open client connections.",
                     {{"interface", "http"}},
                     [server] { return static_cast<double>(server->open_connections()); });
  registry.add_counter("ledgerd_connections_refused_total",
                       "Connections closed at accept (allowlist or connection limit).",
                       {{"interface", "http"}},
                       [server] { return static_cast<double>(server->refused_connections()); });
  registry.add_counter("ledgerd_tls_handshake_failures_total",
                       "REST connections closed because their TLS handshake failed (plain HTTP "
                       "on the HTTPS port included).",
                       {},
                       [server] { return static_cast<double>(server->tls_handshake_failures()); });
  o.iso_server.register_metrics(registry);
  o.services.dispatcher.register_metrics(registry);
  o.services.spike_watcher.register_metrics(registry);
  const http::Api* api = &o.api;
  registry.add_counter("ledgerd_card_clearing_reconciliation_differences_total",
                       "Clearing records the scheme settles that ledgerd did not post (set aside), "
                       "named in each import's reconciliation report.",
                       {}, [] {
                         return static_cast<double>(
                             http::card_clearing_differences().load(std::memory_order_relaxed));
                       });
  registry.add_counter("ledgerd_pan_lookups_total",
                       "Card creations over REST, each of which looks a card number up.", {},
                       [api] { return static_cast<double>(api->pan_lookups()); });
  registry.add_counter("ledgerd_pan_lookups_rate_limited_total",
                       "Card creations refused 429 because the key was over "
                       "LEDGER_PAN_LOOKUPS_PER_MINUTE.",
                       {}, [api] { return static_cast<double>(api->pan_lookups_refused()); });
  const AuditWriter* audit = &o.services.audit;
  registry.add_counter("ledgerd_audit_entries_written_total",
                       "Audit entries (back-office mutations) written to PostgreSQL.", {},
                       [audit] { return static_cast<double>(audit->written()); });
  registry.add_counter("ledgerd_audit_dropped_total",
                       "Audit entries refused because the audit queue was full.", {},
                       [audit] { return static_cast<double>(audit->dropped()); });
  registry.add_counter("ledgerd_audit_rows_set_aside_total",
                       "Audit entries PostgreSQL refused as they were, stored escaped with "
                       "set_aside=true.",
                       {}, [audit] { return static_cast<double>(audit->set_aside()); });
  registry.add_counter("ledgerd_audit_entries_lost_total",
                       "Audit entries never written (refused even escaped, or PostgreSQL away at "
                       "stop): each one is in the log as event=audit_entry_unwritten.",
                       {}, [audit] { return static_cast<double>(audit->lost()); });
  registry.add_counter("ledgerd_audit_write_failures_total",
                       "Audit batches that could not be written and wait for a retry.", {},
                       [audit] { return static_cast<double>(audit->failures()); });
  o.services.pipeline.register_metrics(registry);
  const std::int64_t epoch = o.lease_epoch;
  registry.add_gauge("ledgerd_lease_epoch",
                     "The ledger lease epoch this ledgerd holds (docs/operations.md); it rises by "
                     "one at every takeover.",
                     {}, [epoch] { return static_cast<double>(epoch); });
  const LeaseKeeper* keeper = &o.services.lease_keeper;
  registry.add_counter("ledgerd_lease_renewals_total", "Renewals of the ledger lease.", {},
                       [keeper] { return static_cast<double>(keeper->renewals()); });
  registry.add_counter(
      "ledgerd_lease_renewal_failures_total",
      "Renewals of the ledger lease that got no answer (PostgreSQL away or slow): a standby "
      "takes over if they last longer than LEDGER_LEASE_MS.",
      {}, [keeper] { return static_cast<double>(keeper->renewal_failures()); });
  registry.add_gauge("ledgerd_clock_skew_seconds",
                     "PostgreSQL's clock minus this host's, at the last lease renewal; beyond "
                     "LEDGER_MAX_CLOCK_SKEW_MS either way the active steps down.",
                     {}, [keeper] { return static_cast<double>(keeper->clock_skew_ms()) / 1e3; });
}

}  // namespace

std::optional<ServeOptions> options_from(const Config& config, std::string* error) {
  ServeOptions o;
  const auto address = [error](const Endpoint& endpoint, const char* flag,
                               asio::ip::tcp::endpoint* out) {
    boost::system::error_code code;
    const auto ip = asio::ip::make_address(endpoint.host, code);
    if (code) {
      *error = std::string("--") + flag + ": \"" + endpoint.host + "\" is not an IP address";
      return false;
    }
    *out = asio::ip::tcp::endpoint(ip, endpoint.port);
    return true;
  };
  // "a,b,c" -> addresses.
  const auto allowlist = [error](const std::string& text, const char* flag,
                                 std::vector<asio::ip::address>* out) {
    for (std::size_t start = 0; start < text.size();) {
      const auto comma = text.find(',', start);
      const std::string part = text.substr(start, comma - start);
      boost::system::error_code code;
      out->push_back(asio::ip::make_address(part, code));
      if (code) {
        *error = std::string("--") + flag + ": \"" + part + "\" is not an IP address";
        return false;
      }
      start = comma == std::string::npos ? text.size() : comma + 1;
    }
    return true;
  };
  if (!address(config.http_listen, "http-listen", &o.http_endpoint) ||
      !address(config.iso8583_listen, "iso8583-listen", &o.iso_endpoint) ||
      !allowlist(config.iso8583_allowlist, "iso8583-allowlist", &o.iso.allowlist) ||
      !allowlist(config.http_allowlist, "http-allowlist", &o.http.allowlist)) {
    return std::nullopt;
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    *error = "--tls-cert and --tls-key go together";
    return std::nullopt;
  }
  o.http.connections_max = config.http_connections_max;
  o.http.connections_per_source_max =
      std::min(config.http_connections_per_source_max, config.http_connections_max);

  o.iso.connections_max = config.iso8583_connections_max;
  o.iso.connections_per_source_max =
      std::min(config.iso8583_connections_per_source_max, config.iso8583_connections_max);
  o.iso.bitmap = config.iso8583_hex_bitmap ? iso8583::BitmapEncoding::ascii_hex
                                           : iso8583::BitmapEncoding::binary;
  o.iso.deadline = std::chrono::milliseconds(config.auth_deadline_ms);
  o.iso.read_timeout = std::chrono::milliseconds(config.iso8583_read_timeout_ms);
  o.iso.translate.pan_secret = config.pan_secret;
  o.iso.translate.home_country = config.home_country;
  o.iso.translate.hold_days = config.hold_days;
  o.iso.translate.preauthorization_hold_days = config.preauthorization_hold_days;
  if (!config.preauthorization_mccs.empty()) {
    if (Status s = iso8583::parse_mcc_ranges(config.preauthorization_mccs,
                                             &o.iso.translate.rules.preauthorization_mccs);
        !s.ok()) {
      *error = s.message();
      return std::nullopt;
    }
  }
  if (!config.over_capture.empty()) {
    if (Status s =
            iso8583::parse_over_capture(config.over_capture, &o.iso.translate.rules.over_capture);
        !s.ok()) {
      *error = s.message();
      return std::nullopt;
    }
  }

  o.api.card_clearing_policy.card_rules = o.iso.translate.rules;
  o.api.card_clearing_policy.match_days = config.clearing_match_days;
  o.api.card_clearing_policy.import_records_per_second = config.clearing_import_rate;
  o.api.card_clearing_policy.representment_days = config.representment_days;
  o.api.card_clearing_policy.chargeback_cutoff_minute = config.chargeback_cutoff_minute;
  o.api.card_clearing_policy.auto_cutoff = config.chargeback_auto_cutoff;
  for (std::string_view rest(config.chargeback_days); !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    const auto colon = part.find(':');
    std::uint64_t n = 0;
    if (colon != std::string_view::npos && parse_digits(part.substr(colon + 1), &n)) {
      o.api.card_clearing_policy.chargeback_days[std::string(part.substr(0, colon))] =
          static_cast<std::uint32_t>(n);
    }
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }

  o.pipeline.database_url = config.database_url;
  o.pipeline.engine =
      engine::EngineOptions{config.accounts_max, config.transfers_max, config.cards_max};
  o.pipeline.batch_commands_max = config.batch_max;
  o.pipeline.ingress_capacity = config.ingress_max;
  o.pipeline.snapshot_dir = config.snapshot_dir;
  o.pipeline.group_commit_interval_us = config.group_commit_interval_us;
  if (!config.snapshot_dir.empty())
    o.pipeline.snapshot_interval_ms = config.snapshot_interval_s * 1'000;

  std::string allowlist_error;
  const auto webhook_allowlist =
      outbound::parse_allowlist(config.webhook_allowlist, &allowlist_error);
  if (!webhook_allowlist) {
    *error = "LEDGER_WEBHOOK_ALLOWLIST: " + allowlist_error;
    return std::nullopt;
  }
  o.dispatcher.database_url = config.database_url;
  o.dispatcher.seal_key = config.webhook_key;
  o.dispatcher.allowlist = *webhook_allowlist;

  o.api.ledger_timeout = std::chrono::milliseconds(config.ledger_timeout_ms);
  o.api.pan_secret = config.pan_secret;
  o.api.rate_per_key = static_cast<double>(config.rate_limit_per_key);
  o.api.burst_per_key = static_cast<double>(
      config.rate_burst_per_key != 0 ? config.rate_burst_per_key : config.rate_limit_per_key);
  o.api.pan_lookups_per_minute = static_cast<double>(config.pan_lookups_per_minute);
  o.api.payee_checks_per_minute = static_cast<double>(config.payee_checks_per_minute);
  o.api.webhook = http::WebhookContext{config.webhook_key, *webhook_allowlist};
  o.api.direct_debit_policy =
      http::DirectDebitPolicy{config.dd_settlement_minute,
                              std::uint64_t{config.dd_wait_hours} * ns_per_hour,
                              std::uint64_t{config.dd_return_margin_hours} * ns_per_hour,
                              config.iban_country,
                              config.iban_bank_code,
                              config.bic,
                              config.dd_compensation_rate_bp};
  o.api.credit_transfer_policy = http::CreditTransferPolicy{config.sct_inst_url,
                                                            config.sct_inst_token,
                                                            config.sct_inst_timeout_ms,
                                                            config.sct_inst_max_amount,
                                                            config.sct_cutoff_minute,
                                                            config.vop_url,
                                                            config.vop_token};
  return o;
}

int run_migrate(const Config& config) {
  spdlog::info("event=migrate database=\"{}\" migrations_dir=\"{}\"",
               pg::describe_url(config.database_url), config.migrations_dir);
  pg::Conn conn;
  return prepare_database(config, &conn);
}

int run_serve(const Config& config) {
  spdlog::info("event=starting version={} {} database=\"{}\"", LEDGERD_VERSION, config.describe(),
               pg::describe_url(config.database_url));
  std::string refused;
  auto parsed = options_from(config, &refused);
  if (!parsed) return fail(exit_usage, refused);
  ServeOptions& options = *parsed;
  http::ServerOptions& http_options = options.http;
  if (!config.tls_cert_file.empty()) {
    if (Status s =
            http::make_tls_context(config.tls_cert_file, config.tls_key_file, &http_options.tls);
        !s.ok()) {
      return fail(exit_failure, s.message());
    }
  }
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
  PipelineOptions& pipeline_options = options.pipeline;
  pipeline_options.clock_ns = [&clock] { return clock.now_ns(); };
  pipeline_options.on_fenced = step_down;
  if (!pipeline_options.snapshot_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(pipeline_options.snapshot_dir, error);
    if (error || access(pipeline_options.snapshot_dir.c_str(), W_OK) != 0) {
      return fail(exit_failure, "LEDGER_SNAPSHOT_DIR \"" + pipeline_options.snapshot_dir +
                                    "\" is not a writable directory");
    }
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
  if (!take_lease(config, options.http_endpoint, http_options, &readiness, follow, &lease))
    return exit_ok;
  pipeline.set_fence_epoch(lease.epoch);
  // The back office's connections, all made from here on; a fenced transaction of theirs may
  // wait at most half a lease for its next statement.
  pg::set_session_fence(lease.epoch, std::max(limits::fence_idle_ms_min, config.lease_ms / 2));
  http::KeyRing keys;
  Services services(config, options, pipeline, keys, readiness, lease.epoch, step_down);
  services.lease_keeper.set_clock(lease.clock_skew_ms, lease.pg_minus_steady_ms);
  if (Status s = services.start(); !s.ok()) return fail(exit_failure, s.message());
  if (clock.manual() && pipeline.loaded_timestamp() > clock.now_ns()) {
    // A test clock restarts where the journal left it, never behind it.
    clock.advance(pipeline.loaded_timestamp() - clock.now_ns());
  }

  http::ApiOptions api_options = options.api;
  api_options.webhooks = &services.reader;
  api_options.spikes = &services.reader;
  api_options.direct_debits = &services.reader;
  api_options.clock = &clock;
  http::Api api(pipeline, services.reader, keys, readiness, api_options, &services.audit,
                &services.reader);
  if (config.pan_secret.empty()) {
    spdlog::warn(
        "event=pan_secret_unset detail=\"cards cannot be created until LEDGER_PAN_SECRET is set\"");
  }
  metrics::Registry registry;
  HttpMetrics http_metrics;
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
    http_metrics.requests
        .with({std::string(bhttp_method(request)), route, std::to_string(response.result_int())})
        .add();
    http_metrics.latency.observe(
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
  if (Status s = server.listen(options.http_endpoint); !s.ok())
    return fail(exit_failure, "http: " + s.message());
  iso8583::ServerOptions iso_options = options.iso;
  iso_options.pg_clock_anchor_ms = services.lease_keeper.pg_clock_anchor();
  iso8583::Server iso_server(io, pipeline, iso_options);
  if (Status s = iso_server.listen(options.iso_endpoint); !s.ok()) {
    return fail(exit_failure, "iso8583: " + s.message());
  }
  register_metrics(registry, Observed{http_metrics, server, iso_server, api, services, lease.epoch,
                                      config.clock_manual ? &clock : nullptr});

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
  if (config.sct_auto_cutoff) {
    asio::co_spawn(io, api.credit_transfer_cutoff(), [](std::exception_ptr escaped) {
      if (escaped) spdlog::error("event=sct_cutoff_stopped");
    });
  }
  if (config.chargeback_auto_cutoff) {
    asio::co_spawn(io, api.dispute_timers(), [](std::exception_ptr escaped) {
      if (escaped) spdlog::error("event=dispute_timers_stopped");
    });
  }
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
  services.stop();  // after the HTTP drain: in-flight requests needed the pipeline
  if (deposed) {
    spdlog::error("event=stopped reason=deposed epoch={}", lease.epoch);
    return exit_deposed;
  }
  spdlog::info("event=stopped");
  return exit_ok;
}

}  // namespace ledger::app
