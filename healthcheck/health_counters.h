// HealthCounters: what the checker has done, for /sys/status and metrics.
// Cumulative counters only grow; gauges (clusters, nodes, checks_per_sec,
// last_round_ms, keepalive/short targets) reflect the latest state.
//
// Thread-safety: every field is an atomic written by the checker thread with
// relaxed ordering and readable from any thread at any time; fields read
// together may come from slightly different moments.
#pragma once

#include <atomic>
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace jcm {

struct HealthCounters {
  // Gauges.
  std::atomic<uint64_t> clusters{0};       // clusters this instance owns
  std::atomic<uint64_t> nodes{0};          // nodes in them (all, incl. offline)
  std::atomic<uint64_t> checked_nodes{0};  // online nodes with a check target
  std::atomic<uint64_t> keepalive_targets{0};
  std::atomic<uint64_t> short_targets{0};   // checked with a new connection each time
  std::atomic<uint64_t> checks_per_sec{0};  // over the last ~1 s
  std::atomic<int64_t> last_round_ms{0};    // round start to its last result
  std::atomic<uint64_t> write_queue{0};     // reports waiting for the status writer
  // Cumulative.
  std::atomic<uint64_t> checks{0};  // started
  std::atomic<uint64_t> successes{0};
  std::atomic<uint64_t> failures{0};      // answered badly (code, refused, reset)
  std::atomic<uint64_t> timeouts{0};      // no answer within the timeout
  std::atomic<uint64_t> skipped_busy{0};  // due while the previous check still ran
  std::atomic<uint64_t> fast_checks{0};   // extra checks at fastinter (part of checks)
  std::atomic<uint64_t> fast_capped{0};   // extra checks not made: over the per-second cap
  std::atomic<uint64_t> downs_held{0};    // down verdicts over the per-cluster cap
  std::atomic<uint64_t> voided{0};        // timeouts that spanned a stall of our loop
  std::atomic<uint64_t> loop_stalls{0};   // turns of the loop late by kStallMs or more
  std::atomic<uint64_t> rounds{0};        // cluster rounds completed
  std::atomic<uint64_t> late_rounds{0};   // of which a check started late, or skipped
  std::atomic<uint64_t> status_writes{0};
  std::atomic<uint64_t> writes_skipped{0};    // unchanged since the last write
  std::atomic<uint64_t> write_errors{0};      // sink refused; retried (StatusWriter)
  std::atomic<uint64_t> writes_coalesced{0};  // replaced by a newer report before written

  // Second opinions (CheckEngine, OpinionSource).
  std::atomic<uint64_t> opinions_asked{0};       // down verdicts sent to peers
  std::atomic<uint64_t> opinions_reachable{0};   // a peer reached it: kept NORMAL, suspect
  std::atomic<uint64_t> opinions_confirmed{0};   // no peer reached it: published down
  std::atomic<uint64_t> opinions_unanswered{0};  // no verdict in time: published down
  std::atomic<uint64_t> opinions_alone{0};       // nobody to ask: decided alone
  std::atomic<uint64_t> opinions_pending{0};     // gauge: asked, verdict not in yet
  std::atomic<uint64_t> suspect_nodes{0};        // gauge: NORMAL, but failing here
  std::atomic<uint64_t> peer_probes{0};          // one-shot probes made for peers
  std::atomic<uint64_t> peer_probes_refused{0};  // over the bound of one-shots in flight
  // Local health (LocalHealth).
  std::atomic<uint64_t> degraded{0};    // gauge: 1 while this instance doubts itself
  std::atomic<int> degraded_reason{0};  // LocalHealth::Reason as int
  std::atomic<uint64_t> degraded_episodes{0};
  std::atomic<uint64_t> failing_clusters{0};  // gauge, of the last evaluation
};

// {"clusters": .., "nodes": .., "checksPerSec": .., ...} for /sys/status.
nlohmann::json CountersToJson(const HealthCounters& counters);

}  // namespace jcm
