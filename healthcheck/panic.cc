#include "healthcheck/panic.h"

namespace jcm {

bool InPanic(const Cluster& cluster, double share) {
  if (share <= 0) return false;
  size_t online = 0;
  size_t normal = 0;
  for (const Node& n : cluster.nodes) {
    if (!n.online) continue;
    ++online;
    if (n.status == NodeStatus::kNormal) ++normal;
  }
  if (online == 0) return false;
  // normal / online < share, without floating-point division surprises at the
  // boundary (2 of 4 with share 0.5 is not panic).
  return static_cast<double>(normal) < share * static_cast<double>(online);
}

}  // namespace jcm
