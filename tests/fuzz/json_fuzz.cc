// libFuzzer target: the REST API's request mapping (src/http/mapping, json_mapping) on
// arbitrary bodies and query strings. Every route's mapping either yields a command whose
// promises hold (amounts within range, ids that print and parse back, a currency set) or a
// Problem with a 4xx/503 status and a stable code; rendering either answer never fails.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/mapping.h"
#include "ledger/ids.h"

using namespace ledger;
using namespace ledger::http;

namespace {

template <typename T>
void check_problem(const Mapped<T>& mapped) {
  const Problem* problem = problem_of(mapped);
  if (problem == nullptr) return;
  const auto code = static_cast<unsigned>(problem->status);
  if (problem->code.empty() || (code != 400 && code != 415 && code != 503)) std::abort();
  (void)render(*problem, 11);
}

void check_command(const Mapped<Command>& mapped) {
  check_problem(mapped);
  const Command* command = std::get_if<Command>(&mapped);
  if (command == nullptr || command->kind != CommandKind::create_transfer) return;
  const Transfer& t = command->body.transfer;
  if (t.amount < 0 || t.id.is_zero()) std::abort();
  if (parse_uuid(to_string(t.id)) != t.id.value) std::abort();
  (void)dump_json(transfer_json(t));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Body body{"application/json", text, size % 3 == 0 ? text.substr(0, 8) : ""};
  const Uint128 id{7, 7};
  check_command(map_create_account(body, id));
  check_command(map_update_account(id, body));
  check_command(map_create_transfer(body));
  check_command(map_resolve(id, body, true));
  check_command(map_resolve(id, body, false));
  check_command(map_create_card(body, "fuzz-secret-fuzz-secret-fuzz-secret!", id));
  check_command(map_update_card(id, body));
  const auto batch = map_batch(body);
  check_problem(batch);
  if (const Batch* b = std::get_if<Batch>(&batch)) {
    for (const Command& c : b->commands) check_command(c);
  }
  check_problem(map_create_key(body));
  // The same bytes as a query string.
  Query query;
  if (parse_query("/v1/x?" + std::string(text), &query)) {
    check_problem(map_history(id, query));
    check_problem(map_statement(id, query));
    check_problem(map_list_accounts(query));
    check_problem(map_audit_query(query));
  }
  if (text.size() < 64) (void)parse_time(text);
  (void)route_label(text);
  return 0;
}
