// Prober: the I/O side of the checker, seen by CheckEngine. One prober per
// check kind (HTTP on curl multi, TCP as a non-blocking connect); tests use a
// fake.
//
// Targets are registered once per node (so an HTTP target keeps its easy
// handle and connection between checks) and identified by a small integer
// chosen by the engine.
//
// Thread-safety: owned by the checker thread; never called concurrently.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "healthcheck/node_health.h"
#include "model/cluster.h"

namespace jcm {

struct ProbeTarget {
  CheckType type = CheckType::kHttp;  // kHttp or kTcp
  std::string ip;                     // IPv4 or IPv6 literal
  uint16_t port = 0;
  std::string path = "/";  // HTTP only
  int timeout_ms = 800;
  std::vector<int> ok_codes;  // HTTP only; empty = any 2xx
  bool keepalive = true;      // false: new connection per check
  // The timeout while the instance doubts itself (LocalHealth, set through
  // Prober::SetWidened); 0 or below timeout_ms: timeout_ms.
  int widened_timeout_ms = 0;
  bool operator==(const ProbeTarget&) const = default;
};

class ProbeListener {
 public:
  virtual ~ProbeListener() = default;
  virtual void OnProbeResult(uint32_t target, CheckOutcome outcome) = 0;
};

class Prober {
 public:
  virtual ~Prober() = default;
  virtual void AddTarget(uint32_t target, const ProbeTarget& spec) = 0;
  // Cancels a check in flight; no result follows for it.
  virtual void RemoveTarget(uint32_t target) = 0;
  // Starts one check; exactly one OnProbeResult follows, never from inside
  // Start itself. REQUIRES: no check of this target in flight.
  virtual void Start(uint32_t target) = 0;
  // Delivers results decided without waiting and expires checks past their
  // timeout, as of monotonic `now_ms`. The event loop calls it every turn.
  virtual void RunTimers(int64_t /*now_ms*/) {}
  // Monotonic ms at which RunTimers has work next; INT64_MAX if none.
  virtual int64_t NextTimerMs() const { return std::numeric_limits<int64_t>::max(); }
  // Checks started from now on use each target's widened_timeout_ms (true)
  // or timeout_ms (false). Probers that cannot widen ignore it.
  virtual void SetWidened(bool /*widened*/) {}
};

}  // namespace jcm
