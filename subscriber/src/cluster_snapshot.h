// ClusterSnapshot: everything a pick needs for one cluster, computed once
// when the poller learns something new and never changed afterwards.
//
// Per protocol (any, HTTP, TCP) a view lists the candidate endpoints, the
// smooth-WRR cycle over them and the Maglev table, so a pick is a couple of
// array reads. Candidates are the ONLINE, NORMAL nodes with the protocol; in
// panic (the server flagged the cluster, or no such node exists) all ONLINE
// nodes with the protocol, and the view says so.
//
// Thread-safety: immutable after Build(); shared between threads as
// std::shared_ptr<const ClusterSnapshot>.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "jcm/endpoint.h"
#include "jcm/subscriber.h"
#include "model/cluster.h"

namespace jcm::internal {

struct ProtocolView {
  bool panic = false;
  std::vector<Endpoint> endpoints;  // candidates, in the cluster's node order
  std::vector<uint32_t> wrr;        // one smooth-WRR cycle, indices into endpoints
  std::vector<uint32_t> maglev;     // Maglev table, indices into endpoints
};

class ClusterSnapshot {
 public:
  using Source = ClusterInfo::Source;

  // `cluster` null or `source` kNone: a snapshot with nothing to pick.
  static std::shared_ptr<const ClusterSnapshot> Build(std::shared_ptr<const Cluster> cluster,
                                                      Source source);
  static std::shared_ptr<const ClusterSnapshot> Empty();

  // Null when nothing is held.
  const Cluster* cluster() const { return cluster_.get(); }
  const std::shared_ptr<const Cluster>& shared_cluster() const { return cluster_; }
  Source source() const { return source_; }
  const ProtocolView& view(Protocol protocol) const {
    return *views_[static_cast<size_t>(protocol)];
  }

 private:
  ClusterSnapshot() = default;

  std::shared_ptr<const Cluster> cluster_;
  Source source_ = Source::kNone;
  std::array<std::shared_ptr<const ProtocolView>, 3> views_;
};

// Public, model-free copy of a snapshot for Subscriber::GetCluster().
ClusterInfo DescribeSnapshot(const std::string& name, const ClusterSnapshot& snapshot);

}  // namespace jcm::internal
