// ClusterStore: cluster definitions in ZooKeeper under <root>/clusters/<name>.
//
// A stored cluster is its definition only (ClusterJsonForm::kStored): plain
// JSON while small, a zlib stream once large. Its version is the znode's
// mzxid, so every instance sees the same version for the same write and the
// version only grows.
//
// Writes are fenced: each one is a multi() that also checks the writer's own
// election znode, so a leader whose session ended can never write, and it is
// conditional on the znode version the writer read, so nobody overwrites a
// write they have not seen (Conflict: re-read and retry).
//
// Reading never trusts the bytes: Decode() returns a Status for anything
// (non-JSON, numbers beyond a double, deep nesting, a zlib bomb) and Load()
// reports an unreadable znode as IsUnreadable(), logged once per version.
//
// Decoding keeps, per cluster, the nodes of the last version it decoded by
// their JSON text (StoredClusterCodec::FragmentCache), so a new version costs
// a parse of its changed nodes only.
//
// Thread-safety: thread-safe; its state is the thread-safe BadZnodeLog and
// the decode caches (under cache_mu_; a decode takes its cluster's cache out
// and puts it back).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"
#include "storage/bad_znode_log.h"
#include "storage/stored_cluster_codec.h"
#include "storage/zk_api.h"

namespace jcm {

struct StoredCluster {
  Cluster cluster;            // cluster.version = znode mzxid
  int32_t znode_version = 0;  // for the next conditional write
  int64_t czxid = 0;          // when this incarnation of the znode was created
  // Load() found the znode not newer than the version its caller holds: the
  // definition was not decoded (`cluster` holds only name and version).
  bool not_newer = false;
};

// One answer of LoadMany(): NotFound when the znode is absent.
using LoadResult = Result<StoredCluster>;

class ClusterStore {
 public:
  // Stored payloads above this are compressed.
  static constexpr size_t kCompressAbove = 16 * 1024;

  ClusterStore(ZkApi* zk, std::string root);

  const std::string& root() const { return root_; }
  std::string ClustersDir() const { return root_ + "/clusters"; }
  std::string ClusterPath(std::string_view name) const;
  // The cluster name if `path` is <root>/clusters/<name>, else empty.
  std::string NameFromPath(std::string_view path) const;

  // Creates <root>, <root>/clusters, <root>/servers, <root>/status.
  Status EnsureLayout();
  // The directories EnsureLayout creates below the root ("/clusters", ...).
  static std::vector<std::string> LayoutDirs() { return {"/clusters", "/servers", "/status"}; }

  // TooLarge when the encoded cluster would not fit in a znode.
  static Result<std::string> Encode(const Cluster& cluster);
  // Never throws. A compressed payload inflating beyond
  // limits::kMaxInflatedClusterBytes is TooLarge; bad JSON or a bad
  // definition is InvalidArgument.
  static Status Decode(std::string_view bytes, Cluster* out);

  // The cluster names; `pzxid` (if given) gets the listing's date: a name
  // absent from it was absent at that zxid.
  Result<std::vector<std::string>> ListNames(bool watch, int64_t* pzxid = nullptr);
  // Errors: NotFound, Unavailable, or a status for which IsUnreadable() holds
  // (the znode exists but does not decode; logged once per mzxid, and the
  // watch, if asked for, is set all the same). With `held_version` > 0, a
  // znode whose mzxid is not newer is not decoded (not_newer): the decode is
  // the O(size) part of a reload, and a leader re-reading its own write
  // would only drop it.
  Result<StoredCluster> Load(const std::string& name, bool watch, int64_t held_version = 0);
  // Loads many clusters with pipelined reads (see ZkClient::GetMany); one
  // result per name, in order.
  std::vector<LoadResult> LoadMany(const std::vector<std::string>& names, bool watch);
  // The pzxid of <root>/clusters: every child created or deleted up to now
  // has a zxid <= it.
  Result<int64_t> ClustersDirPzxid();
  static bool IsUnreadable(const Status& status);
  // Nodes in the decode cache of `name` (for tests).
  size_t CachedNodes(const std::string& name) const;
  // Versions of unreadable cluster znodes seen so far.
  uint64_t unreadable_seen() const { return bad_log_.reported(); }

  // Creates the cluster (expected_znode_version < 0) or replaces it at
  // exactly that znode version, in one multi() with a check of `fence`.
  // Errors: Conflict (it changed, or exists/is gone), NotLeader (`fence` is
  // gone: this session no longer leads), TooLarge, Unavailable.
  // `cluster` is taken by value so a writer can move it in (no O(size) copy).
  Result<StoredCluster> Save(Cluster cluster, int32_t expected_znode_version,
                             const std::string& fence);
  // Deletes the cluster; returns the zxid of the deletion (the same multi
  // touches <root>/clusters' data, whose Stat carries that zxid, because
  // ZooKeeper returns no Stat for a delete).
  Result<int64_t> Remove(const std::string& name, int32_t expected_znode_version,
                         const std::string& fence);

 private:
  // Decodes a cluster znode read as `path` for cluster `name`; an unreadable
  // one is logged once per mzxid and reported as IsUnreadable().
  Result<StoredCluster> DecodeLoaded(const std::string& name, const std::string& path,
                                     std::string_view bytes, const ZkStat& stat);
  static Status DecodeUnchecked(std::string_view bytes, StoredClusterCodec::FragmentCache* cache,
                                Cluster* out);
  std::unique_ptr<StoredClusterCodec::FragmentCache> TakeCache(const std::string& name);
  void ReturnCache(const std::string& name,
                   std::unique_ptr<StoredClusterCodec::FragmentCache> cache);
  void DropCache(const std::string& name);

  ZkApi* const zk_;
  const std::string root_;
  BadZnodeLog bad_log_;
  mutable std::mutex cache_mu_;
  std::unordered_map<std::string, std::unique_ptr<StoredClusterCodec::FragmentCache>>
      caches_;  // GUARDED_BY(cache_mu_)
};

}  // namespace jcm
