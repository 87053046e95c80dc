// Always-on assertions for programmer errors, kept in release builds. A condition must have no
// side effects: the check is about the program, never part of it.
#pragma once

namespace ledger {
// Writes "assertion failed" with the location to stderr, flushes, aborts. Never returns.
[[noreturn]] void assert_fail(const char* expression, const char* file, int line) noexcept;
}  // namespace ledger

#define LEDGER_ASSERT(condition)                             \
  do {                                                       \
    if (!(condition)) [[unlikely]] {                         \
      ::ledger::assert_fail(#condition, __FILE__, __LINE__); \
    }                                                        \
  } while (false)
