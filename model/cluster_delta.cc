#include "model/cluster_delta.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace jcm {

bool SameServedNode(const Node& a, const Node& b) {
  return a.SameDefinition(b) && a.status == b.status && a.last_check_ms == b.last_check_ms &&
         a.not_checked == b.not_checked;
}

ClusterDiff DiffClusters(const Cluster& base, const Cluster& next) {
  ClusterDiff diff;
  // A chunk object in both lists holds the same nodes, unchanged (chunks
  // are copied before any write): only the chunks one side has alone can
  // hold a difference, and a node moved between chunks shows up in both.
  std::unordered_set<const NodeChunk*> base_chunks, next_chunks;
  base_chunks.reserve(base.nodes.chunk_count());
  next_chunks.reserve(next.nodes.chunk_count());
  for (size_t k = 0; k < base.nodes.chunk_count(); ++k) base_chunks.insert(&base.nodes.chunk(k));
  for (size_t k = 0; k < next.nodes.chunk_count(); ++k) next_chunks.insert(&next.nodes.chunk(k));

  std::unordered_map<std::string, const Node*> before;  // spec -> node, base-only chunks
  for (size_t k = 0; k < base.nodes.chunk_count(); ++k) {
    const NodeChunk& chunk = base.nodes.chunk(k);
    if (next_chunks.count(&chunk)) continue;
    diff.nodes_read += chunk.size();
    for (const Node& n : chunk) before.emplace(n.Spec(), &n);
  }
  for (size_t k = 0; k < next.nodes.chunk_count(); ++k) {
    const NodeChunk& chunk = next.nodes.chunk(k);
    if (base_chunks.count(&chunk)) continue;
    diff.nodes_read += chunk.size();
    for (const Node& n : chunk) {
      auto it = before.find(n.Spec());
      if (it == before.end()) {
        diff.set.push_back(&n);
        continue;
      }
      if (!SameServedNode(n, *it->second)) diff.set.push_back(&n);
      before.erase(it);
    }
  }
  diff.removed.reserve(before.size());
  for (auto& [spec, node] : before) diff.removed.push_back(spec);
  std::sort(diff.removed.begin(), diff.removed.end());  // a reply reads the same every time
  return diff;
}

Status ApplyClusterDelta(const Cluster& held, const Cluster& fields,
                         const std::vector<std::string>& removed, Cluster* out) {
  std::unordered_map<std::string, size_t> position;
  position.reserve(held.nodes.size());
  size_t pos = 0;
  for (const Node& n : held.nodes) position.emplace(n.Spec(), pos++);

  std::unordered_set<std::string> touched;
  std::vector<size_t> drop;
  drop.reserve(removed.size());
  for (const std::string& spec : removed) {
    if (!touched.insert(spec).second) {
      return Status::InvalidArgument("removed: " + spec + " is listed twice");
    }
    auto it = position.find(spec);
    if (it == position.end()) return Status::InvalidArgument("removed: " + spec + " is not held");
    drop.push_back(it->second);
  }

  NodeList nodes = held.nodes;  // shares every chunk; a replaced node copies its own
  std::vector<Node> appended;
  for (const Node& n : fields.nodes) {
    std::string spec = n.Spec();
    if (!touched.insert(spec).second) {
      return Status::InvalidArgument("nodes: " + spec + " is set twice, or set and removed");
    }
    auto it = position.find(spec);
    if (it == position.end()) {
      appended.push_back(n);
    } else {
      nodes.Mutable(it->second) = n;
    }
  }
  std::sort(drop.begin(), drop.end());
  nodes.RemoveSorted(drop);
  for (Node& n : appended) nodes.push_back(std::move(n));

  Cluster result = fields;
  result.nodes = std::move(nodes);
  *out = std::move(result);
  return Status::Ok();
}

}  // namespace jcm
