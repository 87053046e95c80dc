#include "ledger/assert.h"

#include <cstdio>
#include <cstdlib>

namespace ledger {

void assert_fail(const char* expression, const char* file, int line) noexcept {
  std::fprintf(stderr, "level=critical msg=\"assertion failed\" expr=\"%s\" at=%s:%d\n", expression,
               file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ledger
