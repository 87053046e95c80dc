// Load and checks shared by the failover tests (issue 18: tests/failover_test.cc kills the
// active ledgerd, tests/ha_test.cc the PostgreSQL primary). Two client threads behave as a
// back office and a card network do while the servers fail under them:
// - REST: transfers of 1 cent; one without a 2xx answer is sent again with the same id;
// - ISO 8583: authorizations of 1.00 EUR; one without an answer is repeated (0101, same
//   DE7/DE11/DE32), to the next ledgerd when there are several.
// verify() then checks against PostgreSQL and the serving ledgerd: every acknowledged
// transfer and approval journaled with the answer it was given, one row per id however often
// it was sent, nothing held for an authorization answered 91, debits = credits.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "iso8583/transaction_ids.h"
#include "ledger/card_ids.h"
#include "support/http_client.h"
#include "support/iso_link.h"
#include "support/test_db.h"

namespace ledger::testing {

class FailoverLoad {
 public:
  using Clock = std::chrono::steady_clock;
  using json = nlohmann::json;
  struct Target {
    int http = 0;
    int iso = 0;
  };
  static constexpr const char* settlement = "00000000-0000-4000-8000-000000000001";
  static constexpr const char* customer = "00000000-0000-4000-8000-000000000002";
  static constexpr long long funding = 100'000'000;

  explicit FailoverLoad(std::string api_key)
      : auth_{{"Authorization", "Bearer " + std::move(api_key)}} {}
  ~FailoverLoad() { stop(); }

  // The ledgerd the clients send to: they start at the first and move to the next after a
  // request without an answer (or a 5xx).
  void set_targets(std::vector<Target> targets) {
    std::lock_guard lock(mutex_);
    targets_ = std::move(targets);
  }

  // Two accounts, the funding transfer and a card with a limit of 50.00 per authorization.
  void create_ledger(int http_port) const {
    for (const char* id : {settlement, customer}) {
      ASSERT_EQ(call(http_port, "POST", "/v1/accounts",
                     {{"id", id},
                      {"holder_id", customer},
                      {"currency", "EUR"},
                      {"kind", id == settlement ? "settlement" : "customer"}})
                    .status,
                201);
    }
    ASSERT_EQ(call(http_port, "POST", "/v1/transfers",
                   {{"id", "00000000-0000-4000-8000-000000000009"},
                    {"debit_account_id", settlement},
                    {"credit_account_id", customer},
                    {"amount", funding},
                    {"currency", "EUR"}})
                  .status,
              201);
    ASSERT_EQ(call(http_port, "POST", "/v1/cards",
                   {{"id", "00000000-0000-4000-8000-000000000003"},
                    {"account_id", customer},
                    {"pan", pan},
                    {"expiry", "4012"},
                    {"controls", {{"per_authorization_limit", 5000}}}})
                  .status,
              201);
  }

  void start() {
    rest_ = std::thread([this] { rest_loop(); });
    iso_ = std::thread([this] { iso_loop(); });
  }
  void stop() {
    stop_ = true;
    if (rest_.joinable()) rest_.join();
    if (iso_.joinable()) iso_.join();
  }

