// FixedVector: a vector whose storage is allocated *and touched* once at start-up, so the hot
// path never allocates and never takes a first-touch page fault (measured: with
// std::vector::reserve, first-touch faults cost about a third of the apply time). Large
// arrays also ask for transparent huge pages to cut TLB misses on random access; that is
// advice the kernel may ignore (our 2-core development VM grants none, so the gain is not
// measured here). Growing past capacity is a programmer error: the engine checks capacity
// before every insert.
// Thread: owned by the engine thread.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "ledger/assert.h"

namespace ledger::engine {

inline constexpr std::size_t huge_page_bytes = 2 * 1024 * 1024;

inline constexpr std::size_t cache_line_alignment_bytes = 64;

// Zeroed storage for `bytes`. Arrays of a huge page or more are 2 MiB aligned and backed by
// huge pages where the kernel allows (MADV_HUGEPAGE is advice: without it the memory is simply
// in 4 KiB pages); smaller ones are cache-line aligned and not rounded up (an engine with
// small capacities, as the tests and the simulation build by the thousand, stays small).
inline void* allocate_touched(std::size_t bytes) {
  const bool huge = bytes >= huge_page_bytes;
  const std::size_t alignment = huge ? huge_page_bytes : cache_line_alignment_bytes;
  const std::size_t rounded = std::max<std::size_t>(
      alignment, (bytes + alignment - 1) / alignment * alignment);  // aligned_alloc needs it
  void* memory = std::aligned_alloc(alignment, rounded);
  if (memory == nullptr) throw std::bad_alloc();
  if (huge) (void)madvise(memory, rounded, MADV_HUGEPAGE);
  std::memset(memory, 0, rounded);  // commit every page now, not on the hot path
  return memory;
}

struct FreeDeleter {
  void operator()(void* memory) const { std::free(memory); }
};

template <typename T>
class FixedVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  explicit FixedVector(std::size_t capacity)
      : memory_(allocate_touched(capacity * sizeof(T))), capacity_(capacity) {
    data_ = static_cast<T*>(memory_.get());
    for (std::size_t i = 0; i < capacity; ++i) new (&data_[i]) T();
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  T* storage_end() { return data_ + capacity_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& front() { return data_[0]; }
  T& back() { return data_[size_ - 1]; }

  void push_back(const T& value) {
    LEDGER_ASSERT(size_ < capacity_);
    data_[size_++] = value;
  }
  void pop_back() {
    LEDGER_ASSERT(size_ > 0);
    --size_;
  }
  // Shrinks only (rollback of a linked chain).
  void truncate(std::size_t size) {
    LEDGER_ASSERT(size <= size_);
    size_ = size;
  }

 private:
  std::unique_ptr<void, FreeDeleter> memory_;
  T* data_ = nullptr;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

}  // namespace ledger::engine
