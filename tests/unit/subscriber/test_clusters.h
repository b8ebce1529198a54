// Helpers for subscriber tests: small clusters built in code.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "subscriber/src/allocator_access.h"
#include "subscriber/src/cluster_slot.h"

namespace jcm::testing {

// A NORMAL, online node 10.0.0.<i> with HTTP port 8000+i and TCP port 9000+i.
inline Node MakeNode(int i, int weight = 100, bool http = true, bool tcp = true) {
  Node n;
  n.ip = "10.0.0." + std::to_string(i);
  if (http) n.protos.push_back({static_cast<uint16_t>(8000 + i), Proto::kHttp});
  if (tcp) n.protos.push_back({static_cast<uint16_t>(9000 + i), Proto::kTcp});
  n.weight = weight;
  n.status = NodeStatus::kNormal;
  return n;
}

inline Cluster MakeCluster(const std::string& name, int nodes, int64_t version = 1) {
  Cluster c;
  c.name = name;
  c.version = version;
  for (int i = 1; i <= nodes; ++i) c.nodes.push_back(MakeNode(i));
  return c;
}

inline void PublishCluster(internal::ClusterSlot& slot, Cluster c) {
  slot.Publish(internal::ClusterSnapshot::Build(std::make_shared<Cluster>(std::move(c)),
                                                ClusterInfo::Source::kServer));
}

}  // namespace jcm::testing
