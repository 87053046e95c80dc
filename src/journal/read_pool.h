// ReadPool: LedgerReader on PostgreSQL, and the KeyStore of the REST API (API keys are written
// here directly: they are not ledger state). A few threads, each with its own connection, take
// jobs from a bounded queue (full: the caller answers 503). Statements carry a timeout
// (limits::db_read_statement_timeout_ms) so a slow one cannot hold a thread forever.
// Thread: calls from any thread; `done` callbacks run on the pool's threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "journal/pg.h"
#include "ledger/direct_debits.h"
#include "ledger/key_store.h"
#include "ledger/reader.h"
#include "ledger/spikes.h"
#include "ledger/webhooks.h"

namespace ledger {

class ReadPool final : public LedgerReader,
                       public KeyStore,
                       public WebhookStore,
                       public SpikeRuleStore,
                       public DirectDebitStore {
 public:
  ReadPool(std::string url, std::size_t threads, std::size_t queue_max);
  ~ReadPool();
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  bool history(const HistoryQuery& query, std::function<void(Status, HistoryPage)> done) override;
  bool statement(const StatementQuery& query, std::function<void(Status, Statement)> done) override;
  bool accounts(const AccountListQuery& query,
                std::function<void(Status, AccountList)> done) override;
  bool audit(const AuditQuery& query, std::function<void(Status, AuditPage)> done) override;
  bool events(const EventQuery& query, std::function<void(Status, EventPage)> done) override;
  bool direct_debits(const DirectDebitRequest& request,
                     std::function<void(Status, DirectDebitReply)> done) override;
  bool monitors(const MonitorListQuery& query,
                std::function<void(Status, std::vector<BalanceMonitor>)> done) override;
  bool webhooks(const WebhookRequest& request,
                std::function<void(Status, WebhookReply)> done) override;
  bool spike_rules(const SpikeRuleRequest& request,
                   std::function<void(Status, SpikeRuleReply)> done) override;
  bool create_key(const NewApiKey& key, std::function<void(Status, ApiKeyRecord)> done) override;
  bool list_keys(std::function<void(Status, std::vector<ApiKeyRecord>)> done) override;
  bool revoke_key(const std::string& id, const std::string& actor, const std::string& actor_name,
                  std::function<void(Status, std::optional<ApiKeyRecord>)> done) override;

 private:
  using Job = std::function<void(PGconn*)>;
  bool enqueue(Job job);
  void run();

  std::string url_;
  std::size_t queue_max_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ledger
