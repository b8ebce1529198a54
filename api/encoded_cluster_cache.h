// EncodedClusterCache: the JSON texts of each cluster snapshot, encoded once
// and shared by every request that needs them.
//
// Why: encoding is the expensive part of a read. Measured here, a 100-node
// cluster costs ~0.5 ms to encode; a 20,000-node one ~100 ms. When a cluster
// changes, every subscriber asks for it at once; without the cache each of
// thousands of /sub requests would encode the same snapshot again.
//
// Snapshots are immutable (std::shared_ptr<const Cluster>), so a snapshot's
// identity is its pointer; the cache holds the pointer, so it cannot be
// freed and reused while cached.
//
// It also remembers, per name, the last few snapshots it encoded
// (kHistory): the versions subscribers were last sent, which a delta reply
// (RESP_DELTA) starts from. They share with the current one every chunk of
// nodes no write touched, so holding them costs about what the writes
// between them changed.
//
// Thread-safety: all methods are thread-safe. Each text of an EncodedCluster
// is built once (std::call_once); concurrent askers wait for that one build.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/name_service.h"

namespace jcm {

class EncodedCluster {
 public:
  explicit EncodedCluster(ClusterPtr cluster) : cluster_(std::move(cluster)) {}

  const ClusterPtr& cluster() const { return cluster_; }
  // EncodeCluster(kFull) / EncodeCluster(kJcm), serialised.
  const std::string& Full() const;
  const std::string& Jcm() const;
  // JSON array of the specs of nodes that are not Usable().
  const std::string& Invalids() const;

  // The members of a RESP_DELTA unit that take a subscriber holding `base`
  // (an earlier version of the same cluster) to this one:
  //   "baseVersion":V,"baseStatusVersion":S,"removed":[spec,...],"cluster":{...}
  // with the cluster in the full form holding only the nodes that are new
  // or changed (model/cluster_delta.h). Null when that would not be
  // smaller than the whole cluster (more than half the nodes changed).
  // Built once per base; the last kDeltaBases bases are remembered.
  // `nodes_read` is set to the nodes the diff read (0 when the delta was
  // built before).
  std::shared_ptr<const std::string> DeltaFrom(const ClusterPtr& base, size_t* nodes_read) const;

  static constexpr size_t kDeltaBases = 8;

 private:
  enum Text { kFullText, kJcmText, kInvalidsText, kTexts };
  const std::string& Build(Text which) const;

  const ClusterPtr cluster_;
  mutable std::once_flag once_[kTexts];
  mutable std::string text_[kTexts];

  mutable std::mutex delta_mu_;
  // (base, its delta text or null), newest last.
  mutable std::vector<std::pair<ClusterPtr, std::shared_ptr<const std::string>>>
      deltas_;  // GUARDED_BY(delta_mu_)
};

class EncodedClusterCache {
 public:
  // At most `max_entries` names are kept; past that the cache starts over
  // (names of deleted clusters would otherwise stay forever).
  explicit EncodedClusterCache(size_t max_entries = 4096) : max_entries_(max_entries) {}

  // The encodings of `cluster` (not null): the cached ones if `cluster` is
  // the snapshot cached under its name, otherwise new ones that replace them.
  std::shared_ptr<const EncodedCluster> Get(const ClusterPtr& cluster);

  // The snapshot of `name` at exactly (`version`, `status_version`) if it
  // is the current one or among the kHistory encoded before it; null
  // otherwise.
  ClusterPtr Find(const std::string& name, int64_t version, int64_t status_version) const;

  static constexpr size_t kHistory = 8;

 private:
  struct Named {
    std::shared_ptr<const EncodedCluster> current;
    std::deque<ClusterPtr> earlier;  // newest first, at most kHistory
  };
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Named> by_name_;  // GUARDED_BY(mu_)
};

}  // namespace jcm
