// API keys in PostgreSQL (migrations/0003_api_keys.sql): store a new key's hash, list, revoke,
// each change with its audit entry in the same statement (one transaction). Used by
// `ledgerd keys create` and by the REST routes (through ReadPool as a KeyStore).
#pragma once

#include <optional>
#include <vector>

#include "journal/pg.h"
#include "ledger/key_store.h"

namespace ledger {

Status store_api_key(PGconn* conn, const NewApiKey& key, ApiKeyRecord* out);
Status list_api_keys(PGconn* conn, std::vector<ApiKeyRecord>* out);
// *out: nullopt if there is no such key.
Status revoke_api_key(PGconn* conn, const std::string& id, const std::string& actor,
                      const std::string& actor_name, std::optional<ApiKeyRecord>* out);

}  // namespace ledger
