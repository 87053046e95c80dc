// The ingress queue: full is an immediate `false`, order per producer is kept, and a stress
// run with several producers and one sleeping/waking consumer loses and duplicates nothing
// (run under ThreadSanitizer in CI, label "tsan").
#include "engine/mpsc_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ledger::engine {
namespace {

struct Item {
  std::uint32_t producer;
  std::uint32_t sequence;
};

TEST(MpscQueueTest, FullQueueRefusesAtOnceAndEmptyQueuePopsNothing) {
  MpscQueue<Item> queue(4);
  Item item{};
  EXPECT_FALSE(queue.try_pop(&item));
  EXPECT_TRUE(queue.empty());
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(queue.try_push({0, i}));
  EXPECT_FALSE(queue.try_push({0, 4}));
  EXPECT_EQ(queue.size_approx(), 4u);
  ASSERT_TRUE(queue.try_pop(&item));
  EXPECT_EQ(item.sequence, 0u);
  EXPECT_TRUE(queue.try_push({0, 4}));  // room again after a pop
  for (std::uint32_t expected = 1; expected <= 4; ++expected) {
    ASSERT_TRUE(queue.try_pop(&item));
    EXPECT_EQ(item.sequence, expected);
  }
  EXPECT_TRUE(queue.empty());
}

TEST(MpscQueueTest, ManyProducersOneConsumerLoseNothing) {
  constexpr std::uint32_t producers = 4;
  constexpr std::uint32_t per_producer = 200'000;
  MpscQueue<Item> queue(1024);
  std::atomic<std::uint64_t> refused{0};
  std::vector<std::thread> threads;
  for (std::uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint32_t i = 0; i < per_producer;) {
        if (queue.try_push({p, i})) {
          ++i;
        } else {
          refused.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();  // a real producer would answer "busy" instead
        }
      }
    });
  }
  std::vector<std::uint32_t> next(producers, 0);
  std::uint64_t received = 0;
  while (received < std::uint64_t{producers} * per_producer) {
    Item item{};
    if (queue.try_pop(&item)) {
      ASSERT_LT(item.producer, producers);
      ASSERT_EQ(item.sequence, next[item.producer]) << "producer " << item.producer;
      ++next[item.producer];
      ++received;
      continue;
    }
    std::this_thread::yield();  // the pipeline sleeps on a condition variable instead
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(queue.empty());
  for (std::uint32_t p = 0; p < producers; ++p) EXPECT_EQ(next[p], per_producer);
}

TEST(MpscQueueTest, PushNIsAllOrNothingAndContiguous) {
  MpscQueue<Item> queue(8);
  const Item three[] = {{1, 0}, {1, 1}, {1, 2}};
  EXPECT_TRUE(queue.try_push({0, 0}));
  EXPECT_TRUE(queue.try_push_n(three, 3));
  EXPECT_TRUE(queue.try_push_n(three, 3));
  EXPECT_FALSE(queue.try_push_n(three, 3));  // 7 used, 1 free: refused whole
  EXPECT_TRUE(queue.try_push({0, 1}));
  Item item{};
  ASSERT_TRUE(queue.try_pop(&item));
  EXPECT_EQ(item.producer, 0u);
  for (int group = 0; group < 2; ++group) {
    for (std::uint32_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(queue.try_pop(&item));
      EXPECT_EQ(item.producer, 1u);
      EXPECT_EQ(item.sequence, i);
    }
  }
  EXPECT_FALSE(queue.try_push_n(three, 9));  // more than the capacity
}

TEST(MpscQueueTest, GroupsFromManyProducersStayContiguous) {
  constexpr std::uint32_t producers = 3;
  constexpr std::uint32_t groups = 20'000;
  constexpr std::uint32_t group_size = 5;
  MpscQueue<Item> queue(256);
  std::vector<std::thread> threads;
  for (std::uint32_t p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      Item group[group_size];
      for (std::uint32_t g = 0; g < groups;) {
        for (std::uint32_t i = 0; i < group_size; ++i) group[i] = {p, g * group_size + i};
        if (queue.try_push_n(group, group_size)) {
          ++g;
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  std::uint64_t received = 0;
  std::vector<std::uint32_t> next(producers, 0);
  while (received < std::uint64_t{producers} * groups * group_size) {
    Item first{};
    if (!queue.try_pop(&first)) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(first.sequence % group_size, 0u);
    ASSERT_EQ(first.sequence, next[first.producer]);
    for (std::uint32_t i = 1; i < group_size; ++i) {  // the rest of the group follows at once
      Item item{};
      while (!queue.try_pop(&item)) std::this_thread::yield();
      ASSERT_EQ(item.producer, first.producer);
      ASSERT_EQ(item.sequence, first.sequence + i);
    }
    next[first.producer] += group_size;
    received += group_size;
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace
}  // namespace ledger::engine
