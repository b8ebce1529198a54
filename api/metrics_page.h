// MetricsPage: the body of GET /metrics, in the Prometheus text format
// 0.0.4 (api/metrics_writer.h), built from what /sys/status shows and the
// clusters in memory:
//
//   1. explicit gauges, with stable names an alert rule can rely on:
//      jcm_up, jcm_ready, jcm_leader, jcm_leader_known, jcm_members,
//      jcm_zookeeper_connected, jcm_clusters, jcm_clusters_panic,
//      jcm_nodes{status}, jcm_nodes_offline, jcm_long_polls_parked,
//      jcm_long_polls_parked_max, jcm_http_connections_open,
//      jcm_http_connections_max;
//   2. the registry's families (ApiMetrics' latency histograms);
//   3. every number and boolean of /sys/status, flattened
//      (api/metrics_status_flattener.h), skipping names taken above.
//
// Thread-safety: stateless; Render may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/metrics_registry.h"
#include "api/name_service.h"

namespace jcm {

class MetricsPage {
 public:
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // `status`: the object GET /sys/status answers (with "api" and "ready").
  static std::string Render(const nlohmann::json& status, const std::vector<ClusterPtr>& clusters,
                            const LeaderInfo& leader, const MetricsRegistry& registry);
};

}  // namespace jcm
