// XXH64 (Yann Collet's xxHash, 64-bit variant, as specified in xxhash's doc/xxhash_spec.md):
// the checksum of engine snapshot files. Fast (several GB/s per core), not cryptographic: it
// detects corruption and truncation, not tampering (snapshots live in ledgerd's own directory).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ledger {

std::uint64_t xxh64(const void* data, std::size_t bytes, std::uint64_t seed = 0);

}  // namespace ledger
