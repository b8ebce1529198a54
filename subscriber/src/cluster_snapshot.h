// ClusterSnapshot: everything a pick needs for one cluster, computed once
// when the poller learns something new and never changed afterwards.
//
// Per protocol (any, HTTP, TCP) a view lists the candidate endpoints, the
// smooth-WRR cycle over them and (built on first use) the Maglev table, so
// a pick is a couple of array reads. Candidates are the ONLINE, NORMAL
// nodes with the protocol; in panic (the server flagged the cluster, or no
// such node exists) all ONLINE nodes with the protocol, and the view says so.
//
// Thread-safety: immutable after Build(); shared between threads as
// std::shared_ptr<const ClusterSnapshot>.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "jcm/endpoint.h"
#include "jcm/subscriber.h"
#include "model/cluster.h"

namespace jcm::internal {

class ProtocolView {
 public:
  ProtocolView() = default;
  // Candidates `nodes` (positions in cluster->nodes) and their endpoints.
  ProtocolView(std::shared_ptr<const Cluster> cluster, bool panic, std::vector<uint32_t> nodes,
               std::vector<Endpoint> endpoints);
  ProtocolView(const ProtocolView&) = delete;
  ProtocolView& operator=(const ProtocolView&) = delete;

  bool panic = false;
  std::vector<Endpoint> endpoints;  // candidates, in the cluster's node order
  std::vector<uint32_t> wrr;        // one smooth-WRR cycle, indices into endpoints

  // The Maglev table (indices into endpoints), built by the first caller.
  //
  // Why lazily: the table has ~20 slots per candidate (524,287 for 20,000
  // nodes), and building the tables was most of building a snapshot
  // (59-124 ms against 6-47 ms without them at 20,000 nodes,
  // jcm-bench-version-apply),
  // for every version, though only consistent-hash picks read them.
  //
  // Memory order: the builder fills `maglev_table_` under `build_mu_`,
  // then sets `maglev_built_` with a release store; a reader whose acquire
  // load sees it set therefore sees the filled table. The table is never
  // changed after that, and a view lives as long as any reader holds its
  // snapshot. Readers that find it unset take the mutex, and the first
  // one builds it; the rest find it built.
  const std::vector<uint32_t>& maglev() const {
    return maglev_built_.load(std::memory_order_acquire) ? maglev_table_ : BuildMaglev();
  }
  // Whether maglev() has been built (tests).
  bool has_maglev() const { return maglev_built_.load(std::memory_order_acquire); }

 private:
  const std::vector<uint32_t>& BuildMaglev() const;

  std::shared_ptr<const Cluster> cluster_;  // the snapshot's: holds the candidates' specs
  std::vector<uint32_t> nodes_;             // candidates, positions in cluster_->nodes
  mutable std::mutex build_mu_;
  mutable std::vector<uint32_t> maglev_table_;  // written once, under build_mu_
  mutable std::atomic<bool> maglev_built_{false};
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
