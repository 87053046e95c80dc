// API key authentication and scopes. `Authorization: Bearer <key>`; the key's SHA-256 is
// looked up in a snapshot of the api_keys table that the app refreshes in the background,
// so a request never waits for the database to be authenticated.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ledger::http {

enum class Scope : std::uint8_t { read = 1, backoffice = 2, admin = 3 };  // each implies the lower

std::optional<Scope> parse_scope(std::string_view text);
std::string_view scope_name(Scope scope);

struct ApiKey {
  std::string id;
  std::string name;
  std::string prefix;
  Scope scope = Scope::read;
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

// hex SHA-256 of a presented key -> key. Immutable once published.
using KeySnapshot = std::unordered_map<std::string, ApiKey>;

class KeyRing {
 public:
  void publish(std::shared_ptr<const KeySnapshot> snapshot) {
    snapshot_.store(std::move(snapshot));
  }
  std::shared_ptr<const KeySnapshot> current() const { return snapshot_.load(); }

 private:
  std::atomic<std::shared_ptr<const KeySnapshot>> snapshot_{std::make_shared<const KeySnapshot>()};
};

std::string sha256_hex(std::string_view bytes);
// A new random key: "ldg_" followed by 64 hex digits (256 bits from the OS).
std::string generate_key();
std::string key_prefix(std::string_view key);

enum class AuthResult : std::uint8_t { ok, missing, invalid, expired, insufficient_scope };

// Checks an Authorization header value against the ring for a route needing `needed`.
// On ok (and insufficient_scope) *key_out receives a copy of the key's record.
AuthResult authenticate(std::string_view authorization, const KeyRing& ring, Scope needed,
                        ApiKey* key_out);

}  // namespace ledger::http
