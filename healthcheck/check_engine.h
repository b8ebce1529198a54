// CheckEngine: the checker's logic without I/O -- which node is due when,
// rounds, rise/fall, and the change-only status flush. The HealthChecker's
// event loop drives it; unit tests drive it with a fake clock and a fake
// Prober.
//
// Schedule. Each node has a fixed offset inside its cluster's interval,
// XXH64(spec, seed = XXH64(cluster)) mod interval, so the checks of all
// clusters are spread evenly over time instead of fired in one burst, and a
// node keeps its slot when others come or go. Round k of a cluster starts at
// start + k * interval; node i is checked at round start + offset_i.
//
// Rounds. A round is complete when all its nodes have been started and every
// check has a result (success, bad answer or timeout). Since the timeout is
// below the interval, a node's check has finished before the same node is due
// again, so at most two rounds of a cluster are open at a time. On completion
// the engine writes the cluster's statuses to the sink if they differ from
// its own last successful write (or always, with the write cache off); the
// first round after gaining a cluster is always written. A failed write is
// retried after the next round. A node whose status changes mid-round is
// written at once, at most one early write per cluster per 100 ms, so a
// subscriber learns of it without waiting for the round to complete.
//
// Fast re-checks. A failed check of a node that is not down, or a good check
// of one that is rising, leaves it between states: it is checked again after
// the cluster's fastinter (HealthOptions::fastinter_ms) rather than at its
// next ordinary slot, until it reaches fall (or rise) or its streak breaks.
// These extra checks belong to no round; the ordinary schedule is untouched
// (an ordinary check due while an extra one runs is left out, not late). A
// token bucket caps them at fastinter_max_per_sec per instance; a node over
// the cap waits for its ordinary check. A status change found this way is
// written early like any other; an early write held back by the 100 ms rate
// limit goes out when the limit allows, not at the end of the round.
//
// Down cap. With HealthOptions::max_down_share below 1, at most that share
// of a cluster's checked nodes (at least one) may go from NORMAL to down
// within one interval; a node past the cap stays NORMAL, its verdict "held"
// (re-checked at fastinter, published once the window has room).
//
// Second opinions. When a NORMAL node reaches fall here and an
// OpinionSource is set, the engine does not publish it down yet: it asks
// the source for k other instances' probes (k: the cluster's
// secondOpinions, else HealthOptions::second_opinions; at least
// kDegradedOpinions while LocalHealth says this instance is degraded) and
// keeps the node NORMAL meanwhile. A verdict "reachable" keeps it NORMAL and
// marks it suspect (history reason "second opinion"); it is re-checked at
// fastinter (within the per-second cap), and each failed re-check asks
// again, one question in flight per node at a time -- so once the node
// stops answering everyone, it is published down one probe round trip
// after its next re-check.
// "Unreachable", or no verdict within the timeout plus opinion_grace_ms,
// publishes it down. A success meanwhile cancels the question and clears
// suspect. Past the down cap a verdict also asks (instead of being held)
// when opinions are on. A source that has nobody to ask (Ask returns false)
// leaves the engine deciding alone, as before. Rising needs no opinion.
//
// Local health. Every check result and late start feeds LocalHealth; while
// it says degraded, the probers use each target's widened timeout (twice
// the timeout, at most 90% of the interval) and every down verdict asks.
//
// One-shot probes. ProbeOnce checks a node once for another instance's
// question (the peer side of a second opinion) on the same probers, with
// this instance's source address; at most kMaxOneShots at a time.
//
// History. Every status change (and held verdict) is recorded in the
// TransitionLog, if one is set, with the outcome that decided it.
//
// Definition changes (SetClusters) take effect at once: removed and offlined
// nodes stop being checked, nodes whose check target changed are re-targeted,
// health is kept by spec, and -- once the cluster has been written -- a
// change of the status map is written immediately rather than after the next
// round. A cluster missing from the set stops at once: checks in flight are
// cancelled and nothing more is written for it.
//
// Thread-safety: owned by the checker thread; not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "healthcheck/clock.h"
#include "healthcheck/health_counters.h"
#include "healthcheck/health_options.h"
#include "healthcheck/local_health.h"
#include "healthcheck/node_health.h"
#include "healthcheck/opinion_source.h"
#include "healthcheck/prober.h"
#include "healthcheck/status_report.h"
#include "healthcheck/transition_log.h"
#include "model/cluster.h"

