// MetricHistogram: a Prometheus histogram with fixed bucket bounds.
// Observe() is lock-free: one relaxed atomic add on the value's bucket and a
// compare-exchange add on the sum; no allocation.
//
// Counts are kept per bucket (not cumulative) and summed when read, so a
// snapshot's +Inf bucket always equals its _count, even while other threads
// observe. The sum is updated after the bucket, so a snapshot may see a
// count without its value in the sum yet; scrapes are periodic and the
// next one sees both.
//
// Thread-safety: Observe() and Snapshot() may be called from any thread
// concurrently. Bounds are fixed at construction.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace jcm {

class MetricHistogram {
 public:
  // `bounds`: the upper bounds (le) of the finite buckets, strictly
  // increasing; +Inf is implied. Unsorted or duplicate bounds are sorted
  // and deduplicated.
  explicit MetricHistogram(std::vector<double> bounds);

  void Observe(double value);
  void ObserveSince(std::chrono::steady_clock::time_point start) {
    Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  struct Snapshot {
    std::vector<double> bounds;        // finite bounds, ascending
    std::vector<uint64_t> cumulative;  // per bound, then +Inf last
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot Read() const;

  const std::vector<double>& bounds() const { return bounds_; }

  // Bounds in seconds, each spanning what its kind of wait can take:
  // HTTP requests, 0.5 ms to 10 s (a request deadline is 10 s).
  static std::vector<double> LatencyBounds();
  // Health checks, 1 ms to 10 s (a check's timeout is under its interval).
  static std::vector<double> CheckBounds();
  // Writes and forwards, 1 ms to 30 s (a write may be held for a leader
  // for a session timeout and more).
  static std::vector<double> WriteBounds();
  // Long-poll waits, 10 ms to 60 s (waitMs is capped at 30 s).
  static std::vector<double> WaitBounds();

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

}  // namespace jcm
