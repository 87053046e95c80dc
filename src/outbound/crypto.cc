#include "outbound/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>

namespace ledger::outbound {
namespace {

constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::optional<std::string> parse_seal_key(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::string key;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    for (std::size_t j = i; j < i + 2; ++j) {
      const char c = hex[j];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) return std::nullopt;
      value = value * 16 + d;
    }
    key.push_back(static_cast<char>(value));
  }
  return key;
}

std::string seal(std::string_view key, std::string_view plaintext) {
  std::string out(nonce_bytes + plaintext.size() + tag_bytes, '\0');
  auto* data = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(data, static_cast<int>(nonce_bytes)) != 1) return {};
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), data) != 1 ||
      EVP_EncryptUpdate(ctx.get(), data + nonce_bytes, &length, bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), data + nonce_bytes + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                          data + nonce_bytes + plaintext.size()) != 1) {
    return {};
  }
  return out;
}

std::optional<std::string> unseal(std::string_view key, std::string_view sealed) {
  if (key.size() != 32 || sealed.size() < nonce_bytes + tag_bytes) return std::nullopt;
  const std::size_t n = sealed.size() - nonce_bytes - tag_bytes;
  std::string out(n, '\0');
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  std::string tag(sealed.substr(nonce_bytes + n));
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(sealed)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length,
                        bytes(sealed) + nonce_bytes, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + length,
                          &length) != 1) {
    return std::nullopt;
  }
  return out;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(data),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(text),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  if (text.back() == '=') --size;  // EVP_DecodeBlock counts the padding as zero bytes
  if (text.size() >= 2 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string new_secret() {
  unsigned char random[24];
  if (RAND_bytes(random, sizeof random) != 1) return {};
  return "whsec_" + base64(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

std::optional<std::string> sign(std::string_view secret, std::string_view id,
                                std::int64_t timestamp, std::string_view body) {
  if (secret.rfind("whsec_", 0) != 0) return std::nullopt;
  const auto key = unbase64(secret.substr(6));
  if (!key || key->empty()) return std::nullopt;
  std::string message;
  message.reserve(id.size() + body.size() + 24);
  message.append(id).append(1, '.').append(std::to_string(timestamp)).append(1, '.').append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()), bytes(message), message.size(),
       mac, &length);
  return "v1," + base64(std::string_view(reinterpret_cast<const char*>(mac), length));
}

std::string signature_header(const std::vector<std::string>& secrets, std::string_view id,
                             std::int64_t timestamp, std::string_view body) {
  std::string header;
  for (const std::string& secret : secrets) {
    const auto signature = sign(secret, id, timestamp, body);
    if (!signature) continue;
    if (!header.empty()) header.push_back(' ');
    header += *signature;
  }
  return header;
}

std::vector<std::string> signing_secrets(std::string_view seal_key, std::string_view current_sealed,
                                         std::string_view previous_sealed) {
  std::vector<std::string> secrets;
  if (auto current = unseal(seal_key, current_sealed)) secrets.push_back(std::move(*current));
  if (!previous_sealed.empty()) {
    if (auto previous = unseal(seal_key, previous_sealed)) secrets.push_back(std::move(*previous));
  }
  return secrets;
}

Headers signed_headers(const std::vector<std::string>& secrets, std::string_view id,
                       std::int64_t timestamp, std::string_view body) {
  return Headers{{"webhook-id", std::string(id)},
                 {"webhook-timestamp", std::to_string(timestamp)},
                 {"webhook-signature", signature_header(secrets, id, timestamp, body)}};
}

}  // namespace ledger::outbound
