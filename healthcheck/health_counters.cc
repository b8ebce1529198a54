#include "healthcheck/health_counters.h"

#include <nlohmann/json.hpp>

#include "healthcheck/local_health.h"

namespace jcm {

nlohmann::json CountersToJson(const HealthCounters& c) {
  auto get = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  nlohmann::json j{
      {"clusters", get(c.clusters)},
      {"nodes", get(c.nodes)},
      {"checkedNodes", get(c.checked_nodes)},
      {"keepaliveTargets", get(c.keepalive_targets)},
      {"shortTargets", get(c.short_targets)},
      {"checksPerSec", get(c.checks_per_sec)},
      {"lastRoundMs", get(c.last_round_ms)},
      {"checks", get(c.checks)},
      {"successes", get(c.successes)},
      {"failures", get(c.failures)},
      {"timeouts", get(c.timeouts)},
      {"skippedBusy", get(c.skipped_busy)},
      {"fastChecks", get(c.fast_checks)},
      {"fastCapped", get(c.fast_capped)},
      {"downsHeld", get(c.downs_held)},
      {"voided", get(c.voided)},
      {"loopStalls", get(c.loop_stalls)},
      {"rounds", get(c.rounds)},
      {"lateRounds", get(c.late_rounds)},
      {"statusWrites", get(c.status_writes)},
      {"writesSkipped", get(c.writes_skipped)},
      {"writeErrors", get(c.write_errors)},
      {"writeQueue", get(c.write_queue)},
      {"writesCoalesced", get(c.writes_coalesced)},
  };
  j["secondOpinions"] = {
      {"asked", get(c.opinions_asked)},
      {"reachable", get(c.opinions_reachable)},
      {"confirmed", get(c.opinions_confirmed)},
      {"unanswered", get(c.opinions_unanswered)},
      {"alone", get(c.opinions_alone)},
      {"pending", get(c.opinions_pending)},
      {"suspectNodes", get(c.suspect_nodes)},
      {"peerProbes", get(c.peer_probes)},
      {"peerProbesRefused", get(c.peer_probes_refused)},
  };
  j["localHealth"] = {
      {"degraded", get(c.degraded) != 0},
      {"reason", ToString(static_cast<LocalHealth::Reason>(get(c.degraded_reason)))},
      {"episodes", get(c.degraded_episodes)},
      {"failingClusters", get(c.failing_clusters)},
  };
  return j;
}

}  // namespace jcm
