// Clock: where the poller reads the time, so backoff and long-poll timing
// are tested by moving a fake clock instead of sleeping.
//
// Thread-safety: implementations must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace jcm::internal {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds from an arbitrary origin.
  virtual int64_t NowMs() const = 0;
};

class SteadyClock : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace jcm::internal
