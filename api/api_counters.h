// ApiCounters: what the HTTP layer counts, shown under "api" in
// GET /sys/status (as Envoy's health checker shows attempt/success/failure).
//
// Thread-safety: all members are atomics; every method may be called from
// any thread. Relaxed ordering: the figures are for people, not for logic.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "model/status.h"

namespace jcm {

// The routes, for per-route reply counts.
enum class ApiRoute {
  kHealthz,
  kReadyz,
  kListClusters,
  kGetCluster,
  kPutCluster,
  kDeleteCluster,
  kClusterOnline,
  kAddNodes,
  kRemoveNodes,
  kChangeNodes,  // POST /c/nodes/{name}: removals and additions in one write
  kNodeOnline,
  kSysStatus,
  kNsCache,
  kSub,
  kUi,
  kMetrics,
  kHistory,
  kProbe,  // POST /sys/probe (api/peer_probe.h)
  kNoRoute,
  kCount,
};
const char* ToString(ApiRoute route);

struct ApiCounters {
  static constexpr size_t kRoutes = static_cast<size_t>(ApiRoute::kCount);

  static constexpr size_t kCodes = static_cast<size_t>(Status::Code::kInternal) + 1;

  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> replies_2xx{0};
  std::atomic<uint64_t> replies_4xx{0};
  std::atomic<uint64_t> replies_5xx{0};
  // Refusals this instance made, by Status code (forwarded leader replies
  // are counted by HTTP class only).
  std::array<std::atomic<uint64_t>, kCodes> errors_by_code{};
  std::atomic<uint64_t> forwarded{0};         // writes sent to the leader
  std::atomic<uint64_t> forward_failures{0};  // leader unknown or unreachable
  // Requests to the leader that carried several node writes, those writes,
  // and merged requests the leader refused (each write then went alone).
  std::atomic<uint64_t> forwards_merged{0};
  std::atomic<uint64_t> forwards_merged_writes{0};
  std::atomic<uint64_t> forward_merge_fallbacks{0};
  // Merged requests that carried additions and removals (POST /c/nodes/).
  std::atomic<uint64_t> forwards_merged_mixed{0};
  std::atomic<uint64_t> read_your_writes_timeouts{0};
  std::atomic<uint64_t> writes_held{0};  // waited for a leader at least once
  std::atomic<uint64_t> sub_requests{0};
  std::atomic<uint64_t> sub_cached_replies{0};  // answered from SubReplyCache
  // Units of delta-capable requests with a newer version: answered with
  // RESP_DELTA, or with the whole cluster (base no longer held, or the
  // delta would not be smaller).
  std::atomic<uint64_t> sub_delta_units{0};
  std::atomic<uint64_t> sub_delta_full_units{0};
  // Nodes the diffs behind them read (model/cluster_delta.h): about the
  // nodes the writes changed when versions share their unchanged chunks.
  std::atomic<uint64_t> sub_delta_nodes_read{0};
  std::atomic<uint64_t> long_polls{0};          // parked at least once
  std::atomic<uint64_t> long_polls_refused{0};  // answered at once: bound reached
  std::atomic<int64_t> long_polls_parked{0};    // parked right now

  // Replies per route and class: [route][0] 2xx (and 1xx/3xx), [1] 4xx, [2] 5xx.
  std::array<std::array<std::atomic<uint64_t>, 3>, kRoutes> by_route{};

  void CountReply(ApiRoute route, int http_status);
  void CountError(Status::Code code);
  nlohmann::json ToJson() const;
};

}  // namespace jcm
