#include "outbound/dispatcher.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <random>
#include <set>

#include "document/event.h"
#include "journal/event_reader.h"
#include "journal/pg.h"
#include "journal/webhook_sql.h"
#include "ledger/ids.h"
#include "ledger/limits.h"
#include "ledger/thread_name.h"
#include "outbound/client.h"
#include "outbound/crypto.h"
#include "outbound/filter.h"
#include "outbound/slack.h"

namespace ledger::outbound {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t unix_nanoseconds() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// One delivery handed to the sending thread, and what came back.
struct Send {
  DueDelivery due;
  WebhookKind kind = WebhookKind::webhook;
  std::vector<DueDelivery> digested;  // a Slack digest: the deliveries it stands for
  std::uint64_t event_ts = 0;
  HttpAttempt attempt;
  bool releases = true;  // the last of its batch: frees the subscription's slot
};

}  // namespace

struct Dispatcher::Impl {
  explicit Impl(DispatcherOptions o) : options(std::move(o)), tls(asio::ssl::context::tls_client) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
  }

  DispatcherOptions options;
  asio::ssl::context tls;  // before io: sends cut short by stop() are destroyed with io
  asio::io_context io;
  std::thread sender;
  std::thread worker;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::deque<Send> done;  // outcomes waiting to be recorded
  std::size_t in_flight = 0;
  std::set<Uint128> busy;  // subscriptions with a send under way
  // Slack: when each subscription may send next, and what waits for a digest.
  // Keyed by the Slack webhook URL (one URL is one channel), so that two subscriptions posting
  // to one channel share its pace and a 429's Retry-After holds the whole channel.
  std::map<std::string, Clock::time_point> slack_next;
  std::map<Uint128, std::string> slack_channel;  // subscription -> its URL
  // Accounts' masked IBANs for Slack text (account_ibans), read once each; bounded.
  std::map<Uint128, std::string> ibans;
  std::string account_label(PGconn* conn, AccountId account) {
    if (const auto it = ibans.find(account.value); it != ibans.end()) return it->second;
    pg::Result rows;
    std::string label;
    if (pg::exec_params(conn, "SELECT iban FROM account_ibans WHERE account_id = $1",
                        {format_uuid(account.value)}, &rows)
            .ok() &&
        PQntuples(rows.get()) == 1) {
      label = masked_iban(PQgetvalue(rows.get(), 0, 0));
    }
    if (ibans.size() >= 100'000) ibans.clear();
    if (!label.empty()) ibans[account.value] = label;  // an IBAN, once given, never changes
    return label;
  }
  std::map<Uint128, std::pair<Digest, std::vector<DueDelivery>>> digests;
  std::mt19937_64 jitter{std::random_device{}()};
  // Attempts whose outcome could not be recorded: not sent again before this time.
  std::map<std::pair<Uint128, std::uint64_t>, Clock::time_point> cooldown;

  metrics::Counter delivered, attempts_failed, given_up, disabled;
  metrics::Histogram lag{{1'000'000, 5'000'000, 10'000'000, 50'000'000, 100'000'000, 250'000'000,
                          500'000'000, 1'000'000'000, 2'000'000'000, 5'000'000'000, 30'000'000'000,
                          300'000'000'000, 3'600'000'000'000},
                         1e-9};

  void run();
  void round(PGconn* conn);
  void match(PGconn* conn, const DispatchSubscription& sub);
  void dispatch(PGconn* conn, const std::vector<DispatchSubscription>& subs);
  // Records an attempt's outcome; outcomes that disable nothing go to *deferred when given
  // (written together by record_deferred).
  void record(PGconn* conn, Send& send, std::vector<AttemptOutcome>* deferred = nullptr);
  void record_deferred(PGconn* conn, const std::vector<AttemptOutcome>& deferred);
  void launch(Send send, Url url, Headers headers, std::string body);
  void launch_batch(std::vector<Send> sends, Url url, std::vector<OutgoingRequest> requests);
  void dispatch_webhook(PGconn* conn, const WebhookSubscription& s,
                        const std::vector<DueDelivery>& due);
  std::uint32_t delay_after(std::uint32_t attempts);
};

std::uint32_t Dispatcher::Impl::delay_after(std::uint32_t attempts) {
  // attempts made so far (this one included) -> wait before the next; jitter of up to 10%.
  const auto& s = options.schedule_s;
  const std::uint32_t base = attempts < s.size() ? s[attempts] : 0;
  if (base == 0) return 0;
  return base + static_cast<std::uint32_t>(jitter() % (base / 10 + 1));
}

void Dispatcher::Impl::match(PGconn* conn, const DispatchSubscription& sub) {
  const WebhookSubscription& s = sub.subscription;
  Filter filter;
  FilterError error;
  if (!parse_filter(s.filter_json, &filter, &error)) {
    spdlog::error("event=webhook_filter_unreadable subscription={} field={}", format_uuid(s.id),
                  error.field);
    return;
  }
  std::set<Uint128> holder_accounts;
  if (!filter.holder_ids.empty()) {
    std::vector<Uint128> accounts;
    if (!accounts_of_holders(conn, filter.holder_ids, &accounts).ok()) return;
    holder_accounts.insert(accounts.begin(), accounts.end());
  }
  const bool replay = sub.replay_to != 0 || sub.replay_from != 0;
  EventQuery query;
  query.after = replay ? (sub.replay_from == 0 ? 0 : sub.replay_from - 1) : s.after_seq;
  query.limit = limits::dispatch_match_events_max;
  query.types = s.event_types;
  // The amount and currency criteria go into the events query: only records that can match
  // are read (the rest of the filter is applied below).
  if (!filter.currency.empty()) {
    if (const auto currency = currency_from_alpha(filter.currency)) query.currency = currency->code;
  }
  query.amount_at_least = filter.amount_at_least;
  query.amount_at_most = filter.amount_at_most;
  EventPage page;
  if (Status st = read_events(conn, query, &page); !st.ok()) {
    spdlog::warn("event=webhook_match_failed subscription={} error=\"{}\"", format_uuid(s.id),
                 st.message());
    return;
  }
  std::uint64_t next = page.next_after;
  std::vector<std::uint64_t> seqs;
  for (const Event& e : page.events) {
    if (replay && e.seq > sub.replay_to) break;
    if (matches(filter, e, holder_accounts)) seqs.push_back(e.seq);
  }
  if (replay) {
    next = std::min(next, sub.replay_to) + 1;  // the first seq still to replay
  } else if (next <= s.after_seq) {
    return;  // nothing new
  }
  if (Status st = record_matches(conn, s.id, seqs, replay, next); !st.ok()) {
    spdlog::warn("event=webhook_match_failed subscription={} error=\"{}\"", format_uuid(s.id),
                 st.message());
  }
}

void Dispatcher::Impl::launch(Send send, Url url, Headers headers, std::string body) {
  {
    std::lock_guard lock(mutex);
    ++in_flight;
    busy.insert(send.due.subscription);
  }
  asio::co_spawn(
      io,
      [this, send = std::move(send), url = std::move(url), headers = std::move(headers),
       body = std::move(body)]() mutable -> asio::awaitable<void> {
        try {
          send.attempt =
              co_await post(url, headers, std::move(body), options.allowlist, tls, options.timeout);
        } catch (const std::exception& e) {
          // Recorded as a failed attempt (retried on the schedule); the slot is given back.
          send.attempt = HttpAttempt{0, std::string("internal error: ") + e.what(), -1};
        }
        {
          std::lock_guard lock(mutex);
          done.push_back(std::move(send));
        }
        wake.notify_one();
      },
      [](const std::exception_ptr& error) {
        if (error)
          spdlog::error("event=webhook_send_failed detail=\"an attempt ended unrecorded\"");
      });
}

// A subscription's due deliveries, in seq order, sent one after the other on one connection
// (one coroutine, so order holds); recorded together when the sequence ends.
void Dispatcher::Impl::launch_batch(std::vector<Send> sends, Url url,
                                    std::vector<OutgoingRequest> requests) {
  {
    std::lock_guard lock(mutex);
    ++in_flight;
    busy.insert(sends.front().due.subscription);
  }
  asio::co_spawn(
      io,
      [this, sends = std::move(sends), url = std::move(url),
       requests = std::move(requests)]() mutable -> asio::awaitable<void> {
        std::vector<HttpAttempt> attempts;
        try {
          attempts =
              co_await post_all(url, std::move(requests), options.allowlist, tls, options.timeout);
        } catch (const std::exception& e) {
          attempts.assign(1, HttpAttempt{0, std::string("internal error: ") + e.what(), -1});
        }
        if (attempts.empty()) attempts.push_back(HttpAttempt{0, "not sent", -1});
        // Only what was tried is recorded; the rest stays pending (sent in a later round).
        sends.resize(std::min(sends.size(), attempts.size()));
        for (std::size_t i = 0; i < sends.size(); ++i) {
          sends[i].attempt = std::move(attempts[i]);
          sends[i].releases = i + 1 == sends.size();
        }
        {
          std::lock_guard lock(mutex);
          for (Send& send : sends) done.push_back(std::move(send));
        }
        wake.notify_one();
      },
      [](const std::exception_ptr& error) {
        if (error) spdlog::error("event=webhook_send_failed detail=\"a batch ended unrecorded\"");
      });
}

void Dispatcher::Impl::dispatch_webhook(PGconn* conn, const WebhookSubscription& s,
                                        const std::vector<DueDelivery>& due) {
  const auto url_text = unseal(options.seal_key, s.url_sealed);
  std::string error;
  const auto url = url_text ? parse_url(*url_text, &error) : std::nullopt;
  if (!url) {
    for (const DueDelivery& d : due) {
      Send failed{d,
                  s.kind,
                  {},
                  0,
                  HttpAttempt{0,
                              "the destination cannot be unsealed (was "
                              "LEDGER_WEBHOOK_KEY changed?)",
                              -1}};
      record(conn, failed);
    }
    return;
  }
  EventQuery query;
  for (const DueDelivery& d : due) query.seqs.push_back(d.seq);
  query.limit = static_cast<std::uint32_t>(query.seqs.size());
  EventPage page;
  if (!read_events(conn, query, &page).ok()) return;
  std::map<std::uint64_t, const Event*> events;
  for (const Event& e : page.events) events[e.seq] = &e;
  const std::vector<std::string> secrets =
      signing_secrets(options.seal_key, s.secret_sealed, s.previous_secret_sealed);
  std::vector<Send> sends;
  std::vector<OutgoingRequest> requests;
  for (const DueDelivery& d : due) {
    const auto it = events.find(d.seq);
    if (it == events.end()) break;  // keep the order: stop at a gap
    const Event& event = *it->second;
    const std::string body =
        document::event_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string id = document::event_id(event.seq);
    // Signed when it is sent, not now: a slow receiver's later requests of this batch would
    // otherwise carry a webhook-timestamp minutes old, which Standard Webhooks verifiers refuse.
    requests.push_back(OutgoingRequest{{}, body, [secrets, id, body] {
                                         return signed_headers(secrets, id, unix_seconds(), body);
                                       }});
    sends.push_back(Send{d, s.kind, {}, record_timestamp(event.record), {}});
  }
  if (!sends.empty()) launch_batch(std::move(sends), *url, std::move(requests));
}

void Dispatcher::Impl::dispatch(PGconn* conn, const std::vector<DispatchSubscription>& subs) {
  std::vector<DueDelivery> due;
  if (!due_deliveries(conn, limits::dispatch_due_deliveries_max, &due).ok()) return;
  std::map<Uint128, const WebhookSubscription*> by_id;
  for (const auto& s : subs) by_id[s.subscription.id] = &s.subscription;
  std::set<Uint128> taken;  // one per subscription per round, in seq order
  std::set<std::pair<Uint128, std::uint64_t>> digesting;
  for (const auto& [id, d] : digests) {
    for (const DueDelivery& x : d.second) digesting.insert({x.subscription, x.seq});
  }
  const auto now = Clock::now();
  // Webhooks: each subscription's due deliveries in seq order, up to dispatch_send_deliveries_max,
  // as one sequence on one connection. Slack: one message per round (the rest wait for the digest).
  std::map<Uint128, std::vector<DueDelivery>> webhook_due;
  std::vector<Uint128> webhook_order;
  for (const DueDelivery& d : due) {
    {
      std::lock_guard lock(mutex);
      if (in_flight >= options.in_flight_max) break;
      if (busy.count(d.subscription) != 0) continue;
    }
    if (taken.count(d.subscription) != 0 || digesting.count({d.subscription, d.seq}) != 0) {
      continue;
    }
    if (const auto c = cooldown.find({d.subscription, d.seq}); c != cooldown.end()) {
      if (now < c->second) continue;
      cooldown.erase(c);
    }
    const auto it = by_id.find(d.subscription);
    if (it == by_id.end()) continue;  // disabled or deleted since
    const WebhookSubscription& s = *it->second;
    if (s.kind == WebhookKind::webhook) {
      auto& list = webhook_due[d.subscription];
      if (list.empty()) webhook_order.push_back(d.subscription);
      if (list.size() < limits::dispatch_send_deliveries_max) list.push_back(d);
      continue;
    }
    EventQuery query;
    query.after = d.seq - 1;
    query.limit = 1;
    EventPage page;
    if (!read_events(conn, query, &page).ok() || page.events.empty() ||
        page.events[0].seq != d.seq) {
      continue;
    }
    const Event& event = page.events[0];
    const auto url_text = unseal(options.seal_key, s.url_sealed);
    std::string error;
    const auto url = url_text ? parse_url(*url_text, &error) : std::nullopt;
    if (!url) {
      Send failed{d,
                  s.kind,
                  {},
                  0,
                  HttpAttempt{0,
                              "the destination cannot be unsealed (was "
                              "LEDGER_WEBHOOK_KEY changed?)",
                              -1}};
      record(conn, failed);
      continue;
    }
    Send send{d, s.kind, {}, record_timestamp(event.record), {}};
    if (s.kind == WebhookKind::slack) {
      slack_channel[s.id] = *url_text;
      auto& next = slack_next[*url_text];
      auto& digest = digests[s.id];
      if (now < next) {  // over the rate: held back for the digest
        digest.first.add(event);
        digest.second.push_back(d);
        continue;
      }
      next = now + options.slack_interval;
      taken.insert(d.subscription);
      launch(std::move(send), *url, {}, slack_body(slack_text(event, [&](AccountId account) {
               return account_label(conn, account);
             })));
      continue;
    }
  }
  for (const Uint128& id : webhook_order) {
    {
      std::lock_guard lock(mutex);
      if (in_flight >= options.in_flight_max) break;
    }
    dispatch_webhook(conn, *by_id.at(id), webhook_due[id]);
  }
  // Slack digests whose subscription may send again.
  for (auto it = digests.begin(); it != digests.end();) {
    auto& [id, digest] = *it;
    const auto sub = by_id.find(id);
    if (digest.second.empty() || sub == by_id.end()) {
      it = digests.erase(it);
      continue;
    }
    bool is_busy = false;
    {
      std::lock_guard lock(mutex);
      is_busy = busy.count(id) != 0 || in_flight >= options.in_flight_max;
    }
    const auto url_text = unseal(options.seal_key, sub->second->url_sealed);
    std::string error;
    const auto url = url_text ? parse_url(*url_text, &error) : std::nullopt;
    if (!url || is_busy || now < slack_next[*url_text]) {
      ++it;
      continue;
    }
    slack_channel[id] = *url_text;
    slack_next[*url_text] = now + options.slack_interval;
    Send send{digest.second.front(), WebhookKind::slack, digest.second, 0, {}};
    launch(std::move(send), *url, {}, slack_body(digest.first.text()));
    it = digests.erase(it);
  }
}

void Dispatcher::Impl::record_deferred(PGconn* conn, const std::vector<AttemptOutcome>& deferred) {
  if (deferred.empty()) return;
  if (Status s = record_attempts(conn, deferred); !s.ok()) {
    // Not recorded: the deliveries stay pending and are sent again (at least once), after a
    // pause so that a failing database never turns into a flood at the receiver.
    for (const AttemptOutcome& o : deferred) {
      cooldown[{o.subscription, o.seq}] = Clock::now() + std::chrono::seconds(5);
    }
    spdlog::warn("event=webhook_attempts_unrecorded count={} error=\"{}\"", deferred.size(),
                 s.message());
  }
}

void Dispatcher::Impl::record(PGconn* conn, Send& send, std::vector<AttemptOutcome>* deferred) {
  const HttpAttempt& a = send.attempt;
  AttemptOutcome o;
  o.http_status = a.status;
  o.error = a.error;
  o.delivered = a.status >= 200 && a.status < 300;
  if (o.error.empty() && !o.delivered) o.error = "HTTP " + std::to_string(a.status);
  const std::uint32_t attempts = send.due.attempts + 1;
  if (!o.delivered) {
    const bool slack_gone =
        send.kind == WebhookKind::slack && (a.status == 403 || a.status == 404 || a.status == 410);
    if (a.status == 410 || slack_gone) {
      o.disable_reason = "the destination answered HTTP " + std::to_string(a.status) +
                         (send.kind == WebhookKind::slack ? " (the Slack webhook is gone)" : "");
      o.give_up = true;
    } else if ((a.status == 429 || a.status == 503) && a.retry_after_s >= 0) {
      o.retry_after_s = static_cast<std::uint32_t>(std::min<std::int64_t>(a.retry_after_s, 86400));
    } else if (attempts >= options.schedule_s.size()) {
      o.give_up = true;
    } else {
      o.retry_after_s = delay_after(attempts);
    }
  }
  if (send.kind == WebhookKind::slack) {
    // The next message leaves a full interval after this one was answered, so that however
    // slow a connection was, Slack never sees two within a second.
    // A 429 holds the channel for its Retry-After, every message of every subscription on it.
    auto& next = slack_next[slack_channel[send.due.subscription]];
    next = std::max(next, Clock::now() + options.slack_interval);
    if (a.status == 429 && a.retry_after_s > 0) {
      next = std::max(
          next, Clock::now() + std::chrono::seconds(std::min<std::int64_t>(a.retry_after_s, 3600)));
    }
  }
  const std::vector<DueDelivery> covered =
      send.digested.empty() ? std::vector<DueDelivery>{send.due} : send.digested;
  for (const DueDelivery& d : covered) {
    o.subscription = d.subscription;
    o.seq = d.seq;
    if (deferred != nullptr && o.disable_reason.empty()) {
      deferred->push_back(o);
      continue;
    }
    if (Status s = record_attempt(conn, o); !s.ok()) {
      // Not recorded: the delivery stays pending and is sent again (at least once), after a
      // pause so that a failing database never turns into a flood at the receiver.
      cooldown[{d.subscription, d.seq}] = Clock::now() + std::chrono::seconds(5);
      spdlog::warn("event=webhook_attempt_unrecorded subscription={} seq={} error=\"{}\"",
                   format_uuid(d.subscription), d.seq, s.message());
    }
  }
  if (o.delivered) {
    delivered.add(covered.size());
    if (send.event_ts != 0) {
      const std::uint64_t now = unix_nanoseconds();
      lag.observe(now > send.event_ts ? now - send.event_ts : 0);
    }
  } else {
    attempts_failed.add();
    if (o.give_up) given_up.add(covered.size());
    if (!o.disable_reason.empty()) {
      disabled.add();
      spdlog::warn("event=webhook_subscription_disabled subscription={} reason=\"{}\"",
                   format_uuid(send.due.subscription), o.disable_reason);
    }
  }
}

void Dispatcher::Impl::round(PGconn* conn) {
  std::vector<DispatchSubscription> subs;
  if (Status s = load_dispatch_subscriptions(conn, &subs); !s.ok()) {
    spdlog::warn("event=webhook_subscriptions_unreadable error=\"{}\"", s.message());
    return;
  }
  if (subs.empty()) return;  // nothing to match or send (deliveries of disabled ones wait)
  for (const auto& sub : subs) match(conn, sub);
  dispatch(conn, subs);
}

void Dispatcher::Impl::run() {
  pg::Conn conn;
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    std::deque<Send> finished;
    {
      std::unique_lock lock(mutex);
      wake.wait_for(lock, options.poll_interval, [&] { return stopping || !done.empty(); });
      finished.swap(done);
      if (stopping && finished.empty()) return;  // sends cut short stay pending: sent again
    }
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      if (!pg::connect(options.database_url, &conn).ok()) {
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2'000));
        std::lock_guard lock(mutex);
        for (auto& f : finished) done.push_back(std::move(f));  // recorded once connected
        continue;
      }
      backoff = std::chrono::milliseconds(100);
      (void)pg::exec(conn.get(), "SET statement_timeout = 10000");
      // Delivery bookkeeping does not wait for its WAL flush: the journal's group commits keep
      // the disk to themselves. A crash of PostgreSQL can lose the last bookkeeping, never
      // reorder it, and a delivery whose outcome was lost is sent again (at least once, same
      // webhook-id and body), a match lost is matched again with its cursor.
      (void)pg::exec(conn.get(), "SET synchronous_commit = off");
    }
    std::vector<AttemptOutcome> deferred;  // written in one statement
    for (Send& send : finished) record(conn.get(), send, &deferred);
    record_deferred(conn.get(), deferred);
    for (const Send& send : finished) {  // slots freed once their outcomes are written
      if (!send.releases) continue;      // more of its batch follow
      std::lock_guard lock(mutex);
      --in_flight;
      busy.erase(send.due.subscription);
    }
    bool stop_now = false;
    {
      std::lock_guard lock(mutex);
      stop_now = stopping;
    }
    if (!stop_now) round(conn.get());
  }
}

