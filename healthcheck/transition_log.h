// TransitionLog: the last status transitions of every node this instance
// checks -- when, from, to, and why (the check outcome that decided it, an
// admin switch, or a down verdict held back by the per-cluster cap) -- for
// operators asking "why did this node go down at 03:12?".
//
// Bounded: at most kPerNode entries per node (oldest dropped first); a node
// or cluster the checker stops checking is forgotten with its entries.
//
// Thread-safety: all methods are thread-safe (one mutex). The checker thread
// records; API threads read. Recording happens on transitions only, which
// are rare next to checks, so the lock is never hot.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "model/cluster.h"

namespace jcm {

struct Transition {
  int64_t at_ms = 0;  // wall clock
  NodeStatus from = NodeStatus::kInvalid;
  NodeStatus to = NodeStatus::kInvalid;
  // "success", "bad-answer" (HTTP code, refused, reset), "no-answer"
  // (timeout), "offline", or "held" (a down verdict over the cluster's cap:
  // from = to = NORMAL, the node stays published NORMAL).
  std::string reason;
};

class TransitionLog {
 public:
  static constexpr size_t kPerNode = 16;

  void Record(const std::string& cluster, const std::string& spec, Transition t);
  void ForgetCluster(const std::string& cluster);
  void ForgetNode(const std::string& cluster, const std::string& spec);

  // {"cluster": name, "nodes": {spec: [{"at", "from", "to", "reason"}, ...
  // oldest first]}}; "nodes" is empty for a cluster with no transitions
  // recorded here.
  nlohmann::json Json(const std::string& cluster) const;
  // {"clusters", "nodes", "entries", "recorded", "held"}: the size of the
  // log and how many transitions (and held verdicts) it has seen in all.
  nlohmann::json Summary() const;

 private:
  mutable std::mutex mu_;
  // cluster -> spec -> transitions, oldest first. GUARDED_BY(mu_)
  std::unordered_map<std::string, std::map<std::string, std::deque<Transition>>> log_;
  size_t entries_ = 0;     // GUARDED_BY(mu_)
  uint64_t recorded_ = 0;  // GUARDED_BY(mu_)
  uint64_t held_ = 0;      // GUARDED_BY(mu_)
};

}  // namespace jcm