namespace jcm {

class CheckEngine : public ProbeListener {
 public:
  // A node's status change is written at once (not at the end of its
  // round) unless the cluster was written less than this long ago.
  static constexpr int64_t kMinEarlyWriteGapMs = 100;

  // `keepalive_budget`: targets that may keep a connection open.
  CheckEngine(HealthOptions options, int keepalive_budget, Prober* http, Prober* tcp,
              StatusSink* sink, HealthCounters* counters, const Clock* clock);
  ~CheckEngine() override;

  // The full set of clusters this instance owns now.
  void SetClusters(const std::vector<std::shared_ptr<const Cluster>>& owned);
  // Starts every check due at clock->MonoMs() and completes rounds of
  // unchecked clusters.
  void Poll();
  // Monotonic ms at which Poll has work next; INT64_MAX if none.
  int64_t NextDueMs() const;
  void OnProbeResult(uint32_t target, CheckOutcome outcome) override;
  // The event loop did not run until monotonic `end_ms` (a stall: process
  // stopped, machine overloaded). A check started before then that times
  // out within kStallGraceMs after it has timed our stall, not the node: it
  // is voided (no verdict, counted in `voided`) and the node re-checked
  // after fastinter. (Answers that arrived during the stall are read before
  // timers run, see HealthChecker; this covers checks the stall caught
  // mid-connect or mid-send.)
  static constexpr int64_t kStallGraceMs = 200;
  // `length_ms`: how late the loop ran; feeds LocalHealth.
  void NoteStall(int64_t end_ms, int64_t length_ms = 0) {
    stall_end_ms_ = std::max(stall_end_ms_, end_ms);
    if (length_ms > 0) local_.OnLate(length_ms, end_ms);
  }
  void SetWriteCache(bool enabled) { write_cache_ = enabled; }
  // Where transitions are recorded; null: nowhere. Must outlive the engine.
  void SetTransitionLog(TransitionLog* log) { log_ = log; }

  // Where second opinions come from; null (the default): nowhere, every
  // verdict is this instance's alone. Must outlive the engine.
  void SetOpinionSource(OpinionSource* source) { opinions_ = source; }
  // The verdict on OpinionRequest `id`. Unknown or stale ids are ignored.
  void OnOpinion(uint64_t id, OpinionVerdict verdict);
  static constexpr int kDegradedOpinions = 2;

  // Checks node `spec` of `cluster` once, as this instance checks it, and
  // calls `done` (on this thread, from Poll or a prober result, never from
  // inside ProbeOnce) with the outcome; nullopt when the node cannot be
  // checked (not online, no check, no port), too many one-shots are in
  // flight, or the engine goes away first.
  using OneShotDone = std::function<void(std::optional<CheckOutcome>)>;
  void ProbeOnce(const Cluster& cluster, const std::string& spec, OneShotDone done);
  static constexpr size_t kMaxOneShots = 2048;

  // The probe target of a node as `options` and the cluster's settings say
  // (the same for the owner and a peer asked for an opinion); nullopt when
  // the node is not checked.
  static std::optional<ProbeTarget> TargetFor(const Cluster& cluster, const Node& node,
                                              const HealthOptions& options);
  // The nodes marked suspect now, as "cluster/spec", at most `limit`.
  std::vector<std::string> Suspects(size_t limit) const;
  bool degraded() const { return local_.degraded(); }

  // For tests and /sys/status: the state the engine holds for a cluster.
  // Empty report if the cluster is not owned.
  StatusReport Snapshot(const std::string& cluster) const;

 private:
  struct NodeSlot;
  struct ClusterSlot;
  struct RoundTrack;
  struct TargetRef {
    ClusterSlot* cluster = nullptr;
    uint32_t node = 0;
  };
  struct Due {
    int64_t at;
    uint32_t slot;
    uint64_t gen;
    bool operator>(const Due& o) const { return at > o.at; }
  };
  struct FastDue {
    int64_t at;
    uint32_t target;
    uint64_t gen;
    bool operator>(const FastDue& o) const { return at > o.at; }
  };