Dispatcher::Dispatcher(DispatcherOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  impl_->sender = std::thread([this] {
    name_this_thread("ledgerd-send");
    auto work = asio::make_work_guard(impl_->io);
    impl_->io.run();
  });
  impl_->worker = std::thread([this] {
    name_this_thread("ledgerd-events");
    impl_->run();
  });
}

void Dispatcher::stop() {
  if (!impl_->worker.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->io.stop();  // sends under way are cut short: their deliveries stay pending
  impl_->sender.join();
  impl_->worker.join();
}

void Dispatcher::register_metrics(metrics::Registry& registry) {
  registry.add_counter("ledgerd_webhook_deliveries_total",
                       "Webhook and Slack deliveries answered 2xx (a digest counts each event).",
                       {}, impl_->delivered);
  registry.add_counter("ledgerd_webhook_attempts_failed_total",
                       "Delivery attempts without a 2xx answer (retried on the schedule).", {},
                       impl_->attempts_failed);
  registry.add_counter("ledgerd_webhook_deliveries_failed_total",
                       "Deliveries given up after the last retry, or dropped by a 410.", {},
                       impl_->given_up);
  registry.add_counter("ledgerd_webhook_subscriptions_disabled_total",
                       "Subscriptions disabled because their destination answered 410 (Slack: "
                       "403, 404 or 410).",
                       {}, impl_->disabled);
  registry.add_histogram("ledgerd_webhook_delivery_lag_seconds",
                         "From a transfer's commit to its delivery answered 2xx.", {}, impl_->lag);
}

}  // namespace ledger::outbound
