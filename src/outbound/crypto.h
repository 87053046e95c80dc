// Credentials of outbound deliveries: sealing at rest (AES-256-GCM under LEDGER_WEBHOOK_KEY)
// and Standard Webhooks 1.0 signatures (HMAC-SHA256 of "id.timestamp.body" under the
// subscription's whsec_ secret, "v1," + base64). Pure functions over OpenSSL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ledger::outbound {

// 32 key bytes from 64 hex digits; nullopt otherwise.
std::optional<std::string> parse_seal_key(std::string_view hex);

// nonce (12) || ciphertext || tag (16). Fresh random nonce per call.
std::string seal(std::string_view key, std::string_view plaintext);
// nullopt when the bytes were not sealed under this key (or were altered).
std::optional<std::string> unseal(std::string_view key, std::string_view sealed);

// "whsec_" + base64 of 24 random bytes.
std::string new_secret();

std::string base64(std::string_view bytes);
std::optional<std::string> unbase64(std::string_view text);

// "v1,<base64 HMAC-SHA256>" for one secret ("whsec_<base64>"); nullopt for a malformed secret.
std::optional<std::string> sign(std::string_view secret, std::string_view id,
                                std::int64_t timestamp, std::string_view body);
// The webhook-signature header: every secret's signature, separated by spaces.
std::string signature_header(const std::vector<std::string>& secrets, std::string_view id,
                             std::int64_t timestamp, std::string_view body);

// The secrets that sign a subscription's messages, from their sealed forms: the current one
// and, while a rotation's grace lasts, the previous one (empty when there is none). A secret
// that does not unseal under `seal_key` is left out.
std::vector<std::string> signing_secrets(std::string_view seal_key, std::string_view current_sealed,
                                         std::string_view previous_sealed);

// The headers of one signed message (Standard Webhooks 1.0): webhook-id, webhook-timestamp
// (Unix seconds) and webhook-signature. The dispatcher and the subscription test send these.
using Headers = std::vector<std::pair<std::string, std::string>>;
Headers signed_headers(const std::vector<std::string>& secrets, std::string_view id,
                       std::int64_t timestamp, std::string_view body);

}  // namespace ledger::outbound
