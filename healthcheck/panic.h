// Panic threshold: when fewer than `share` of a cluster's online nodes are
// NORMAL, the checker itself is the likelier culprit (a network failure on the
// checker's side looks exactly like most nodes failing at once), so clients
// are told to fall back to all online nodes rather than pile onto the few
// left.
//
// Thread-safety: pure functions.
#pragma once

#include "model/cluster.h"

namespace jcm {

inline constexpr double kDefaultPanicShare = 0.5;

// True iff the cluster has at least one online node and fewer than `share`
// (0..1) of its online nodes are NORMAL. A cluster with no online node is
// never in panic: there is nothing to fall back to. share <= 0 disables it.
bool InPanic(const Cluster& cluster, double share = kDefaultPanicShare);

}  // namespace jcm
