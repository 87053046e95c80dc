// The fault harness's clients and checker (docs/chaos.md). Clients behave as a back office and
// a card network do: REST transfers, holds that are then posted or voided, balance monitors
// created and deleted, ISO 8583 authorizations; each request without a definite answer is sent
// again with the same id (or repeated, 0101) to the other ledgerd, within a bound. Every
// attempt and its answer goes to the history. After the faults heal, check() reads PostgreSQL
// and the surviving ledgerd and lists every violation it finds.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace ledger::chaos {

struct Endpoint {
  std::string name;  // "a", "b"
  std::string address;
  int http = 8080;
  int iso = 8583;
};

// One logical operation and what its attempts were answered.
struct Operation {
  enum Kind { transfer, hold, resolve, monitor_create, monitor_delete, authorization };
  Kind kind = transfer;
  std::string id;      // transfer, hold, resolution or monitor id; an authorization's transfer
  std::string target;  // resolve: the hold; monitor_delete: the monitor
  bool post = false;   // resolve: post (else void)
  int stan = 0;        // authorization
  std::vector<int> statuses;  // per attempt: HTTP status, ISO DE39 as a number (0: "00"), -1: none
  std::string final_code;     // authorization: the last DE39 received ("" : none)
  bool acknowledged = false;  // a 2xx (or DE39 00)
  bool refused = false;       // only definite refusals, never a silence
};

class History {
 public:
  explicit History(const std::string& path);
  ~History();
  void record(const nlohmann::json& entry);  // adds "t": ms since the start

 private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

class Workload {
 public:
  Workload(std::vector<Endpoint> ledgers, std::string api_key, std::string database_url,
           History& history);
  ~Workload();

  // Accounts, funding, a card; sent until acknowledged (bounded). False: could not.
  bool create_ledger(int timeout_ms);
  void start();
  void stop();  // each client finishes its operation in flight (bounded by its retry window)

  // The endpoint whose /ready answers 200 (waits up to timeout_ms); "" if none.
  std::string wait_active(int timeout_ms) const;
  // The checks (docs/chaos.md); the survivor is `active`. Violations, empty when it passes.
  std::vector<std::string> check(const std::string& active) const;
  // Balances of every account the database lists, from a ledgerd.
  nlohmann::json balances(const std::string& ledger) const;
  std::string summary() const;

 private:
  struct Reply {
    int status = -1;
    std::string body;
  };
  Reply call(const Endpoint& e, const std::string& method, const std::string& path,
             const nlohmann::json& body, int timeout_ms) const;
  const Endpoint& endpoint(const std::string& name) const;
  // Sends until acknowledged, refused or out of time; rotates endpoints on a silence or 5xx.
  void send_rest(Operation* op, const std::string& method, const std::string& path,
                 const nlohmann::json& body, std::size_t* turn);
  void rest_client(int worker);
  void hold_client();
  void monitor_client();
  void iso_client(int worker);
  void keep(Operation op);

  std::vector<Endpoint> ledgers_;
  std::map<std::string, std::string> auth_;
  std::string database_url_;
  History& history_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> clients_;
  mutable std::mutex mutex_;
  std::vector<Operation> operations_;  // finished ones
};

}  // namespace ledger::chaos
