// Names the calling thread (at most 15 characters shown), so that `top -H`, `perf` and
// /proc/<pid>/task/*/comm tell ledgerd's threads apart: ledgerd-io, -engine, -journal, ...
#pragma once

#include <pthread.h>

namespace ledger {

inline void name_this_thread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace ledger
