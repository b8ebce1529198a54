// HealthChecker: the health checking of one jcm instance, as the server sees
// it. It owns one thread that runs an epoll loop: a CheckEngine deciding what
// is due, an HTTP prober and a TcpProber sharing the loop. The HTTP prober is
// the built-in NativeHttpProber by default (a quarter of libcurl's CPU per
// check, see benchmark.md) or, with HealthOptions::http_prober, HttpProber on
// the curl multi interface.
//
// The server tells it which clusters this instance owns (SetClusters, on ring
// or definition changes) and receives StatusReports through the StatusSink
// after each round and on a node's status change, subject to the
// change-only rule (see CheckEngine). Reports go through a StatusWriter: the
// sink runs on a writer thread of its own, so ZooKeeper I/O never runs on the
// probing loop, and only the latest report per cluster is kept while a write
// waits.
//
// Stalls. When a turn of the loop took longer than expected (the process was
// stopped, the machine overloaded), answers that arrived meanwhile are read
// before the probers' timers run, so a late-read answer is not a timeout.
//
// Keep-alive budget: at Start the soft RLIMIT_NOFILE is read; the checker
// keeps at most RLIMIT_NOFILE - fd_reserve connections open (both from
// HealthOptions), and checks nodes beyond that with a new connection per
// check. Raising the soft limit to the hard one is the caller's decision
// (RaiseFileLimit below), since it is process-wide.
//
// Second opinions. With an OpinionSource set (before Start), the engine asks
// it before publishing a NORMAL node down; the source answers through
// DeliverOpinion from any thread, and the verdict reaches the engine on the
// checker thread. ProbeOnce is the other side: a peer's question, checked
// once on this loop, its answer handed to a callback on the checker thread.
//
// Thread-safety: SetClusters, SetWriteCache, DeliverOpinion, ProbeOnce,
// Suspects, counters() and Stop may be called from any thread. StatusSink::WriteStatuses is called
// from the checker's writer thread (never the probing loop), one call at a time; it may block.
// Start and Stop must not race each other.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "healthcheck/check_engine.h"
#include "healthcheck/clock.h"
#include "healthcheck/health_counters.h"
#include "healthcheck/health_options.h"
#include "healthcheck/opinion_source.h"
#include "healthcheck/status_report.h"
#include "healthcheck/status_writer.h"
#include "healthcheck/transition_log.h"
#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

class HealthChecker {
 public:
  // `sink` and `clock` must outlive the checker. Nothing runs before Start.
  HealthChecker(HealthOptions options, StatusSink* sink, Clock* clock = SystemClock::Get());
  ~HealthChecker();  // Stop()s
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Creates the event loop and starts the checker thread.
  Status Start();
  // Stops and joins the thread; no StatusSink call happens after it returns.
  void Stop();

  // The full set of clusters this instance owns now (definitions, with the
  // statuses the server last applied, which seed nodes new to this checker).
  // Takes effect on the checker thread within milliseconds.
  void SetClusters(std::vector<std::shared_ptr<const Cluster>> owned);
  // JCM's /sys/nscache: false = write every round.
  void SetWriteCache(bool enabled);

  // Where second opinions come from (see the header). Before Start; must
  // outlive the checker.
  void SetOpinionSource(OpinionSource* source) { opinions_ = source; }
  void DeliverOpinion(uint64_t id, OpinionVerdict verdict);
  // Checks node `spec` of `cluster` once from this instance; `done` runs on
  // the checker thread with the outcome, or nullopt (node not checkable,
  // too many in flight, checker stopped or not started).
  void ProbeOnce(std::shared_ptr<const Cluster> cluster, std::string spec,
                 CheckEngine::OneShotDone done);
  // Nodes NORMAL but suspect ("cluster/spec"), as of at most ~1 s ago.
  std::vector<std::string> Suspects() const;
  static constexpr size_t kMaxSuspectsShown = 1000;

  const HealthCounters& counters() const { return counters_; }
  // The last transitions of the nodes this instance checks (TransitionLog).
  const TransitionLog& transitions() const { return transitions_; }
  // The keep-alive budget resolved at Start (0 before).
  int keepalive_budget() const { return keepalive_budget_.load(); }

 private:
  struct Loop;
  void Run();
  void Wake();

  HealthOptions options_;
  StatusSink* sink_;
  Clock* clock_;
  HealthCounters counters_;
  TransitionLog transitions_;
  StatusWriter writer_{sink_, &counters_};
  std::atomic<int> keepalive_budget_{0};
  std::atomic<bool> write_cache_;
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;

  mutable std::mutex mu_;
  bool accepting_ = false;  // GUARDED_BY(mu_): ProbeOnce queues (running)
  std::optional<std::vector<std::shared_ptr<const Cluster>>> pending_;  // GUARDED_BY(mu_)
  OpinionSource* opinions_ = nullptr;
  struct ProbeAsk {
    std::shared_ptr<const Cluster> cluster;
    std::string spec;
    CheckEngine::OneShotDone done;
  };
  std::vector<std::pair<uint64_t, OpinionVerdict>> verdicts_;  // GUARDED_BY(mu_)
  std::vector<ProbeAsk> probe_asks_;                           // GUARDED_BY(mu_)
  std::vector<std::string> suspects_;                          // GUARDED_BY(mu_)
};

// Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit in
// force afterwards.
int RaiseFileLimit();

}  // namespace jcm
