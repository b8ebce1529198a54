#include "api/metrics_page.h"

#include <array>

#include "api/metrics_status_flattener.h"
#include "model/cluster.h"

namespace jcm {

using nlohmann::json;

namespace {

// The number at `path` in `j`, or `fallback` when absent or not a number.
double NumberAt(const json& j, std::initializer_list<const char*> path, double fallback) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return fallback;
    auto it = at->find(key);
    if (it == at->end()) return fallback;
    at = &*it;
  }
  return at->is_number() ? at->get<double>() : fallback;
}

void Gauge(MetricsWriter* out, const std::string& name, const std::string& help, double value) {
  if (out->Family(name, help, MetricType::kGauge)) out->Sample(name, {}, value);
}

}  // namespace

std::string MetricsPage::Render(const json& status, const std::vector<ClusterPtr>& clusters,
                                const LeaderInfo& leader, const MetricsRegistry& registry) {
  MetricsWriter out;
  Gauge(&out, "jcm_up", "1 while this instance serves its API.", 1);
  bool ready = status.is_object() && status.value("ready", false);
  Gauge(&out, "jcm_ready", "1 when this instance is ready (GET /readyz answers 200).",
        ready ? 1 : 0);
  Gauge(&out, "jcm_leader", "1 when this instance is the leader.", leader.self ? 1 : 0);
  Gauge(&out, "jcm_leader_known", "1 when this instance knows a leader (itself or another).",
        leader.known ? 1 : 0);
  size_t members = 0;
  if (status.is_object() && status.contains("members") && status["members"].is_array()) {
    members = status["members"].size();
  }
  Gauge(&out, "jcm_members", "Instances registered in ZooKeeper, as this instance sees them.",
        static_cast<double>(members));
  bool zk_connected = status.is_object() && status.value("zookeeper", "") == "CONNECTED";
  Gauge(&out, "jcm_zookeeper_connected", "1 while the ZooKeeper session is connected.",
        zk_connected ? 1 : 0);

  size_t panic = 0, offline = 0;
  std::array<uint64_t, 4> by_status{};  // indexed by NodeStatus
  for (const ClusterPtr& c : clusters) {
    if (c->panic) ++panic;
    for (const Node& n : c->nodes) {
      size_t s = static_cast<size_t>(n.status);
      if (s < by_status.size()) ++by_status[s];
      if (!n.online) ++offline;
    }
  }
  Gauge(&out, "jcm_clusters", "Clusters in memory.", static_cast<double>(clusters.size()));
  Gauge(&out, "jcm_clusters_panic",
        "Clusters in panic: fewer than their panic share of online nodes are NORMAL.",
        static_cast<double>(panic));
  if (out.Family("jcm_nodes", "Nodes of every cluster, by health status.", MetricType::kGauge)) {
    for (NodeStatus s :
         {NodeStatus::kNormal, NodeStatus::kAbnormal, NodeStatus::kTimeout, NodeStatus::kInvalid}) {
      out.Sample("jcm_nodes", {{"status", ToString(s)}}, by_status[static_cast<size_t>(s)]);
    }
  }
  Gauge(&out, "jcm_nodes_offline", "Nodes switched offline by an operator.",
        static_cast<double>(offline));
  Gauge(&out, "jcm_long_polls_parked", "/sub long polls parked right now.",
        NumberAt(status, {"api", "longPollsParked"}, 0));
  Gauge(&out, "jcm_long_polls_parked_max", "The cap on parked long polls.",
        NumberAt(status, {"api", "maxParkedLongPolls"}, 0));
  Gauge(&out, "jcm_http_connections_open", "Client connections open right now.",
        NumberAt(status, {"api", "http", "open"}, 0));
  Gauge(&out, "jcm_http_connections_max", "The cap on open client connections.",
        NumberAt(status, {"api", "http", "maxConnections"}, 0));

  registry.Render(&out);
  MetricsStatusFlattener::Write(status, "jcm", &out);
  return out.Take();
}

}  // namespace jcm
