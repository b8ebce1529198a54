// Clock: the time source of the health checker, injected so that scheduling,
// round and rise/fall logic are tested by advancing a fake clock.
//
// MonoMs() drives scheduling (never goes back); WallMs() is what lastCheck
// reports to users.
//
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace jcm {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t MonoMs() const = 0;
  virtual int64_t WallMs() const = 0;
  // Monotonic microseconds, for timing checks finer than a millisecond.
  virtual int64_t MonoUs() const { return MonoMs() * 1000; }
};

class SystemClock : public Clock {
 public:
  int64_t MonoMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t WallMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonoUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance for callers that have no reason to inject one.
  static SystemClock* Get() {
    static SystemClock clock;
    return &clock;
  }
};

}  // namespace jcm
