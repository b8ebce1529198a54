// ClusterRegistry: this instance's in-memory view of every cluster, the
// definitions read from (or written to) ZooKeeper merged with the statuses the
// checkers wrote. Reads never touch ZooKeeper.
//
// What is published per cluster is an immutable snapshot
// (std::shared_ptr<const Cluster>); a change builds a new one and swaps it.
// A new definition is merged with the statuses in place, outside the lock,
// and is then both the definition writers start from and what is served:
// one object per version, no copy (statuses are not part of the stored
// form, so a writer's base may carry them). A status change copies the
// definition once, also outside the lock. Either is redone in the rare case
// that the other changed the entry meanwhile.
//
// Merge rules for a node's published status:
//   cluster OFFLINE or node offline  -> INVALID (JCM: going offline sets INVALID)
//   checkType NONE                   -> NORMAL
//   otherwise                        -> the last status a checker wrote, or
//                                       INVALID for a node never checked.
// Statuses are kept when a status znode vanishes (its checker died): nothing
// may look down because a checker did.
//
// Ordering by zxid: reads of ZooKeeper (listings, loads, watch-driven
// reloads) can be answered out of order with the leader's own writes, so
// every change carries the zxid it is true at. A definition is applied only
// if newer than the one held (mzxid) and than the last known absence (a
// tombstone: the zxid at which the cluster was seen not to exist); an
// absence removes a definition only if that incarnation was created (czxid)
// at or before it. So a stale load cannot bring a deleted cluster back and
// a stale listing cannot drop a just-created one.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/cluster.h"

namespace jcm {

struct SpecIndex;  // server/cluster_edit.h

struct NodeState {
  NodeStatus status = NodeStatus::kInvalid;
  int64_t last_check_ms = 0;
};
using StatusMap = std::unordered_map<std::string, NodeState>;  // spec -> state

class ClusterRegistry {
 public:
  explicit ClusterRegistry(double panic_share = 0.5) : panic_share_(panic_share) {}

  // Clusters defined now and their nodes in total (O(1): kept as
  // definitions come and go), for --max-clusters / --max-nodes.
  struct Totals {
    size_t clusters = 0;
    size_t nodes = 0;
  };
  Totals totals() const;

  // The mark of a node of a cluster (Node::not_checked: why the check-target
  // policy will not probe it; empty when it may). A pure function of the
  // node and the cluster's check type. ApplyDefinition marks every node of
  // a definition before it is held, reusing the marks of chunks an earlier
  // version shared (see MergedChunks).
  // REQUIRES: set before the first ApplyDefinition; not changed after.
  using NodeMarker = std::function<std::string(const Cluster&, const Node&)>;
  void SetNodeMarker(NodeMarker marker) { marker_ = std::move(marker); }

  std::shared_ptr<const Cluster> Get(const std::string& name) const;
  std::vector<std::shared_ptr<const Cluster>> List() const;  // sorted by name
  std::vector<std::string> Names() const;
  // The znode version to write against, if the cluster is known.
  std::optional<int32_t> ZnodeVersion(const std::string& name) const;

  // What a writer needs, read under one lock so the two belong together.
  struct WriteBase {
    std::shared_ptr<const Cluster> definition;  // nullptr: not known
    int32_t znode_version = 0;
    int64_t czxid = 0;
    std::shared_ptr<const SpecIndex> index;  // of definition's nodes, or null
  };
  WriteBase ForWrite(const std::string& name) const;
  // Hands the spec index held with `definition` over to the caller, who
  // will make the next version from it: the entry keeps none, so the
  // caller's edit holds the only reference and takes the table instead of
  // copying it (~1 MB at 20,000 nodes). Null if `definition` is no longer
  // the held one, or its index was taken already; the next version's
  // ApplyDefinition brings one back.
  std::shared_ptr<const SpecIndex> TakeIndex(const std::string& name, const Cluster* definition);
  // Gives back an index taken for `definition` whose nodes the taker did
  // not change after all (every mutation of its batch failed); dropped if
  // `definition` is no longer the held one.
  void ReturnIndex(const std::string& name, const Cluster* definition,
                   std::shared_ptr<const SpecIndex> index);

  // Applies a definition at `def.version` (an mzxid) of the znode incarnation
  // created at `czxid`. Returns false (and changes nothing) if an equal or
  // newer version is held already, or the cluster is known to have been
  // deleted at or after `def.version`.
  // `index` (optional): the spec index of def.nodes, kept for the next write
  // (ClusterEdit::TakeIndex of the edit that made `def`).
  bool ApplyDefinition(Cluster def, int32_t znode_version, int64_t czxid = 0,
                       std::shared_ptr<const SpecIndex> index = nullptr);
  // The cluster was seen absent at zxid `as_of` (every incarnation created at
  // or before it is gone). Forgets the held definition unless it was created
  // after `as_of`. Returns true if a definition was removed.
  bool ApplyRemoval(const std::string& name, int64_t as_of);
  // True if what is held is at least as new as a write acknowledged at
  // `version`: for a write, the definition at that version or newer, or a
  // later deletion; for a deletion (`deleted`), the absence at or after it,
  // or an incarnation created after it. A deletion with version 0 (zxid
  // unknown) holds when no definition is held.
  bool Holds(const std::string& name, int64_t version, bool deleted) const;
  // Blocks until Holds(name, version, deleted) or timeout. Returns Holds().
  bool WaitForVersion(const std::string& name, int64_t version, bool deleted,
                      std::chrono::milliseconds timeout) const;
  // Replaces a cluster's statuses with those written at `status_version` (the
  // status znode's mzxid); older writes are ignored. Statuses of clusters not
  // (yet) known are held and merged when the definition arrives.
  bool ApplyStatuses(const std::string& name, StatusMap statuses, int64_t status_version);

