// libFuzzer target: REST request bodies to engine commands (src/http/json_mapping). Arbitrary
// bytes go through the same parsing the API does for transfers, batches and card controls;
// whatever is accepted must satisfy the mapping's promises (amounts positive and within int64,
// a currency set, ids that print and parse back), and rendering it again must not fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "json_mapping.h"
#include "ledger/ids.h"

using namespace ledger;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  http::BadRequest error;
  const auto object = http::parse_object(body, &error);
  if (!object) {
    if (error.code.empty()) std::abort();  // a rejection always names its reason
    return 0;
  }
  if (auto t = http::parse_transfer(*object, "", &error)) {
    if (t->amount < 0) std::abort();
    if (!t->id.is_zero() && parse_uuid(to_string(t->id)) != t->id.value) std::abort();
    (void)http::transfer_json(*t).dump();
  } else if (error.code.empty()) {
    std::abort();
  }
  if (object->contains("transfers") && (*object)["transfers"].is_array()) {
    std::size_t i = 0;
    for (const auto& item : (*object)["transfers"]) {
      if (i++ > 64) break;
      http::BadRequest item_error;
      (void)http::parse_transfer(item, "transfers[0].", &item_error);
    }
  }
  CardControls controls;
  http::BadRequest controls_error;
  if (http::parse_controls(*object, "controls.", &controls, &controls_error)) {
    if (controls.per_authorization_limit < 0) std::abort();
  }
  http::FieldReader reader(*object);
  (void)reader.uuid("id", false);
  (void)reader.amount("amount", false, false);
  (void)reader.currency("currency", false);
  (void)reader.text("name", false, 200);
  reader.reject_unknown_fields();
  if (const auto* at = object->contains("at") ? &(*object)["at"] : nullptr; at && at->is_string())
    (void)http::parse_time(at->get<std::string>());
  return 0;
}
