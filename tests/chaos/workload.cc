#include "chaos/workload.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <set>

#include "iso8583/transaction_ids.h"
#include "ledger/card_ids.h"
#include "ledger/types.h"
#include "support/http_client.h"
#include "support/iso_link.h"
#include "support/test_db.h"

namespace ledger::chaos {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* settlement = "00000000-0000-4000-8000-0000000000c1";
constexpr const char* payer = "00000000-0000-4000-8000-0000000000c2";
constexpr const char* payee = "00000000-0000-4000-8000-0000000000c3";
constexpr long long funding = 1'000'000'000;
// A request is sent again (same id) for at most this long: a takeover, a healed partition or a
// restarted PostgreSQL fits in it many times.
constexpr int retry_window_ms = 20'000;
constexpr int attempt_timeout_ms = 2'500;

std::string uuid(unsigned group, unsigned worker, long long n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-%04x-4000-8000-%012lld", group, worker, n);
  return text;
}

bool is_2xx(int status) { return status >= 200 && status < 300; }
bool is_silence(int status) { return status < 0; }

int code_number(const std::string& de39) {
  if (de39.size() == 2 && std::isdigit(static_cast<unsigned char>(de39[0])) &&
      std::isdigit(static_cast<unsigned char>(de39[1]))) {
    return std::atoi(de39.c_str());
  }
  return 999;
}

const char* kind_name(Operation::Kind kind) {
  switch (kind) {
    case Operation::transfer:
      return "transfer";
    case Operation::hold:
      return "hold";
    case Operation::resolve:
      return "resolve";
    case Operation::monitor_create:
      return "monitor_create";
    case Operation::monitor_delete:
      return "monitor_delete";
    case Operation::authorization:
      return "authorization";
  }
  return "?";
}

}  // namespace

History::History(const std::string& path) : file_(std::fopen(path.c_str(), "w")) {}
History::~History() {
  if (file_ != nullptr) std::fclose(file_);
}

