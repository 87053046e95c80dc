// API keys as the REST API manages them (POST/GET /v1/keys, POST /v1/keys/{id}/revoke). Only
// a key's SHA-256 is ever stored; the key itself is shown once, at creation. Each change is
// written together with its audit entry, in one transaction. The journal component implements
// this (journal/read_pool); the HTTP layer depends on the interface only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace ledger {

struct ApiKeyRecord {
  std::string id;
  std::string name;
  std::string scope;       // admin, backoffice or read
  std::string prefix;      // "ldg_" and 8 hex digits: recognises a key without revealing it
  std::string created_at;  // RFC 3339
  std::string expires_at;  // "" when it never expires
  std::string revoked_at;  // "" while valid
};

struct NewApiKey {
  std::string name;
  std::string scope;
  std::uint32_t expires_in_days = 0;  // 0: never
  std::string key_hash;               // hex SHA-256 of the key
  std::string prefix;
  std::string actor;       // who creates it, for the audit entry ("key:<id>")
  std::string actor_name;  // that key's name
};

// Each call returns at once; `done` runs later on another thread. false: too busy (503).
class KeyStore {
 public:
  virtual bool create_key(const NewApiKey& key, std::function<void(Status, ApiKeyRecord)> done) = 0;
  virtual bool list_keys(std::function<void(Status, std::vector<ApiKeyRecord>)> done) = 0;
  // nullopt in done: no such key. Revoking a revoked key keeps its first revocation time.
  virtual bool revoke_key(const std::string& id, const std::string& actor,
                          const std::string& actor_name,
                          std::function<void(Status, std::optional<ApiKeyRecord>)> done) = 0;

 protected:
  ~KeyStore() = default;
};

}  // namespace ledger