  void AddCluster(std::shared_ptr<const Cluster> def, int64_t now);
  void UpdateCluster(ClusterSlot* c, std::shared_ptr<const Cluster> def, int64_t now);
  void RemoveCluster(uint32_t slot);
  // The same definition with new statuses: seeds undecided nodes only.
  void Reseed(ClusterSlot* c, std::shared_ptr<const Cluster> def);
  void ApplySettings(ClusterSlot* c);
  // Gives the node the probe target its definition asks for (or none).
  void Retarget(ClusterSlot* c, NodeSlot* n, const Node* def);
  void DropTarget(ClusterSlot* c, NodeSlot* n);
  void Advance(ClusterSlot* c, int64_t now);
  void NextRound(ClusterSlot* c, uint64_t rounds, int64_t now);
  void StartNode(ClusterSlot* c, NodeSlot* n, int64_t due, int64_t now);
  void MaybeFinishRound(ClusterSlot* c, RoundTrack* t, int64_t now);
  void Flush(ClusterSlot* c, uint64_t round, bool unconditional);
  // Writes a cluster whose status changed mid-round now, or as soon as the
  // early-write rate limit allows.
  void EarlyFlush(ClusterSlot* c, int64_t now);
  // After a result of node `index`: queue an extra check if it is between
  // states (see the header comment).
  void MaybeFastRecheck(ClusterSlot* c, uint32_t index, CheckOutcome outcome, int64_t now);
  void RunFastChecks(int64_t now);
  // True if one more NORMAL -> down verdict fits the cluster's cap now.
  bool DownAllowed(ClusterSlot* c, int64_t now);
  void Log(ClusterSlot* c, const NodeSlot& n, NodeStatus from, NodeStatus to, const char* reason);
  bool TakeFastToken(int64_t now);
  // A NORMAL node just reached fall (its health says down): publish, hold,
  // or ask for opinions. Returns true iff it is published down now.
  bool OnDownVerdict(ClusterSlot* c, NodeSlot* n, NodeStatus down, CheckOutcome outcome,
                     int64_t now);
  void ClearOpinion(NodeSlot* n);
  void ExpireOpinions(int64_t now);
  void ReleaseOneShots();
  uint32_t AllocTarget();
  void ApplyLocalHealth();
  void Schedule(ClusterSlot* c);
  void UpdateGauges();
  Prober* ProberFor(CheckType type) const;

  HealthOptions options_;
  int keepalive_budget_;
  int keepalive_used_ = 0;
  Prober* http_;
  Prober* tcp_;
  StatusSink* sink_;
  HealthCounters* counters_;
  TransitionLog* log_ = nullptr;
  const Clock* clock_;
  bool write_cache_;
  int late_tolerance_ms_;

  std::vector<std::unique_ptr<ClusterSlot>> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, uint32_t> by_name_;
  std::vector<TargetRef> targets_;
  std::vector<uint32_t> free_targets_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due_;
  uint64_t next_gen_ = 1;
  std::priority_queue<FastDue, std::vector<FastDue>, std::greater<FastDue>> fast_due_;
  uint64_t next_fast_gen_ = 1;
  double fast_tokens_ = 0;
  int64_t fast_tokens_at_ = -1;
  std::set<uint32_t> deferred_flush_;  // slots with an early write held back
  int64_t stall_end_ms_ = -1;          // see NoteStall

  OpinionSource* opinions_ = nullptr;
  uint64_t next_opinion_id_ = 1;
  struct Pending {
    uint32_t target;
    int64_t deadline;
  };
  std::map<uint64_t, Pending> pending_;  // opinion id -> node's target
  LocalHealth local_;
  std::unordered_map<uint32_t, OneShotDone> oneshots_;  // target id -> callback
  std::vector<uint32_t> oneshot_release_;               // finished, to remove in Poll
  std::vector<std::pair<OneShotDone, std::optional<CheckOutcome>>> oneshot_calls_;
};

}  // namespace jcm
