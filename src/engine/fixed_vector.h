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
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <type_traits>

#include "ledger/assert.h"

namespace ledger::engine {

inline constexpr std::size_t huge_page_bytes = 2 * 1024 * 1024;

inline constexpr std::size_t cache_line_alignment_bytes = 64;
inline constexpr std::size_t parallel_populate_bytes = std::size_t{64} << 20;

// Zeroed storage for `bytes`. Arrays of a huge page or more are 2 MiB aligned and backed by
// huge pages where the kernel allows (MADV_HUGEPAGE is advice: without it the memory is simply
// in 4 KiB pages); smaller ones are cache-line aligned and not rounded up (an engine with
// small capacities, as the tests and the simulation build by the thousand, stays small).
// Large arrays are mapped directly (fresh anonymous memory is zero) and faulted in by the
// kernel in one pass (MADV_POPULATE_WRITE; a memset where the kernel lacks it): about half the
// start-up time of writing every page twice (a memset, then each element's constructor).
struct StorageDeleter {
  std::size_t bytes = 0;
  bool mapped = false;
  void operator()(void* memory) const {
    if (mapped) {
      (void)munmap(memory, bytes);
    } else {
      std::free(memory);
    }
  }
};
using Storage = std::unique_ptr<void, StorageDeleter>;

inline Storage allocate_touched(std::size_t bytes) {
  if (bytes < huge_page_bytes) {
    const std::size_t rounded =
        std::max(cache_line_alignment_bytes, (bytes + cache_line_alignment_bytes - 1) /
                                                 cache_line_alignment_bytes *
                                                 cache_line_alignment_bytes);  // aligned_alloc
    void* memory = std::aligned_alloc(cache_line_alignment_bytes, rounded);
    if (memory == nullptr) throw std::bad_alloc();
    std::memset(memory, 0, rounded);  // commit every page now, not on the hot path
    return Storage(memory, StorageDeleter{rounded, false});
  }
  const std::size_t rounded = (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
  // One huge page more than needed, so that a 2 MiB aligned start lies inside; the ends go back.
  void* raw = mmap(nullptr, rounded + huge_page_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto raw_at = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t start =
      (raw_at + huge_page_bytes - 1) & ~(std::uintptr_t{huge_page_bytes} - 1);
  const std::size_t head = start - raw_at;
  if (head > 0) (void)munmap(raw, head);
  if (huge_page_bytes - head > 0) {
    (void)munmap(reinterpret_cast<void*>(start + rounded), huge_page_bytes - head);
  }
  void* memory = reinterpret_cast<void*>(start);
  (void)madvise(memory, rounded, MADV_HUGEPAGE);
  // Faulting in is the kernel zeroing pages: two threads do a large array in about half the
  // time (measured: 3 GiB in 0.3 s instead of 0.7-1.6 s on the 2-core VM).
  const auto populate = [](char* at, std::size_t n) {
    if (madvise(at, n, MADV_POPULATE_WRITE) != 0) std::memset(at, 0, n);
  };
  char* const base = static_cast<char*>(memory);
  if (rounded >= parallel_populate_bytes) {
    const std::size_t half = rounded / 2 / huge_page_bytes * huge_page_bytes;
    std::thread helper(populate, base, half);
    populate(base + half, rounded - half);
    helper.join();
  } else {
    populate(base, rounded);
  }
  return Storage(memory, StorageDeleter{rounded, true});
}

// True when T() is all zero bytes: zeroed storage already holds value-initialized elements.
template <typename T>
bool zero_initialized() {
  alignas(T) unsigned char probe[sizeof(T)] = {};
  new (probe) T();
  for (const unsigned char byte : probe) {
    if (byte != 0) return false;
  }
  return true;
}

template <typename T>
class FixedVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  explicit FixedVector(std::size_t capacity)
      : memory_(allocate_touched(capacity * sizeof(T))), capacity_(capacity) {
    data_ = static_cast<T*>(memory_.get());
    if (!zero_initialized<T>()) {
      for (std::size_t i = 0; i < capacity; ++i) new (&data_[i]) T();
    }
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
  // Restoring a snapshot: `size` elements whose bytes the caller writes (nullptr: too many).
  T* restore(std::size_t size) {
    if (size > capacity_) return nullptr;
    size_ = size;
    return data_;
  }
  // Shrinks only (rollback of a linked chain).
  void truncate(std::size_t size) {
    LEDGER_ASSERT(size <= size_);
    size_ = size;
  }

 private:
  Storage memory_;
  T* data_ = nullptr;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

}  // namespace ledger::engine