void History::record(const json& entry) {
  json line = entry;
  line["t"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
  std::lock_guard lock(mutex_);
  if (file_ == nullptr) return;
  const std::string text = line.dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

Workload::Workload(std::vector<Endpoint> ledgers, std::string api_key, std::string database_url,
                   History& history)
    : ledgers_(std::move(ledgers)),
      auth_{{"Authorization", "Bearer " + std::move(api_key)}},
      database_url_(std::move(database_url)),
      history_(history) {}

Workload::~Workload() { stop(); }

Workload::Reply Workload::call(const Endpoint& e, const std::string& method,
                               const std::string& path, const json& body, int timeout_ms) const {
  const auto reply = testing::http_call_to(e.address, e.http, method, path,
                                           body.is_null() ? "" : body.dump(), auth_, timeout_ms);
  return {reply.status == 0 ? -1 : reply.status, reply.body};
}

const Endpoint& Workload::endpoint(const std::string& name) const {
  for (const Endpoint& e : ledgers_) {
    if (e.name == name) return e;
  }
  return ledgers_.front();
}

std::string Workload::wait_active(int timeout_ms) const {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    for (const Endpoint& e : ledgers_) {
      if (call(e, "GET", "/ready", nullptr, 1'000).status == 200) return e.name;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

bool Workload::create_ledger(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const auto until_done = [&](const std::string& path, const json& body) {
    while (Clock::now() < deadline) {
      const std::string active = wait_active(2'000);
      if (active.empty()) continue;
      const int status = call(endpoint(active), "POST", path, body, 5'000).status;
      if (is_2xx(status)) return true;
      if (status >= 400 && status < 500 && status != 429) return false;
    }
    return false;
  };
  for (const char* id : {settlement, payer, payee}) {
    if (!until_done("/v1/accounts", {{"id", id},
                                     {"holder_id", payer},
                                     {"currency", "EUR"},
                                     {"kind", id == settlement ? "settlement" : "customer"}}))
      return false;
  }
  return until_done("/v1/transfers", {{"id", "00000000-0000-4000-8000-0000000000c9"},
                                      {"debit_account_id", settlement},
                                      {"credit_account_id", payer},
                                      {"amount", funding},
                                      {"currency", "EUR"}}) &&
         until_done("/v1/cards", {{"id", "00000000-0000-4000-8000-0000000000ca"},
                                  {"account_id", payer},
                                  {"pan", testing::pan},
                                  {"expiry", "4012"},
                                  {"controls", {{"per_authorization_limit", 5000}}}});
}

void Workload::keep(Operation op) {
  json entry = {{"op", kind_name(op.kind)},
                {"id", op.id},
                {"statuses", op.statuses},
                {"acknowledged", op.acknowledged},
                {"refused", op.refused}};
  if (!op.target.empty()) entry["target"] = op.target;
  if (op.kind == Operation::authorization) {
    entry["stan"] = op.stan;
    entry["final_code"] = op.final_code;
  }
  history_.record(entry);
  std::lock_guard lock(mutex_);
  operations_.push_back(std::move(op));
}

void Workload::send_rest(Operation* op, const std::string& method, const std::string& path,
                         const json& body, std::size_t* turn) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(retry_window_ms);
  bool silent = false;
  while (Clock::now() < deadline) {
    const Endpoint& e = ledgers_[*turn % ledgers_.size()];
    const int status = call(e, method, path, body, attempt_timeout_ms).status;
    op->statuses.push_back(status);
    if (is_2xx(status)) {
      op->acknowledged = true;
      return;
    }
    silent = silent || is_silence(status);
    if (status >= 400 && status < 500 && status != 429) break;  // a definite answer
    if (status != 429) ++*turn;  // silence or 5xx: the other ledgerd may be the active
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Only answers, none of them a success: refused. A silence leaves it undecided.
  op->refused = !silent;
}

void Workload::rest_client(int worker) {
  std::size_t turn = static_cast<std::size_t>(worker);
  for (long long n = 0; n < 1'000'000 && !stop_; ++n) {
    Operation op;
    op.kind = Operation::transfer;
    op.id = uuid(7, static_cast<unsigned>(worker), n);
    send_rest(&op, "POST", "/v1/transfers",
              {{"id", op.id},
               {"debit_account_id", payer},
               {"credit_account_id", payee},
               {"amount", 1},
               {"currency", "EUR"}},
              &turn);
    keep(std::move(op));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Workload::hold_client() {
  std::size_t turn = 0;
  for (long long n = 0; n < 1'000'000 && !stop_; ++n) {
    Operation hold;
    hold.kind = Operation::hold;
    hold.id = uuid(8, 0, n);
    send_rest(&hold, "POST", "/v1/transfers",
              {{"id", hold.id},
               {"debit_account_id", payer},
               {"credit_account_id", payee},
               {"amount", 2},
               {"currency", "EUR"},
               {"pending", true},
               {"timeout_seconds", 3600}},
              &turn);
    const bool held = hold.acknowledged;
    const std::string hold_id = hold.id;
    keep(std::move(hold));
    if (!held || stop_) continue;
    Operation resolve;
    resolve.kind = Operation::resolve;
    resolve.id = uuid(8, 1, n);
    resolve.target = hold_id;
    resolve.post = n % 2 == 0;
    send_rest(&resolve, "POST", "/v1/transfers/" + hold_id + (resolve.post ? "/post" : "/void"),
              {{"id", resolve.id}}, &turn);
    keep(std::move(resolve));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Workload::monitor_client() {
  std::size_t turn = 1;
  std::string previous;
  for (long long n = 0; n < 100'000 && !stop_; ++n) {
    Operation op;
    // Every other step deletes the one created before it (an account holds at most 16).
    if (n % 2 == 1 && !previous.empty()) {
      op.kind = Operation::monitor_delete;
      op.id = previous;
      send_rest(&op, "DELETE", "/v1/balance-monitors/" + previous, nullptr, &turn);
      previous.clear();
    } else {
      op.kind = Operation::monitor_create;
      op.id = uuid(9, 0, n);
      send_rest(&op, "POST", "/v1/balance-monitors",
                {{"id", op.id},
                 {"account_id", payee},
                 {"field", "available"},
                 {"operator", "<"},
                 {"threshold", -1}},
                &turn);
      if (op.acknowledged) previous = op.id;
    }
    keep(std::move(op));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Workload::iso_client(int worker) {
  testing::IsoLink link;
  std::size_t turn = static_cast<std::size_t>(worker);
  for (int k = 1; k < 100'000 && !stop_; ++k) {
    Operation op;
    op.kind = Operation::authorization;
    op.stan = worker * 100'000 + k;
    op.id = to_string(iso8583::authorization_id(testing::acquirer, testing::stan_of(op.stan),
                                                testing::transmission));
    const auto deadline = Clock::now() + std::chrono::milliseconds(retry_window_ms);
    bool silent = false;
    for (int attempt = 0; Clock::now() < deadline; ++attempt) {
      const Endpoint& e = ledgers_[turn % ledgers_.size()];
      const auto answer = link.call_to(
          e.address, e.iso, testing::authorization(attempt == 0 ? "0100" : "0101", op.stan),
          attempt_timeout_ms + 1'000);
      if (!answer.has(39)) {
        op.statuses.push_back(-1);
        silent = true;
        ++turn;
        continue;
      }
      op.final_code = std::string(answer.get(39));
      op.statuses.push_back(code_number(op.final_code));
      // 91: a standby, or an active without its database; an acquirer with two links asks
      // the other one.
      if (op.final_code != "91") break;
      ++turn;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    op.acknowledged = op.final_code == "00";
    // A silence leaves it undecided unless a later answer decided it (any answer to a repeat
    // is the ledger's decision for the authorization).
    op.refused = !op.acknowledged && !op.final_code.empty() && !(silent && op.final_code == "91");
    keep(std::move(op));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Workload::start() {
  clients_.emplace_back([this] { rest_client(1); });
  clients_.emplace_back([this] { rest_client(2); });
  clients_.emplace_back([this] { hold_client(); });
  clients_.emplace_back([this] { monitor_client(); });
  clients_.emplace_back([this] { iso_client(1); });
  clients_.emplace_back([this] { iso_client(2); });
}

void Workload::stop() {
  stop_ = true;
  for (std::thread& t : clients_) {
    if (t.joinable()) t.join();
  }
  clients_.clear();
}

json Workload::balances(const std::string& ledger) const {
  json all = json::object();
  for (const auto& row :
       testing::query_rows(database_url_, "SELECT id FROM accounts ORDER BY id")) {
    const auto reply = call(endpoint(ledger), "GET", "/v1/accounts/" + row.at(0), nullptr, 10'000);
    all[row.at(0)] = json::parse(reply.body, nullptr, false).value("balances", json());
  }
  return all;
}

std::string Workload::summary() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::array<int, 3>> counts;  // acknowledged, refused, undecided
  for (const Operation& op : operations_) {
    auto& c = counts[kind_name(op.kind)];
    ++c[op.acknowledged ? 0 : op.refused ? 1 : 2];
  }
  std::string out;
  for (const auto& [kind, c] : counts) {
    out += (out.empty() ? "" : ", ") + kind + " " + std::to_string(c[0]) + "/" +
           std::to_string(c[1]) + "/" + std::to_string(c[2]);
  }
  return out + " (acknowledged/refused/undecided)";
}

std::vector<std::string> Workload::check(const std::string& active) const {
  std::vector<std::string> problems;
  const auto fail = [&problems](std::string what) {
    if (problems.size() < 50) problems.push_back(std::move(what));
  };
  struct Row {
    int result = -1;
    int flags = 0;
    std::string pending_id;
  };
  std::map<std::string, Row> rows;
  std::set<std::string> resolved;  // holds released or posted by an accepted transfer
  for (const auto& r : testing::query_rows(
           database_url_,
           "SELECT id, result, flags, coalesce(pending_id::text, '') FROM transfers")) {
    rows[r.at(0)] = Row{std::atoi(r.at(1).c_str()), std::atoi(r.at(2).c_str()), r.at(3)};
    if (!r.at(3).empty() && r.at(1) == "0") resolved.insert(r.at(3));
  }
  const auto accepted = [&rows](const std::string& id) {
    const auto it = rows.find(id);
    return it != rows.end() && it->second.result == 0;
  };
  const auto open_hold = [&](const std::string& id) {
    const auto it = rows.find(id);
    return it != rows.end() && it->second.result == 0 && (it->second.flags & flag_pending) != 0 &&
           resolved.count(id) == 0;
  };
  std::vector<Operation> ops;
  {
    std::lock_guard lock(mutex_);
    ops = operations_;
  }
  std::set<std::string> asked;
  for (const Operation& op : ops) {
    asked.insert(op.id);
    const std::string what = std::string(kind_name(op.kind)) + " " + op.id;
    const std::string answers = json(op.statuses).dump();
    switch (op.kind) {
      case Operation::transfer:
      case Operation::hold:
      case Operation::resolve:
        if (op.acknowledged && !accepted(op.id)) fail(what + " acknowledged, not journaled");
        if (op.refused && accepted(op.id)) fail(what + " answered " + answers + ", journaled");
        if (op.kind == Operation::resolve && op.acknowledged && resolved.count(op.target) == 0)
          fail(what + " acknowledged, hold " + op.target + " still open");
        break;
      case Operation::authorization: {
        const TransferId original{*parse_uuid(op.id)};
        int held = 0;
        for (const TransferId id : {original, card_ids::advice(original)}) {
          held += open_hold(to_string(id)) ? 1 : 0;
        }
        if (op.acknowledged && held != 1)
          fail(what + " approved (" + answers + "), " + std::to_string(held) + " holds open");
        if (op.refused && held != 0)
          fail(what + " answered " + op.final_code + " " + answers + ", money still held");
        if (!op.acknowledged && !op.refused && held > 1)
          fail(what + " undecided, " + std::to_string(held) + " holds open");
        break;
      }
      case Operation::monitor_create:
      case Operation::monitor_delete:
        break;  // below, against the survivor
    }
  }
  // Nothing journaled under the clients' REST ids that no client sent.
  for (const auto& [id, row] : rows) {
    if ((id.rfind("00000007-", 0) == 0 || id.rfind("00000008-", 0) == 0) && !asked.count(id))
      fail("transfer " + id + " journaled, never sent");
  }
  // Monitors: the survivor's state is PostgreSQL's latest, and agrees with every answer.
  std::map<std::string, bool> deleted;  // PostgreSQL's latest state of each monitor
  for (const auto& r : testing::query_rows(
           database_url_,
           "SELECT DISTINCT ON (monitor_id) monitor_id, deleted FROM monitor_events "
           "ORDER BY monitor_id, ts DESC")) {
    deleted[r.at(0)] = r.at(1) == "t";
  }
  const Endpoint& survivor = endpoint(active);
  for (const Operation& op : ops) {
    if (op.kind != Operation::monitor_create && op.kind != Operation::monitor_delete) continue;
    const std::string what = std::string(kind_name(op.kind)) + " " + op.id;
    const auto it = deleted.find(op.id);
    if (op.kind == Operation::monitor_create) {
      if (op.acknowledged && it == deleted.end()) fail(what + " acknowledged, not journaled");
      if (op.refused && it != deleted.end()) fail(what + " refused, journaled");
    } else if (op.acknowledged && (it == deleted.end() || !it->second)) {
      fail(what + " acknowledged, not deleted in PostgreSQL");
    }
  }
  for (const auto& [id, gone] : deleted) {
    const Reply reply = call(survivor, "GET", "/v1/balance-monitors/" + id, nullptr, 5'000);
    const std::string state =
        json::parse(reply.body, nullptr, false).value("state", std::string("unreadable"));
    if (reply.status != 200 || (state == "deleted") != gone)
      fail("monitor " + id + (gone ? " deleted" : " present") +
           " in PostgreSQL, survivor answers " + std::to_string(reply.status) + " " + state);
  }
  // Debits = credits on the survivor.
  const json all = balances(active);
  for (const char* kind : {"posted", "pending"}) {
    long long debits = 0, credits = 0;
    for (const auto& [id, b] : all.items()) {
      if (!b.is_object()) {
        fail("account " + id + " unreadable on the survivor");
        continue;
      }
      debits += b.value(std::string("debits_") + kind, 0LL);
      credits += b.value(std::string("credits_") + kind, 0LL);
    }
    if (debits != credits)
      fail(std::string(kind) + " debits " + std::to_string(debits) + " != credits " +
           std::to_string(credits));
  }
  // No commit of a deposed epoch after the next epoch's first: epochs never go down along the
  // event sequence, and each epoch's last commit precedes the next one's first.
  long long last_epoch = 0;
  std::map<long long, std::pair<long long, long long>> span;  // epoch -> first, last commit (us)
  for (const auto& r : testing::query_rows(
           database_url_,
           "SELECT seq, epoch, coalesce((extract(epoch FROM pg_xact_commit_timestamp(xmin)) * "
           "1e6)::bigint, 0) FROM events WHERE epoch > 0 ORDER BY seq")) {
    const long long epoch = std::atoll(r.at(1).c_str());
    if (epoch < last_epoch)
      fail("event " + r.at(0) + " committed by epoch " + r.at(1) + " after epoch " +
           std::to_string(last_epoch));
    last_epoch = std::max(last_epoch, epoch);
    const long long committed = std::atoll(r.at(2).c_str());
    auto [it, inserted] = span.try_emplace(epoch, committed, committed);
    it->second.first = std::min(it->second.first, committed);
    it->second.second = std::max(it->second.second, committed);
  }
  for (auto it = span.begin(); it != span.end() && std::next(it) != span.end(); ++it) {
    const auto& next = std::next(it)->second;
    if (it->second.second > 0 && next.first > 0 && it->second.second > next.first)
      fail("epoch " + std::to_string(it->first) + " committed at " +
           std::to_string(it->second.second) + " us, after epoch " +
           std::to_string(std::next(it)->first) + " began at " + std::to_string(next.first));
  }
  return problems;
}

}  // namespace ledger::chaos
