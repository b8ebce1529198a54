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

namespace {

// The same node (the same spec), whatever else changed.
bool SameIdentity(const Node& a, const Node& b) { return a.ip == b.ip && a.protos == b.protos; }

// The chunks of `list` that `other` does not share, in order.
std::vector<const NodeChunk*> ChunksNotIn(const NodeList& list, const NodeList& other) {
  std::unordered_set<const NodeChunk*> shared;
  shared.reserve(other.chunk_count());
  for (size_t k = 0; k < other.chunk_count(); ++k) shared.insert(&other.chunk(k));
  std::vector<const NodeChunk*> out;
  for (size_t k = 0; k < list.chunk_count(); ++k) {
    if (!shared.count(&list.chunk(k))) out.push_back(&list.chunk(k));
  }
  return out;
}

}  // namespace

ClusterDiff DiffClusters(const Cluster& base, const Cluster& next) {
  ClusterDiff diff;
  // A chunk object in both lists holds the same nodes, unchanged (chunks
  // are copied before any write): only the chunks one side has alone can
  // hold a difference.
  const std::vector<const NodeChunk*> old_chunks = ChunksNotIn(base.nodes, next.nodes);
  const std::vector<const NodeChunk*> new_chunks = ChunksNotIn(next.nodes, base.nodes);

  // The k-th unshared chunk of each side is usually the same chunk changed
  // (the same hash bucket on a follower, the same run of nodes on the
  // leader), its nodes in the same order: walk the two in step, and
  // compare specs as strings only for what the walk cannot pair (a node
  // added, removed, or moved to another chunk). Hashing every spec instead
  // cost ~5 ms per 20,000 nodes when most buckets had changed.
  std::vector<const Node*> unpaired_old, unpaired_new;
  for (size_t k = 0; k < std::max(old_chunks.size(), new_chunks.size()); ++k) {
    static const NodeChunk kNone;
    const NodeChunk& a = k < old_chunks.size() ? *old_chunks[k] : kNone;
    const NodeChunk& b = k < new_chunks.size() ? *new_chunks[k] : kNone;
    diff.nodes_read += a.size() + b.size();
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
      if (SameIdentity(a[i], b[j])) {
        if (!SameServedNode(a[i], b[j])) diff.set.push_back(&b[j]);
        ++i, ++j;
      } else if (i + 1 < a.size() && SameIdentity(a[i + 1], b[j])) {
        unpaired_old.push_back(&a[i++]);  // removed (or moved)
      } else if (j + 1 < b.size() && SameIdentity(a[i], b[j + 1])) {
        unpaired_new.push_back(&b[j++]);  // added (or moved)
      } else {
        unpaired_old.push_back(&a[i++]);
        unpaired_new.push_back(&b[j++]);
      }
    }
    for (; i < a.size(); ++i) unpaired_old.push_back(&a[i]);
    for (; j < b.size(); ++j) unpaired_new.push_back(&b[j]);
  }

  std::unordered_map<std::string, const Node*> before;  // spec -> node
  before.reserve(unpaired_old.size());
  for (const Node* n : unpaired_old) before.emplace(n->Spec(), n);
  for (const Node* n : unpaired_new) {
    auto it = before.find(n->Spec());
    if (it == before.end()) {
      diff.set.push_back(n);
      continue;
    }
    if (!SameServedNode(*n, *it->second)) diff.set.push_back(n);
    before.erase(it);
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
