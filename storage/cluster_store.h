// ClusterStore: cluster definitions in ZooKeeper under <root>/clusters/<name>.
//
// A stored cluster is its definition only (ClusterJsonForm::kStored), in one
// of two forms:
// - inline (every cluster whose nodes' JSON is at most
//   ClusterBuckets::kBucketAbove, and everything older jcm wrote): the
//   cluster znode holds the whole document, plain JSON while small, a zlib
//   stream once large;
// - bucketed (larger clusters): the cluster znode holds a header (the
//   cluster's own fields, the bucket count B, a generation and each
//   bucket's expected znode version) and the nodes live in B child znodes
//   <name>/<generation>-<i> by the hash of their spec (ClusterBuckets). A
//   write sets the header and only the buckets whose nodes changed, so its
//   cost does not grow with the cluster; a reader re-reads only the buckets
//   whose version in the header changed, and a reader exactly one write
//   behind none: the header says what that write changed
//   (ClusterBuckets::Delta), and the reader applies it to the buckets it
//   holds as the writer did (BucketEdit).
// Either way the version is the cluster znode's mzxid (every write sets it),
// so every instance sees the same version for the same write and the
// version only grows, and only the cluster znode is watched.
//
// Writes are fenced: each one is a multi() that also checks the writer's own
// election znode, so a leader whose session ended can never write, and it is
// conditional on the znode version the writer read (and each bucket on its
// own), so nobody overwrites a write they have not seen (Conflict: re-read
// and retry). A full rewrite of a bucketed cluster (its creation, a
// replacement, a change of B or of form, the migration of an inline cluster
// grown past the line) writes a new generation of buckets first, in multis
// under ZooKeeper's request limit, invisible until the header names them,
// then switches the header and deletes the old generation. Buckets of a
// rewrite that never switched (its leader died) are deleted by the next
// full rewrite, or the first write of the cluster by a new leader.
//
// Reading never trusts the bytes: Decode() returns a Status for anything
// (non-JSON, numbers beyond a double, deep nesting, a zlib bomb) and Load()
// reports an unreadable znode (or bucket) as IsUnreadable(), logged once
// per version.
//
// Decoding keeps, per cluster, what it decoded last: the inline form's nodes
// by their JSON text (StoredClusterCodec::FragmentCache), or the bucketed
// form's buckets by version (ClusterBucketState), so a new version costs a
// parse of its changed nodes or buckets only.
//
// Thread-safety: thread-safe. Each cluster's decode and write state is
// guarded by that cluster's own mutex (held across its ZooKeeper calls, so
// a load and a write of one cluster take turns); the map of them by
// cache_mu_; BadZnodeLog is thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"
#include "storage/bad_znode_log.h"
#include "storage/cluster_bucket_state.h"
#include "storage/cluster_buckets.h"
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

// What one write changed relative to the definition it started from, so
// Save() of a bucketed cluster finds the buckets to set without comparing
// every node. Positions are into the cluster given to Save().
struct ClusterChanges {
  std::vector<size_t> touched;       // nodes added or changed (their spec unchanged)
  std::vector<std::string> removed;  // specs of nodes removed
};

class ClusterStore {
 public:
  // Stored payloads above this are compressed.
  static constexpr size_t kCompressAbove = 16 * 1024;
  // One multi() of a bucketed write carries at most about this many bytes:
  // ZooKeeper drops a request of jute.maxbuffer (1 MiB) or more.
  static constexpr size_t kMaxMultiBytes = 512 * 1024;

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

  // The inline form. TooLarge when the encoded cluster would not fit in a
  // znode.
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
  // would only drop it. Nor, with `held_version` > 0, is the version this
  // store last wrote (its writer publishes it).
  Result<StoredCluster> Load(const std::string& name, bool watch, int64_t held_version = 0);
  // Loads many clusters with pipelined reads (see ZkClient::GetMany); one
  // result per name, in order.
  std::vector<LoadResult> LoadMany(const std::vector<std::string>& names, bool watch);
  // The pzxid of <root>/clusters: every child created or deleted up to now
  // has a zxid <= it.
  Result<int64_t> ClustersDirPzxid();
  // NotFound when the cluster does not exist: no znode (with `watch`, a
  // kCreated event arrives on its creation), or the placeholder of a
  // creation still being written (with `watch`, its completion is a
  // kDataChanged event).
  Status Exists(const std::string& name, bool watch);
  static bool IsUnreadable(const Status& status);
  // Nodes in the decode cache of `name` (either form; for tests).
  size_t CachedNodes(const std::string& name) const;
  // Versions of unreadable cluster znodes seen so far.
  uint64_t unreadable_seen() const { return bad_log_.reported(); }
  // Bucketed headers brought in by their delta (no bucket read); headers
  // with a delta this store was not exactly one write behind for; deltas
  // that disagreed with their header (never expected: logged).
  uint64_t header_deltas_applied() const { return header_deltas_applied_.load(); }
  uint64_t header_deltas_missed() const { return header_deltas_missed_.load(); }
  // Of those applied, how many were two writes at once (the header's
  // "previous" and "delta").
  uint64_t header_deltas_applied_two() const { return header_deltas_applied_two_.load(); }
  uint64_t header_deltas_refused() const { return header_deltas_refused_.load(); }

