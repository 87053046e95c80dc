#include "ledger/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ledger/assert.h"

namespace ledger::metrics {

Histogram Histogram::latency() {
  return Histogram({25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000,
                    10'000'000, 25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000,
                    1'000'000'000, 2'000'000'000, 5'000'000'000},
                   1e-9);
}

Histogram Histogram::sizes() {
  std::vector<std::uint64_t> bounds;
  for (std::uint64_t b = 1; b <= 32'768; b *= 2) bounds.push_back(b);
  return Histogram(std::move(bounds), 1.0);
}

Histogram::Histogram(std::vector<std::uint64_t> bounds, double render_scale)
    : bounds_(std::move(bounds)), scale_(render_scale) {
  LEDGER_ASSERT(bounds_.size() + 1 <= buckets_max);
  LEDGER_ASSERT(std::is_sorted(bounds_.begin(), bounds_.end()));
}

Histogram::Histogram(const Histogram& other) : bounds_(other.bounds_), scale_(other.scale_) {
  for (std::size_t i = 0; i < buckets_max; ++i) counts_[i] = other.counts_[i].load();
  count_ = other.count_.load();
  sum_ = other.sum_.load();
}

std::size_t Histogram::bucket_of(std::uint64_t value) const {
  return static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                  bounds_.begin());
}

void Histogram::observe(std::uint64_t value) {
  counts_[bucket_of(value)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

void Histogram::merge(const std::uint64_t* bucket_counts, std::uint64_t count, std::uint64_t sum) {
  for (std::size_t i = 0; i < bucket_count(); ++i) {
    if (bucket_counts[i] != 0) counts_[i].fetch_add(bucket_counts[i], std::memory_order_relaxed);
  }
  count_.fetch_add(count, std::memory_order_relaxed);
  sum_.fetch_add(sum, std::memory_order_relaxed);
}

void LocalHistogram::flush() {
  if (count_ == 0) return;
  target_.merge(counts_.data(), count_, sum_);
  counts_.fill(0);
  count_ = 0;
  sum_ = 0;
}

std::string escape_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

std::string render_labels(const Registry::Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name + "=\"" + escape_label(value) + "\"";
  }
  return out;
}

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char text[64];
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else {
    std::snprintf(text, sizeof text, "%.9g", value);
  }
  return text;
}

std::string braces(const std::string& labels) { return labels.empty() ? "" : "{" + labels + "}"; }

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

}  // namespace

CounterFamily::CounterFamily(std::vector<std::string> label_names, std::size_t series_max)
    : names_(std::move(label_names)), series_max_(series_max) {}

Counter& CounterFamily::with(const std::vector<std::string>& label_values) {
  LEDGER_ASSERT(label_values.size() == names_.size());
  std::string key;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (i > 0) key += ',';
    key += names_[i] + "=\"" + escape_label(label_values[i]) + "\"";
  }
  {
    std::shared_lock lock(mutex_);
    if (auto it = series_.find(key); it != series_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  if (series_.size() >= series_max_ && series_.find(key) == series_.end()) {
    key.clear();
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (i > 0) key += ',';
      key += names_[i] + "=\"other\"";
    }
  }
  auto& slot = series_[key];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

std::vector<std::pair<std::string, std::uint64_t>> CounterFamily::snapshot() const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, std::uint64_t>> out;
  out.reserve(series_.size());
  for (const auto& [labels, counter] : series_) out.emplace_back(labels, counter->value());
  return out;
}

Registry::Family& Registry::family(const std::string& name, const std::string& help,
                                   const std::string& type) {
  for (auto& [existing, family] : families_) {
    if (existing == name) {
      LEDGER_ASSERT(family.type == type);
      return family;
    }
  }
  families_.push_back({name, Family{help, type, {}}});
  return families_.back().second;
}

void Registry::add_counter(const std::string& name, const std::string& help, const Labels& labels,
                           const Counter& counter) {
  add_counter(name, help, labels, [&counter] { return static_cast<double>(counter.value()); });
}

void Registry::add_counter(const std::string& name, const std::string& help, const Labels& labels,
                           std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family(name, help, "counter").series.push_back({render_labels(labels), std::move(read)});
}

void Registry::add_counter_family(const std::string& name, const std::string& help,
                                  const CounterFamily& counters) {
  std::lock_guard lock(mutex_);
  Series series;
  series.family = &counters;
  family(name, help, "counter").series.push_back(std::move(series));
}

void Registry::add_gauge(const std::string& name, const std::string& help, const Labels& labels,
                         std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").series.push_back({render_labels(labels), std::move(read)});
}

void Registry::add_histogram(const std::string& name, const std::string& help, const Labels& labels,
                             const Histogram& histogram) {
  std::lock_guard lock(mutex_);
  Series series;
  series.labels = render_labels(labels);
  series.histogram = &histogram;
  family(name, help, "histogram").series.push_back(std::move(series));
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(16'384);
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const Series& series : family.series) {
      if (series.family != nullptr) {
        for (const auto& [labels, value] : series.family->snapshot()) {
          out += name + braces(labels) + " " + number(static_cast<double>(value)) + "\n";
        }
      } else if (series.histogram != nullptr) {
        const Histogram& h = *series.histogram;
        // Read the buckets first and derive the count from them, so that +Inf == _count even
        // while other threads observe.
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.bucket_count(); ++i) {
          cumulative += h.count_in(i);
          const std::string le = i + 1 == h.bucket_count()
                                     ? "+Inf"
                                     : number(static_cast<double>(h.bound(i)) * h.render_scale());
          out += name + "_bucket" + braces(join(series.labels, "le=\"" + le + "\"")) + " " +
                 number(static_cast<double>(cumulative)) + "\n";
        }
        out += name + "_sum" + braces(series.labels) + " " +
               number(static_cast<double>(h.sum()) * h.render_scale()) + "\n";
        out += name + "_count" + braces(series.labels) + " " +
               number(static_cast<double>(cumulative)) + "\n";
      } else {
        out += name + braces(series.labels) + " " + number(series.read()) + "\n";
      }
    }
  }
  return out;
}

}  // namespace ledger::metrics