  // Called with a cluster's name after each published change, outside mu_.
  // Once SetChangeListener returns, the previous listener is not running and
  // will not be called again.
  void SetChangeListener(std::function<void(const std::string&)> listener) {
    std::lock_guard lock(listener_mu_);
    listener_ = std::move(listener);
  }

  // Bumped on every published change.
  uint64_t change_counter() const;
  // Blocks until change_counter() != seen or timeout. Returns the counter.
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  // Blocks until pred(Get(name)) holds or timeout. Returns whether it held.
  bool WaitFor(const std::string& name,
               const std::function<bool(const std::shared_ptr<const Cluster>&)>& pred,
               std::chrono::milliseconds timeout) const;

 private:
  // What the last merge made of each chunk of a cluster's nodes, so that
  // the next version's merge skips the chunks it shares with that one (all
  // a write did not touch): O(chunks) per version instead of O(nodes). A
  // chunk's result depends only on its nodes (the same chunk object; kept
  // alive here, so its address is not reused), the statuses (the same map
  // object, kept too), and the cluster's online flag and check type. Every
  // result is marked (NodeMarker): ApplyDefinition marks what it merges,
  // and ApplyStatuses merges held definitions, marked already. A result
  // is listed as its own input too: the next version shares it.
  struct MergedChunks {
    std::shared_ptr<const StatusMap> statuses;
    int64_t status_version = 0;
    bool cluster_online = true;
    CheckType check_type = CheckType::kHttp;
    struct Item {
      std::shared_ptr<NodeChunk> from;  // the chunk given to the merge
      std::shared_ptr<NodeChunk> to;    // what it became (often the same)
      uint32_t online = 0;              // its nodes counted for panic
      uint32_t normal = 0;
    };
    std::vector<Item> items;  // sorted by from.get()
  };

  struct Entry {
    std::shared_ptr<const Cluster> definition;  // nullptr: statuses only
    std::shared_ptr<const SpecIndex> index;     // of definition's nodes, or null
    int32_t znode_version = 0;
    int64_t czxid = 0;
    int64_t absent_as_of = 0;  // tombstone: 0 = never seen deleted
    std::shared_ptr<const StatusMap> statuses = std::make_shared<const StatusMap>();
    int64_t status_version = 0;
    // The definition merged with `statuses` (the definition itself when it
    // came after them).
    std::shared_ptr<const Cluster> published;
    std::shared_ptr<const MergedChunks> merged_chunks;  // of the last merge, or null
  };

  // Sets every node's published status in `c` from `statuses` (the merge
  // rules above), its mark if `mark`, and the cluster's panic flag; no lock
  // needed. A chunk that `previous` (may be null) merged under the same
  // statuses takes that result as it is; every other chunk is read, and
  // copied only if a node in it changes. Returns what this merge made of
  // each chunk.
  std::shared_ptr<const MergedChunks> MergeStatuses(
      const std::shared_ptr<const StatusMap>& statuses, int64_t status_version,
      const MergedChunks* previous, bool mark, Cluster* c) const;
  // REQUIRES: mu_ held.
  void Publish(const std::string& name, Entry& entry, std::shared_ptr<const Cluster> published);
  // Wakes the WaitForVersion callers on `name` whose wait now holds, and
  // the waiters on cv_. REQUIRES: mu_ held.
  void WakeWaiters(const std::string& name);
  bool HoldsLocked(const std::string& name, int64_t version, bool deleted) const;
  // REQUIRES: mu_ not held.
  void Notify(const std::string& name) const {
    std::lock_guard lock(listener_mu_);
    if (listener_) listener_(name);
  }

  const double panic_share_;
  NodeMarker marker_;  // fixed before use
  mutable std::mutex mu_;
  // WaitForChange and WaitFor: woken on every change.
  mutable std::condition_variable cv_;
  // A WaitForVersion caller, woken only once what it waits for holds. A
  // follower taking writes has one waiter per forwarded write in flight,
  // and each version satisfies only its own batch's: woken on every
  // change, all of them took mu_ in turn for each version (32 workers,
  // ~300 versions/s), against the writes they wait for.
  struct VersionWaiter {
    int64_t version;
    bool deleted;
    std::condition_variable cv;
  };
  // (std::multimap: an erase by iterator stays valid while others come and go.)
  mutable std::multimap<std::string, VersionWaiter*> version_waiters_;  // GUARDED_BY(mu_)
  std::map<std::string, Entry> entries_;                                // GUARDED_BY(mu_)
  uint64_t change_counter_ = 0;                                         // GUARDED_BY(mu_)
  Totals totals_;                                                       // GUARDED_BY(mu_)
  mutable std::mutex listener_mu_;                    // held while the listener runs
  std::function<void(const std::string&)> listener_;  // GUARDED_BY(listener_mu_)
};

}  // namespace jcm