  // Creates the cluster (expected_znode_version < 0) or replaces it at
  // exactly that znode version, in one multi() with a check of `fence`.
  // Errors: Conflict (it changed, or exists/is gone), NotLeader (`fence` is
  // gone: this session no longer leads), TooLarge, Unavailable.
  // `cluster` is taken by value so a writer can move it in (no O(size) copy).
  // `changes` (optional) says what changed since the definition at
  // `expected_znode_version`; without it a bucketed cluster's nodes are
  // compared bucket by bucket with what is stored.
  Result<StoredCluster> Save(Cluster cluster, int32_t expected_znode_version,
                             const std::string& fence, const ClusterChanges* changes = nullptr);
  // Deletes the cluster; returns the zxid of the deletion (the same multi
  // touches <root>/clusters' data, whose Stat carries that zxid, because
  // ZooKeeper returns no Stat for a delete).
  Result<int64_t> Remove(const std::string& name, int32_t expected_znode_version,
                         const std::string& fence);

 private:
  // One cluster's decode and write state.
  struct Entry {
    // Recursive: a test's fault hook inside a write's multi() may read the
    // same cluster through the same store (another writer's view).
    std::recursive_mutex mu;
    StoredClusterCodec::FragmentCache fragments;  // GUARDED_BY(mu); inline form
    ClusterBucketState buckets;                   // GUARDED_BY(mu)
  };
  std::shared_ptr<Entry> EntryFor(const std::string& name);
  void DropCache(const std::string& name);

  // Decodes a cluster znode read as `path` for cluster `name`; an unreadable
  // one is logged once per mzxid and reported as IsUnreadable(). A header
  // reads the buckets it names (and re-reads itself if a write raced).
  Result<StoredCluster> DecodeLoaded(const std::string& name, const std::string& path,
                                     std::string bytes, const ZkStat& stat, bool watch,
                                     int64_t held_version);
  Result<StoredCluster> DecodeInline(const std::string& name, const std::string& path,
                                     std::string_view bytes, const ZkStat& stat, Entry* entry);
  Result<StoredCluster> LoadBucketed(const std::string& name, const std::string& path,
                                     std::string bytes, ZkStat stat, bool watch,
                                     int64_t held_version, Entry* entry);
  // The IsUnreadable() status for `path` at `stat.mzxid`, logged the first time.
  Status Unreadable(const std::string& path, const ZkStat& stat, size_t bytes, const Status& why);
  static Status DecodeUnchecked(std::string_view bytes, StoredClusterCodec::FragmentCache* cache,
                                Cluster* out);
  // Brings `st` from the header before `h` (read at `stat`) to `h` by h's
  // delta, with no read. False, `st` unchanged, when there is no delta,
  // `st` is not exactly at its base, or the result is not what `h` says.
  bool ApplyHeaderDelta(const ClusterBuckets::Header& h, const ZkStat& stat,
                        ClusterBucketState* st);
  // For a version its caller holds already: steps the cluster's buckets to
  // the header `bytes` by its delta if they are one write behind.
  void StepHeldBuckets(const std::string& name, std::string_view bytes, const ZkStat& stat);
  // Brings `st` to the header `h` read at `stat`: applies its delta, or
  // reads the buckets whose version differs. Conflict when a bucket is newer than `h` says or gone
  // (a write raced the read: read the header again); otherwise what is
  // wrong with a bucket. `st` changes only on success.
  Status RefreshBuckets(const std::string& path, const ClusterBuckets::Header& h,
                        const ZkStat& stat, ClusterBucketState* st);

  // Write paths (cluster_store_buckets.cc). REQUIRES: the entry's mutex.
  Result<StoredCluster> SaveLocked(Entry* entry, Cluster cluster, int32_t expected_znode_version,
                                   const std::string& fence, const ClusterChanges* changes);
  // Makes entry->buckets describe the znode at exactly `expected`.
  Status EnsureState(const std::string& path, int32_t expected, ClusterBucketState* st);
  // Sets the whole document (`json`) in the inline form (creating it when
  // `expected` < 0), deleting `children` (old buckets).
  Result<StoredCluster> WriteInline(Cluster& cluster, std::string json, int32_t expected,
                                    const std::string& fence,
                                    const std::vector<std::string>& children,
                                    ClusterBucketState* st);
  // Writes `cluster` as a new generation of `buckets` buckets, then switches
  // the header to it (creating the cluster when `expected` < 0).
  Result<StoredCluster> RewriteBucketed(Cluster& cluster, int32_t expected, uint32_t buckets,
                                        const std::string& fence, ClusterBucketState* st);
  // Sets the buckets a write changed and the header, in one multi, into
  // `out`; or sets `rewrite` (0: inline, else a bucket count) when the write
  // must rewrite the cluster whole instead.
  Status WriteChangedBuckets(Cluster& cluster, int32_t expected, const std::string& fence,
                             const ClusterChanges* changes, ClusterBucketState* st,
                             StoredCluster* out, std::optional<uint32_t>* rewrite);
  // After a failed rewrite: deletes the buckets it `created` (and the
  // creation's placeholder at `path`), best effort.
  void Undo(const std::string& path, const std::vector<std::string>& created, bool placeholder,
            const std::string& fence);
  // Deletes children of the cluster znode that `st` does not name.
  Status SweepLeftovers(const std::string& path, const std::string& fence,
                        const ClusterBucketState& st);
  // Runs `ops` (each batch prefixed with the fence check) in multis of at
  // most kMaxMultiBytes.
  Status MultiInBatches(const std::vector<ZkOp>& ops, const std::string& fence);

  ZkApi* const zk_;
  const std::string root_;
  BadZnodeLog bad_log_;
  std::atomic<uint64_t> header_deltas_applied_{0};
  std::atomic<uint64_t> header_deltas_missed_{0};
  std::atomic<uint64_t> header_deltas_applied_two_{0};
  std::atomic<uint64_t> header_deltas_refused_{0};
  mutable std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;  // GUARDED_BY(cache_mu_)
};

}  // namespace jcm
