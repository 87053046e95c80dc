// GET /v1/events: the event feed after a cursor, with a long-poll. A waiting request holds no
// reader thread: it reads, and while nothing matched and its wait is not over, sleeps
// limits::events_poll_interval_ms on its own strand and reads again from where the last
// read stopped.
#include <boost/asio/steady_timer.hpp>

#include "http/routes.h"
#include "net/ledger_call.h"

namespace ledger::http {

Awaitable<Response> route_events(const RouteContext& ctx, const Request& request,
                                 const Parts& parts, const Query& query) {
  const unsigned version = request.version();
  if (parts.size() != 2) co_return render(route_not_found(request.target()), version);
  if (request.method() != bhttp::verb::get) co_return render(method_not_allowed("GET"), version);
  const auto mapped = map_events_query(query);
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  EventQuery events_query = std::get<EventsRequest>(mapped).query;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::get<EventsRequest>(mapped).wait_ms);
  boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
  for (;;) {
    auto page = co_await await_read<EventPage>(
        [&](auto done) { return ctx.reader.events(events_query, std::move(done)); },
        ctx.ledger_timeout);
    if (!page || !page->first.ok()) co_return render(read_failed(), version);
    EventPage& found = page->second;
    if (!found.events.empty() || std::chrono::steady_clock::now() >= deadline) {
      co_return events_answer(found, version);
    }
    events_query.after = found.next_after;  // what was looked at matched nothing
    pause.expires_after(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(limits::events_poll_interval_ms),
        deadline - std::chrono::steady_clock::now()));
    auto [error] = co_await pause.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (error) co_return events_answer(found, version);
  }
}

}  // namespace ledger::http
