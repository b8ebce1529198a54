// LocalHealth: how much this instance trusts its own verdicts (the idea of
// HashiCorp's Lifeguard, arXiv 1707.00788). A checker whose own host is in
// trouble -- its NIC or a firewall rule dropping its packets, its event loop
// starved of CPU -- sees nodes fail that are fine. Two signs give that away:
//
//   - failures across many unrelated clusters at once: within the last
//     window_ms, at least min_clusters of the clusters checked here had a
//     failed check, and they are at least failing_share of all the clusters
//     checked here in that window (a real outage of one service fails one
//     cluster, not half of them);
//   - the event loop running late: a stall (a turn of the loop far longer
//     than asked) or a check started late by more than late_ms.
//
// Either makes the instance *degraded*. It stays degraded until neither
// sign has been seen for recover_ms. While degraded the CheckEngine widens
// its check timeouts and asks for a second opinion on every down verdict
// (see CheckEngine). Evaluated at most every 250 ms; the per-check cost is
// two stores into a vector indexed by the cluster's slot.
//
// Pure logic on the caller's clock (monotonic ms); unit-tested on a fake one.
// Thread-safety: owned by the checker thread; not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace jcm {

struct LocalHealthOptions {
  int window_ms = 5000;
  int min_clusters = 5;
  double failing_share = 0.5;
  int late_ms = 250;
  int recover_ms = 10000;
};

class LocalHealth {
 public:
  enum class Reason { kNone, kWideFailures, kLateLoop };

  explicit LocalHealth(LocalHealthOptions options = {}) : options_(options) {}

  // A check of a node of cluster `slot` finished at `now`.
  void OnCheck(uint32_t slot, bool failed, int64_t now);
  // The cluster slot was freed: its history no longer counts.
  void Forget(uint32_t slot);
  // The event loop was late by `late_ms` at `now` (a stall, or a check
  // started that late after its due time).
  void OnLate(int64_t late_ms, int64_t now);
  // Re-evaluates (at most every kEvaluateMs, or when forced). Returns true
  // iff the degraded state changed.
  bool Evaluate(int64_t now, bool force = false);

  bool degraded() const { return degraded_; }
  Reason reason() const { return reason_; }
  // Of the last evaluation: clusters checked / with a failure in the window.
  int checked_clusters() const { return checked_clusters_; }
  int failing_clusters() const { return failing_clusters_; }
  uint64_t episodes() const { return episodes_; }  // times it became degraded

  static constexpr int64_t kEvaluateMs = 250;

 private:
  struct Seen {
    int64_t checked = -1;
    int64_t failed = -1;
  };
  LocalHealthOptions options_;
  std::vector<Seen> seen_;  // by cluster slot
  int64_t last_late_ = -1;
  int64_t last_sign_ = -1;  // last evaluation that saw a sign
  int64_t evaluated_ = -1;
  bool degraded_ = false;
  Reason reason_ = Reason::kNone;
  int checked_clusters_ = 0;
  int failing_clusters_ = 0;
  uint64_t episodes_ = 0;
};

const char* ToString(LocalHealth::Reason reason);

}  // namespace jcm
