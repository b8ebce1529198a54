// StatusWriter: the StatusSink the check engine writes to. It never blocks on
// I/O: WriteStatuses only queues the report, and a thread of its own hands
// queued reports to the downstream sink (ZooKeeper in the server), which may
// block for as long as ZooKeeper stalls. The probing loop therefore keeps
// checking -- and reading answers -- while a status write waits, so a
// ZooKeeper stall cannot turn into check timeouts and false downs.
//
// Coalescing. Only the latest report of a cluster matters (each one carries
// every node's state), so a report queued for a cluster replaces the one still
// waiting there; the queue is bounded by the number of owned clusters.
//
// Failures. A report the downstream sink refuses with a transient error
// (anything but InvalidArgument/TooLarge, which a retry cannot fix) is kept,
// unless a newer one replaced it meanwhile, and tried again after a backoff
// (100 ms doubling to 2 s, reset by the next success). The downstream decides
// what "no longer wanted" means (the server drops reports of clusters it does
// not own any more) by answering Ok without writing.
//
// Thread-safety: WriteStatuses, Start, Stop and pending() may be called from
// any thread. The downstream sink is called from the writer thread only, one
// call at a time. After Stop returns the downstream is not called again;
// reports still queued are dropped (a restarted owner writes afresh).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "healthcheck/health_counters.h"
#include "healthcheck/status_report.h"

namespace jcm {

class StatusWriter : public StatusSink {
 public:
  static constexpr int64_t kMinBackoffMs = 100;
  static constexpr int64_t kMaxBackoffMs = 2000;

  // `downstream` and `counters` must outlive the writer. `downstream` may be
  // null (nothing is written; reports are dropped as written).
  StatusWriter(StatusSink* downstream, HealthCounters* counters);
  ~StatusWriter() override;  // Stop()s
  StatusWriter(const StatusWriter&) = delete;
  StatusWriter& operator=(const StatusWriter&) = delete;

  void Start();
  void Stop();

  // Queues `report` (replacing a queued one of the same cluster); returns Ok
  // at once. Reports queued before Start wait for it.
  Status WriteStatuses(const StatusReport& report) override;

  // Reports queued and not yet written (or being retried).
  size_t pending() const;

 private:
  void Run();

  StatusSink* const downstream_;
  HealthCounters* const counters_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, StatusReport> queued_;  // GUARDED_BY(mu_), by cluster
  std::deque<std::string> order_;               // GUARDED_BY(mu_), FIFO of queued_ keys
  bool stop_ = false;                           // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace jcm