  // Sends authorizations (STANs from 900000 up) to the targets in turn until one is
  // approved; returns the milliseconds from `since` to that approval (-1: none in limit_ms).
  long long first_approval_ms(Clock::time_point since, int limit_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(limit_ms);
    IsoLink link;
    std::size_t turn = 0;
    while (Clock::now() < deadline) {
      const Target target = target_at(turn);
      const int stan = 900'000 + probes_sent_++;
      const auto answer = link.call(target.iso, authorization("0100", stan), 2'000);
      if (answer.has(39) && answer.get(39) == "00") {
        probes_approved_.push_back(stan);
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
      }
      if (answer.mti.empty() || !answer.has(39) || answer.get(39) == "91") ++turn;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

  std::size_t transfers() const { return rest_status_.size(); }
  // Transfers and approvals acknowledged so far (any thread, while the clients run).
  long long acknowledged() const { return acknowledged_.load(); }
  std::size_t authorizations() const { return iso_code_.size(); }
  std::string summary() const {
    return std::to_string(rest_status_.size()) + " transfers (" + std::to_string(rest_resent_) +
           " sent again), " + std::to_string(iso_code_.size()) + " authorizations (" +
           std::to_string(iso_repeated_) + " repeated)";
  }

  // Every piece of the ledger a client can read, from one ledgerd: each account, card,
  // transfer, balance monitor, direct debit, spike rule, webhook subscription and API key that
  // PostgreSQL lists, as that ledgerd answers GET for it (status and body). Two ledgerd that
  // agree on this agree on everything a client sees.
  json state(int http_port, const std::string& url) const {
    json all = json::object();
    const auto read = [&](const char* kind, const std::string& sql, const std::string& path) {
      json& part = all[kind] = json::object();
      for (const auto& row : query_rows(url, sql)) {
        const auto reply = call(http_port, "GET", path + row.at(0));
        part[row.at(0)] = {{"status", reply.status},
                           {"body", json::parse(reply.body, nullptr, false)}};
      }
    };
    read("accounts", "SELECT id FROM accounts", "/v1/accounts/");
    read("cards", "SELECT id FROM cards", "/v1/cards/");
    read("transfers", "SELECT id FROM transfers", "/v1/transfers/");
    read("monitors", "SELECT DISTINCT monitor_id FROM monitor_events", "/v1/balance-monitors/");
    read("direct_debits", "SELECT id FROM direct_debits", "/v1/direct-debits/");
    for (const char* list : {"/v1/spike-rules", "/v1/webhook-subscriptions", "/v1/keys"}) {
      const auto reply = call(http_port, "GET", list);
      all["lists"][list] = {{"status", reply.status},
                            {"body", json::parse(reply.body, nullptr, false)}};
    }
    return all;
  }
  // Where two states differ: the first few ids, by kind.
  static std::string differences(const json& a, const json& b) {
    std::string out;
    int shown = 0;
    for (const auto& [kind, items] : a.items()) {
      for (const auto& [id, value] : items.items()) {
        if (b.contains(kind) && b[kind].contains(id) && b[kind][id] == value) continue;
        if (shown++ < 5) {
          out += std::string(kind) + " " + id + ": " + value.dump() + " vs " +
                 (b.contains(kind) && b[kind].contains(id) ? b[kind][id].dump() : "missing") + "\n";
        }
      }
    }
    return out.empty() ? "(only in the second)" : out;
  }

  // Balance monitors on the customer's account, created and deleted while the servers fail
  // (their creations and deletions are journal records but not events): creates monitor n and
  // deletes monitor n - 1. Both must be acknowledged.
  void churn_monitors(int http_port, int n) const {
    char id[40];
    std::snprintf(id, sizeof id, "00000006-0000-4000-8000-%012d", n);
    EXPECT_EQ(call(http_port, "POST", "/v1/balance-monitors",
                   {{"id", id},
                    {"account_id", customer},
                    {"field", "available"},
                    {"operator", "<"},
                    {"threshold", 100 + n}})
                  .status,
              201)
        << id;
    if (n == 0) return;
    std::snprintf(id, sizeof id, "00000006-0000-4000-8000-%012d", n - 1);
    EXPECT_EQ(call(http_port, "DELETE", std::string("/v1/balance-monitors/") + id).status, 200)
        << id;
  }

  // Every account's balances (after verify(): also the card network's settlement account,
  // which the first authorization opened).
  json balances(int http_port) const {
    json all;
    for (const std::string& id : accounts_) {
      const auto reply = call(http_port, "GET", std::string("/v1/accounts/") + id);
      all[id] = json::parse(reply.body, nullptr, false).value("balances", json());
    }
    return all;
  }

  // After stop(): the checks named at the top, against the database and the serving ledgerd.
  // Returns that ledgerd's balances.
  json verify(const std::string& database_url, int active_http) const {
    struct Row {
      int result = 0;
      std::string pending_id;
      bool accounted = false;
    };
    std::map<std::string, Row> rows;
    std::map<std::string, std::string> release_of;  // hold id -> the void that released it
    for (const auto& row : query_rows(database_url,
                                      "SELECT id, result, coalesce(pending_id::text, '') "
                                      "FROM transfers")) {
      if (row.size() != 3) {
        ADD_FAILURE() << "unexpected row";
        continue;
      }
      EXPECT_TRUE(rows.emplace(row[0], Row{std::atoi(row[1].c_str()), row[2]}).second) << row[0];
      if (!row[2].empty() && row[1] == "0") release_of[row[2]] = row[0];
    }
    const auto account = [&](const std::string& id) {
      rows[id].accounted = true;
      if (const auto release = release_of.find(id); release != release_of.end()) {
        rows[release->second].accounted = true;
      }
    };
    if (rows.count("00000000-0000-4000-8000-000000000009") == 1) {
      account("00000000-0000-4000-8000-000000000009");  // the funding
    }
    for (std::size_t n = 0; n < rest_status_.size(); ++n) {
      const std::string id = transfer_id(static_cast<int>(n));
      EXPECT_TRUE(rest_status_[n] == 200 || rest_status_[n] == 201) << id << " " << rest_status_[n];
      const auto found = rows.find(id);
      if (found == rows.end()) {
        ADD_FAILURE() << id << " acknowledged, not journaled";
        continue;
      }
      EXPECT_EQ(found->second.result, 0) << id;
      account(id);
    }
    // held: authorizations whose money is held now (journaled, accepted, not released).
    int approved = 0;
    int unavailable = 0;
    int held = 0;
    // An authorization's money is held on its own transfer or, when a repeat came after the
    // late rule released that one (its 91 committed late), on the advice slot the repeat
    // decided anew (card_ids::advice).
    const auto check_authorization = [&](int stan, const std::string& code) {
      const TransferId original = iso8583::authorization_id(acquirer, stan_of(stan), transmission);
      bool accepted = false;
      bool released = true;
      for (const TransferId slot : {original, card_ids::advice(original)}) {
        const std::string id = to_string(slot);
        const auto found = rows.find(id);
        if (found == rows.end()) continue;
        account(id);
        if (found->second.result == 0 && release_of.count(id) == 0) {
          accepted = true;
          released = false;
        } else if (found->second.result == 0 && !accepted) {
          accepted = true;
        }
      }
      if (accepted && !released) ++held;
      if (code == "00") {
        ++approved;
        EXPECT_TRUE(accepted && !released) << "STAN " << stan << " approved, not held";
      } else if (code == "91") {
        // Issuer unavailable: nothing may stay held for it (a hold that committed after its
        // 91 is released by a void, ledgerd_iso8583_late_holds_voided_total).
        ++unavailable;
        EXPECT_FALSE(accepted && !released) << "STAN " << stan << " answered 91, still held";
      } else if (code == "65") {
        // Answered 91 at two deadlines (the original's and a repeat's, both decisions released
        // by the late rule): no slot is left for a third decision, so it is declined.
        EXPECT_FALSE(accepted && !released) << "STAN " << stan << " answered 65, still held";
      } else if (!code.empty()) {
        ADD_FAILURE() << "STAN " << stan << " answered '" << code << "'";
      }
      // "": a probe that had no answer (its ledgerd was killed): whatever it did is counted.
    };
    for (std::size_t i = 0; i < iso_code_.size(); ++i) {
      EXPECT_FALSE(iso_code_[i].empty()) << "STAN " << i + 1 << " never answered";
      check_authorization(static_cast<int>(i) + 1, iso_code_[i]);
    }
    for (int stan = 900'000; stan < 900'000 + probes_sent_; ++stan) {
      const bool approved_probe = std::find(probes_approved_.begin(), probes_approved_.end(),
                                            stan) != probes_approved_.end();
      check_authorization(stan, approved_probe ? "00" : "");
    }
    std::printf("failover: %s; %d approved, %d answered 91, %d held\n", summary().c_str(), approved,
                unavailable, held);
    // Nothing journaled that no client asked for.
    for (const auto& [id, row] : rows) EXPECT_TRUE(row.accounted) << id << " journaled, not sent";

    accounts_.clear();
    for (const auto& row : query_rows(database_url, "SELECT id FROM accounts ORDER BY id")) {
      accounts_.push_back(row.at(0));
    }
    const json last = balances(active_http);
    if (!last[customer].is_object()) {
      ADD_FAILURE() << last.dump();
      return last;
    }
    for (const char* kind : {"posted", "pending"}) {
      long long debits = 0;
      long long credits = 0;
      for (const auto& [id, balance] : last.items()) {
        debits += balance.value(std::string("debits_") + kind, 0LL);
        credits += balance.value(std::string("credits_") + kind, 0LL);
      }
      EXPECT_EQ(debits, credits) << kind << " " << last.dump();
    }
    EXPECT_EQ(last[customer].value("debits_pending", 0LL), 100LL * held) << last.dump();
    EXPECT_EQ(last[customer].value("credits_posted", 0LL),
              funding + static_cast<long long>(rest_status_.size()))
        << last.dump();
    return last;
  }

 private:
  HttpReply call(int port, const std::string& method, const std::string& path,
                 const json& body = nullptr, int timeout_ms = 10'000) const {
    return http_call(port, method, path, body.is_null() ? "" : body.dump(), auth_, timeout_ms);
  }
  static std::string transfer_id(int n) {
    char text[40];
    std::snprintf(text, sizeof text, "00000005-0000-4000-8000-%012d", n);
    return text;
  }
  Target target_at(std::size_t turn) const {
    std::lock_guard lock(mutex_);
    return targets_.empty() ? Target{} : targets_[turn % targets_.size()];
  }

  // Every request is sent until answered, for at most 60 s (a PostgreSQL failover's worth).
  void rest_loop() {
    std::size_t turn = 0;
    for (int n = 0; n < 100'000 && !stop_; ++n) {
      const json body = {{"id", transfer_id(n)},
                         {"debit_account_id", settlement},
                         {"credit_account_id", customer},
                         {"amount", 1},
                         {"currency", "EUR"}};
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      int status = 0;
      for (int attempt = 0; Clock::now() < deadline; ++attempt) {
        if (attempt > 0) {
          ++rest_resent_;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        status = call(target_at(turn).http, "POST", "/v1/transfers", body, 3'000).status;
        if (status == 200 || status == 201) {
          ++acknowledged_;
          break;
        }
        if (status == 0 || status >= 500) ++turn;
      }
      rest_status_.push_back(status);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  void iso_loop() {
    IsoLink link;
    std::size_t turn = 0;
    for (int n = 1; n < 100'000 && !stop_; ++n) {
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      std::string code;
      for (int attempt = 0; Clock::now() < deadline; ++attempt) {
        if (attempt > 0) {
          ++iso_repeated_;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        const auto answer =
            link.call(target_at(turn).iso, authorization(attempt == 0 ? "0100" : "0101", n), 3'000);
        if (answer.has(39)) {
          code = std::string(answer.get(39));
          // A standby or a ledgerd without its database says 91: the network would stand in;
          // this client asks the next ledgerd again, as an acquirer with two links would.
          if (code == "00") ++acknowledged_;
          if (code != "91" || Clock::now() + std::chrono::seconds(1) >= deadline) break;
        }
        ++turn;
      }
      iso_code_.push_back(code);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::map<std::string, std::string> auth_;
  mutable std::mutex mutex_;
  std::vector<Target> targets_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> acknowledged_{0};
  std::thread rest_;
  std::thread iso_;
  std::vector<int> rest_status_;
  int rest_resent_ = 0;
  std::vector<std::string> iso_code_;
  int iso_repeated_ = 0;
  int probes_sent_ = 0;
  std::vector<int> probes_approved_;
  mutable std::vector<std::string> accounts_{settlement, customer};
};

}  // namespace ledger::testing
