// MetricCounter and MetricGauge: one atomic value each, for the registry
// (api/metrics_registry.h).
//
// Thread-safety: every method may be called from any thread. Relaxed
// ordering: the values are for monitoring, never for logic.
#pragma once

#include <atomic>
#include <cstdint>

namespace jcm {

// Only goes up (a restart resets it; Prometheus' rate() handles that).
class MetricCounter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class MetricGauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) {
    double old = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
    }
  }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

}  // namespace jcm
