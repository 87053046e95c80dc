// Engine: snapshots of the whole state (engine.h, docs/durability.md "Snapshots"). The arrays
// and the index tables are written as raw memory (they are flat and position-based, and the
// index hash is a fixed function), so restoring is a read into preallocated memory and no
// index is rebuilt. The rest (counters, timers, the per-account maps) is encoded as 64-bit
// words. Pure: no I/O; src/pipeline/snapshot_file.cc writes and reads the bytes.
#include <cstddef>
#include <cstring>

#include "engine/engine.h"
#include "ledger/assert.h"

namespace ledger::engine {
namespace {

// Raised whenever what the regions or the encoded part mean changes.
constexpr std::uint64_t snapshot_format = 1;

enum Region : std::uint32_t {
  accounts = 1,
  transfers,
  account_index,
  transfer_index,
  reference_index,
  cards,
  velocity,
  card_index,
  pan_index,
  expiries,
  monitors,
  monitor_index,
  direct_debits,
};

class Words {
 public:
  explicit Words(std::string* out) : out_(out) {}
  void put(std::uint64_t v) { out_->append(reinterpret_cast<const char*>(&v), sizeof v); }

 private:
  std::string* out_;
};

class WordReader {
 public:
  explicit WordReader(std::string_view in) : in_(in) {}
  bool get(std::uint64_t* v) {
    if (in_.size() < sizeof *v) return false;
    std::memcpy(v, in_.data(), sizeof *v);
    in_.remove_prefix(sizeof *v);
    return true;
  }
  // A count of items of `words` words each, bounded by what is left.
  bool count(std::uint64_t* n, std::uint64_t words) {
    return get(n) && *n <= in_.size() / (words * sizeof(std::uint64_t));
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

void Engine::snapshot(std::vector<SnapshotRegion>* regions, std::string* encoded) const {
  regions->clear();
  encoded->clear();
  const auto add = [regions](std::uint32_t id, const void* data, std::size_t bytes) {
    regions->push_back(SnapshotRegion{id, data, bytes});
  };
  add(accounts, accounts_.begin(), accounts_.size() * sizeof(Account));
  add(transfers, transfers_.begin(), transfers_.size() * sizeof(Transfer));
  add(account_index, account_index_.slots_data(), account_index_.slots_bytes());
  add(transfer_index, transfer_index_.slots_data(), transfer_index_.slots_bytes());
  add(reference_index, reference_index_.slots_data(), reference_index_.slots_bytes());
  add(cards, cards_.begin(), cards_.size() * sizeof(Card));
  add(velocity, velocity_.begin(), cards_.size() * sizeof(Velocity));
  add(card_index, card_index_.slots_data(), card_index_.slots_bytes());
  add(pan_index, pan_index_.slots_data(), pan_index_.slots_bytes());
  add(expiries, expiries_.begin(), expiries_.size() * sizeof(Expiry));
  add(monitors, monitors_.begin(), monitors_.size() * sizeof(BalanceMonitor));
  add(monitor_index, monitor_index_.slots_data(), monitor_index_.slots_bytes());
  add(direct_debits, direct_debits_.data(), direct_debits_.size() * sizeof(DirectDebit));

  Words w(encoded);
  w.put(snapshot_format);
  w.put(open_pending_total_);
  w.put(now_ns_);
  w.put(last_timestamp_);
  for (const IdIndex* index : {&account_index_, &transfer_index_, &reference_index_, &card_index_,
                               &pan_index_, &monitor_index_}) {
    w.put(index->size());
  }
  const auto put_map =
      [&w](const std::unordered_map<std::uint32_t, std::vector<std::uint32_t>>& m) {
        w.put(m.size());
        for (const auto& [key, values] : m) {
          w.put(key);
          w.put(values.size());
          for (const std::uint32_t v : values) w.put(v);
        }
      };
  put_map(account_monitors_);
  put_map(waiting_debits_);
  w.put(debit_timers_.size());
  for (const auto& [at, position] : debit_timers_) {
    w.put(at);
    w.put(position);
  }
}

void* Engine::restore_region(std::uint32_t id, std::size_t bytes) {
  const auto array = [bytes](auto& vector, std::size_t element) -> void* {
    if (bytes % element != 0) return nullptr;
    return vector.restore(bytes / element);
  };
  switch (id) {
    case accounts:
      return array(accounts_, sizeof(Account));
    case transfers:
      return array(transfers_, sizeof(Transfer));
    case account_index:
      return account_index_.restore_slots(bytes);
    case transfer_index:
      return transfer_index_.restore_slots(bytes);
    case reference_index:
      return reference_index_.restore_slots(bytes);
    case cards:
      return array(cards_, sizeof(Card));
    case velocity:  // one per card: the cards region comes first
      return bytes == cards_.size() * sizeof(Velocity) ? velocity_.begin() : nullptr;
    case card_index:
      return card_index_.restore_slots(bytes);
    case pan_index:
      return pan_index_.restore_slots(bytes);
    case expiries:
      return array(expiries_, sizeof(Expiry));
    case monitors:
      return array(monitors_, sizeof(BalanceMonitor));
    case monitor_index:
      return monitor_index_.restore_slots(bytes);
    case direct_debits:
      if (bytes % sizeof(DirectDebit) != 0) return nullptr;
      direct_debits_.resize(bytes / sizeof(DirectDebit));
      return direct_debits_.data();
    default:
      return nullptr;
  }
}

bool Engine::restore_encoded(std::string_view encoded) {
  WordReader r(encoded);
  std::uint64_t format = 0, open = 0, now = 0, last = 0;
  if (!r.get(&format) || format != snapshot_format || !r.get(&open) || !r.get(&now) ||
      !r.get(&last)) {
    return false;
  }
  for (IdIndex* index : {&account_index_, &transfer_index_, &reference_index_, &card_index_,
                         &pan_index_, &monitor_index_}) {
    std::uint64_t size = 0;
    if (!r.get(&size) || !index->restore_size(size)) return false;
  }
  if (account_index_.size() != accounts_.size() || card_index_.size() != cards_.size() ||
      monitor_index_.size() != monitors_.size()) {
    return false;
  }
  const auto get_map = [&r](std::unordered_map<std::uint32_t, std::vector<std::uint32_t>>* m,
                            std::size_t keys_max, std::size_t values_max) {
    m->clear();
    std::uint64_t n = 0;
    if (!r.count(&n, 2)) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t key = 0, count = 0;
      if (!r.get(&key) || key >= keys_max || !r.count(&count, 1)) return false;
      std::vector<std::uint32_t>& values = (*m)[static_cast<std::uint32_t>(key)];
      values.reserve(count);
      for (std::uint64_t j = 0; j < count; ++j) {
        std::uint64_t v = 0;
        if (!r.get(&v) || v >= values_max) return false;
        values.push_back(static_cast<std::uint32_t>(v));
      }
    }
    return true;
  };
  if (!get_map(&account_monitors_, accounts_.size(), monitors_.size()) ||
      !get_map(&waiting_debits_, accounts_.size(), direct_debits_.size())) {
    return false;
  }
  std::uint64_t timers = 0;
  if (!r.count(&timers, 2)) return false;
  debit_timers_.clear();
  for (std::uint64_t i = 0; i < timers; ++i) {
    std::uint64_t at = 0, position = 0;
    if (!r.get(&at) || !r.get(&position) || position >= direct_debits_.size()) return false;
    debit_timers_.emplace(at, static_cast<std::uint32_t>(position));
  }
  if (!r.done() || open > transfers_.size()) return false;
  direct_debit_index_.clear();
  for (std::size_t p = 0; p < direct_debits_.size(); ++p) {
    if (!direct_debit_index_.emplace(direct_debits_[p].id.value, static_cast<std::uint32_t>(p))
             .second) {
      return false;
    }
  }
  open_pending_total_ = open;
  now_ns_ = now;
  last_timestamp_ = last;
  return true;
}

std::uint64_t Engine::snapshot_layout() const {
  std::uint64_t hash = snapshot_format;
  const auto add = [&hash](std::uint64_t value) { hash = mix64(hash ^ value) * 0x100000001b3ULL; };
  for (const std::size_t size :
       {sizeof(Account), sizeof(Transfer), sizeof(Card), sizeof(Velocity), sizeof(Expiry),
        sizeof(BalanceMonitor), sizeof(DirectDebit), alignof(Account), alignof(Transfer),
        offsetof(Account, debits_posted), offsetof(Transfer, timestamp), offsetof(Card, controls),
        offsetof(DirectDebit, timestamp), offsetof(BalanceMonitor, timestamp)}) {
    add(size);
  }
  for (const std::size_t capacity :
       {options_.accounts_max, options_.transfers_max, options_.cards_max, options_.monitors_max}) {
    add(capacity);
  }
  for (const IdIndex* index : {&account_index_, &transfer_index_, &reference_index_, &card_index_,
                               &pan_index_, &monitor_index_}) {
    add(index->slots_bytes());
  }
  return hash;
}

}  // namespace ledger::engine
