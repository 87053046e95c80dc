// IdIndex: a preallocated open-addressing hash index from 128-bit ids to 32-bit positions in
// an array owned by the caller. Linear probing, half full at most, deletion by backward
// shift (so no tombstones). 8 bytes per slot; with the load factor that is 16 bytes per id.
// Thread: owned by the engine thread.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/fixed_vector.h"
#include "ledger/assert.h"
#include "ledger/ids.h"

namespace ledger::engine {

class IdIndex {
 public:
  static constexpr std::uint32_t not_found = 0xFFFFFFFFu;

  explicit IdIndex(std::size_t entries_max) {
    std::size_t capacity = 16;
    while (capacity < entries_max * 2) capacity *= 2;
    LEDGER_ASSERT(capacity <= (std::size_t{1} << 32));
    slots_ = FixedVector<Slot>(capacity);
    mask_ = capacity - 1;
    entries_max_ = entries_max;
  }

  std::size_t size() const { return size_; }
  std::size_t entries_max() const { return entries_max_; }
  std::size_t bytes() const { return slots_.capacity() * sizeof(Slot); }

  // `key_of(position)` returns the id stored at a position of the caller's array.
  template <typename KeyOf>
  std::uint32_t find(Uint128 key, KeyOf&& key_of) const {
    const std::uint32_t hash = hash32(key);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.position_plus_one == 0) return not_found;
      if (slot.hash == hash && key_of(slot.position_plus_one - 1) == key) {
        return slot.position_plus_one - 1;
      }
    }
  }

  void clear() {
    for (Slot* slot = slots_.begin(); slot != slots_.storage_end(); ++slot) *slot = Slot{};
    size_ = 0;
  }

  // Snapshots: the slot table as raw bytes, and its restore (nullptr: another table size).
  const void* slots_data() const { return slots_.begin(); }
  std::size_t slots_bytes() const { return slots_.capacity() * sizeof(Slot); }
  void* restore_slots(std::size_t bytes) {
    return bytes == slots_bytes() ? static_cast<void*>(slots_.begin()) : nullptr;
  }
  bool restore_size(std::size_t size) {
    if (size > entries_max_) return false;
    size_ = size;
    return true;
  }

  // Loads the key's home slot (into cache and TLB) ahead of a find or insert.
  std::uint32_t touch(Uint128 key) const { return slots_[hash32(key) & mask_].position_plus_one; }

  // REQUIRES: key is absent and size() < entries_max().
  void insert(Uint128 key, std::uint32_t position) {
    LEDGER_ASSERT(size_ < entries_max_);
    const std::uint32_t hash = hash32(key);
    std::size_t i = hash & mask_;
    while (slots_[i].position_plus_one != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{hash, position + 1};
    ++size_;
  }

  // REQUIRES: key is present.
  template <typename KeyOf>
  void erase(Uint128 key, KeyOf&& key_of) {
    const std::uint32_t hash = hash32(key);
    std::size_t hole = hash & mask_;
    while (!(slots_[hole].hash == hash && key_of(slots_[hole].position_plus_one - 1) == key)) {
      LEDGER_ASSERT(slots_[hole].position_plus_one != 0);
      hole = (hole + 1) & mask_;
    }
    // Backward shift: pull later entries of the probe run into the hole when allowed.
    for (std::size_t next = (hole + 1) & mask_; slots_[next].position_plus_one != 0;
         next = (next + 1) & mask_) {
      const std::size_t home = slots_[next].hash & mask_;
      const bool movable = ((next - home) & mask_) >= ((next - hole) & mask_);
      if (movable) {
        slots_[hole] = slots_[next];
        hole = next;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

 private:
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t position_plus_one = 0;  // 0: empty
  };
  static std::uint32_t hash32(Uint128 key) { return static_cast<std::uint32_t>(hash_u128(key)); }

  FixedVector<Slot> slots_{0};
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t entries_max_ = 0;
};

}  // namespace ledger::engine
