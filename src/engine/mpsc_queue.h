// A bounded lock-free queue (Dmitry Vyukov's array queue): many producers, one consumer.
// try_push never waits: a full queue is an immediate `false`, which the network layer turns
// into "busy" (ISO 8583 91, HTTP 503). The consumer drains in batches.
// Thread: any thread may push; exactly one thread pops.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

#include "ledger/assert.h"

namespace ledger::engine {

inline constexpr std::size_t cache_line_bytes = 64;

template <typename T>
class MpscQueue {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  // REQUIRES: capacity is a power of two >= 2.
  explicit MpscQueue(std::size_t capacity)
      : mask_(capacity - 1), cells_(std::make_unique<Cell[]>(capacity)) {
    LEDGER_ASSERT(capacity >= 2 && (capacity & (capacity - 1)) == 0);
    for (std::size_t i = 0; i < capacity; ++i) {
      cells_[i].sequence.store(i, std::memory_order_relaxed);
    }
  }
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  std::size_t capacity() const { return mask_ + 1; }

  [[nodiscard]] bool try_push(const T& value) {
    std::size_t position = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[position & mask_];
      const std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
      const auto difference =
          static_cast<std::intptr_t>(sequence) - static_cast<std::intptr_t>(position);
      if (difference == 0) {
        if (tail_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          cell.value = value;
          cell.sequence.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (difference < 0) {
        return false;  // full
      } else {
        position = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // Pushes `count` values into consecutive positions, all or none, so that the consumer sees
  // them together and in order (a linked chain must reach the engine unbroken). Checking the
  // last cell suffices: the consumer frees cells in order, so if the last is free, all are.
  [[nodiscard]] bool try_push_n(const T* values, std::size_t count) {
    if (count == 0) return true;
    if (count > capacity()) return false;
    std::size_t position = tail_.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t last = position + count - 1;
      const std::size_t sequence = cells_[last & mask_].sequence.load(std::memory_order_acquire);
      const auto difference =
          static_cast<std::intptr_t>(sequence) - static_cast<std::intptr_t>(last);
      if (difference == 0) {
        if (tail_.compare_exchange_weak(position, position + count, std::memory_order_relaxed)) {
          for (std::size_t i = 0; i < count; ++i) {
            Cell& cell = cells_[(position + i) & mask_];
            cell.value = values[i];
            cell.sequence.store(position + i + 1, std::memory_order_release);
          }
          return true;
        }
      } else if (difference < 0) {
        return false;  // not enough room
      } else {
        position = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  // Consumer only.
  [[nodiscard]] bool try_pop(T* out) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    Cell& cell = cells_[head & mask_];
    const std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
    if (sequence != head + 1) return false;  // empty (or a push not yet published)
    *out = cell.value;
    cell.sequence.store(head + mask_ + 1, std::memory_order_release);
    head_.store(head + 1, std::memory_order_relaxed);
    return true;
  }

  // Consumer only: true if no published element is waiting.
  bool empty() const {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    return cells_[head & mask_].sequence.load(std::memory_order_acquire) != head + 1;
  }

  // Approximate, any thread (for metrics).
  std::size_t size_approx() const {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    const std::size_t head = head_.load(std::memory_order_relaxed);
    return tail > head ? tail - head : 0;
  }

 private:
  struct alignas(cache_line_bytes) Cell {
    std::atomic<std::size_t> sequence{0};
    T value{};
  };
  const std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  alignas(cache_line_bytes) std::atomic<std::size_t> tail_{0};
  alignas(cache_line_bytes) std::atomic<std::size_t> head_{0};  // written by the consumer only
};

}  // namespace ledger::engine
