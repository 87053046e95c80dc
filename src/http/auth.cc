#include "http/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace ledger::http {
namespace {
constexpr char hex_digits[] = "0123456789abcdef";
std::string to_hex(const unsigned char* bytes, std::size_t n) {
  std::string text;
  text.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    text += hex_digits[bytes[i] >> 4];
    text += hex_digits[bytes[i] & 0xF];
  }
  return text;
}
}  // namespace

std::optional<Scope> parse_scope(std::string_view text) {
  if (text == "read") return Scope::read;
  if (text == "backoffice") return Scope::backoffice;
  if (text == "admin") return Scope::admin;
  return std::nullopt;
}

std::string_view scope_name(Scope scope) {
  switch (scope) {
    case Scope::read:
      return "read";
    case Scope::backoffice:
      return "backoffice";
    case Scope::admin:
      return "admin";
  }
  return "read";
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return to_hex(digest, length);
}

std::string generate_key() {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("no randomness for a key");
  return "ldg_" + to_hex(random, sizeof random);
}

std::string key_prefix(std::string_view key) { return std::string(key.substr(0, 12)); }

AuthResult authenticate(std::string_view authorization, const KeyRing& ring, Scope needed,
                        ApiKey* key_out) {
  // RFC 9110: the scheme is case-insensitive, then one or more spaces, then the token.
  constexpr std::string_view bearer = "bearer";
  if (authorization.empty()) return AuthResult::missing;
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  if (authorization.size() <= bearer.size() + 1 || authorization[bearer.size()] != ' ' ||
      !std::equal(bearer.begin(), bearer.end(), authorization.begin(),
                  [&](char a, char b) { return a == lower(b); })) {
    return AuthResult::invalid;
  }
  std::string_view key = authorization.substr(bearer.size());
  key.remove_prefix(std::min(key.find_first_not_of(' '), key.size()));
  key.remove_suffix(key.size() - std::min(key.size(), key.find_last_not_of(' ') + 1));
  if (key.size() > 128) return AuthResult::invalid;
  const auto snapshot = ring.current();
  const auto it = snapshot->find(sha256_hex(key));
  if (it == snapshot->end()) return AuthResult::invalid;
  if (it->second.expires_at && *it->second.expires_at <= std::chrono::system_clock::now()) {
    return AuthResult::expired;
  }
  if (key_out != nullptr) *key_out = it->second;
  return static_cast<int>(it->second.scope) >= static_cast<int>(needed)
             ? AuthResult::ok
             : AuthResult::insufficient_scope;
}

}  // namespace ledger::http
