// ClusterDelta: what changed in a cluster's nodes between two versions, as
// a /sub delta reply carries it (docs/subscribe-protocol.md, RESP_DELTA),
// and how a subscriber applies it to the version it holds.
//
// Why: a subscriber of a 20,000-node cluster used to receive the whole
// cluster (1.3 MB of JSON) for every new version, though a write changes a
// handful of nodes. A reply that names the changed nodes is a few hundred
// bytes, costs the server a diff instead of a send, and costs the
// subscriber a merge instead of a parse.
//
// A node is "set" when it is new or when anything a subscriber sees of it
// (definition, status, last check, not-checked reason) differs; "removed"
// when its spec is gone. Node order is not part of the result: the applier
// replaces set nodes where they are and appends new ones.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

struct ClusterDiff {
  std::vector<const Node*> set;      // into `next`
  std::vector<std::string> removed;  // specs in `base` only
  // Nodes the diff had to look at: those in chunks the two versions do not
  // share. Versions made from one another share every chunk a write did not
  // touch, so this is the size of the change, not of the cluster.
  size_t nodes_read = 0;
};

// The node-level difference from `base` to `next` (any two clusters; the
// fewer chunks they share, the more it reads). Pointers in the result point
// into `next`'s nodes and live as long as `next`.
ClusterDiff DiffClusters(const Cluster& base, const Cluster& next);

// Everything a subscriber sees of a node is the same in both.
bool SameServedNode(const Node& a, const Node& b);

// The cluster `held` becomes when the delta `fields` + `removed` is applied:
// every cluster-level field (name, online, check settings, version, status
// version, panic) from `fields`; `fields.nodes` replace the held nodes with
// their spec or are appended; the `removed` specs are dropped. Shares the
// chunks of `held` that the delta does not touch.
// InvalidArgument (naming the spec) if a removed spec is not held, a spec
// is both set and removed, or a spec is set or removed twice; `out` is then
// unchanged.
Status ApplyClusterDelta(const Cluster& held, const Cluster& fields,
                         const std::vector<std::string>& removed, Cluster* out);

}  // namespace jcm
