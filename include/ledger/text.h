// Text from outside (headers, query values, key names) as other components need it: a check
// for clean UTF-8, and an ASCII-only escape for storing or logging bytes that are not.
#pragma once

#include <string>
#include <string_view>

namespace ledger {

// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF) without control characters (C0, DEL, C1).
bool is_clean_text(std::string_view text);

// `text` in printable ASCII that says exactly which bytes it held: printable ASCII stays,
// a backslash becomes "\\", every other byte "\xNN" (lower-case hex). Never fails; the
// result is valid UTF-8 for any input and holds no NUL.
std::string escape_bytes(std::string_view text);

}  // namespace ledger
