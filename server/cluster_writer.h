// ClusterWriter: the leader's write path. It applies mutations of cluster
// definitions and stores them in ZooKeeper through ClusterStore (over the
// ZkApi seam), publishing each stored version in the ClusterRegistry.
//
// Under the cluster's own mutex, take the current definition and its znode
// version from one registry snapshot, apply the change to a copy, and store
// it with a fenced, version-conditional multi(). On Conflict (someone wrote
// first, or our view was stale) re-read through Fencing::reload and try
// again; never overwrite. Reply only after ZooKeeper acknowledged, with the
// new mzxid as version.
//
// Group commit: mutations of one cluster that arrive while a write of it is
// in flight queue up, and the next write carries all of them (each applied
// in arrival order, each answered on its own). A cluster is one znode, so
// without this every node registration would rewrite the whole cluster once.
//
// A mutation that cannot apply (refused, invalid, or making the cluster too
// large for its znode) fails alone; the rest of its batch is written. A
// replacement (PutCluster) always starts a new batch, so no earlier caller's
// ack names a version that a later replacement wiped out. An exception in a
// batch fails that batch only; the queue goes on.
//
// Fencing: only a failed fence of the current registration demotes
// (Fencing::on_fence_lost decides); a batch that took its fence before a
// session change retries under the new one, or fails, without touching
// leadership.
//
// Thread-safety: all public methods are thread-safe. Any number of threads
// may write; per cluster one of them at a time is the writer of a batch.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/name_service.h"
#include "model/cluster.h"
#include "model/status.h"
#include "server/cluster_edit.h"
#include "server/cluster_registry.h"
#include "storage/cluster_store.h"

namespace jcm {

class ClusterWriter {
 public:
  // What the writer needs from leadership and the read path.
  struct Fencing {
    // OK with the fence to write under, or why this instance may not write.
    std::function<Status(std::string* fence)> check_writable;
    // The fence of the current registration (it changes with the session).
    std::function<std::string()> current_fence;
    // A store failed because `fence` is gone.
    std::function<void(const std::string& fence)> on_fence_lost;
    // Re-reads one cluster from ZooKeeper into the registry (after a Conflict).
    std::function<Status(const std::string& name)> reload;
  };
  struct Options {
    int max_write_attempts = 8;
    size_t max_batch = 512;
  };
  struct Stats {
    uint64_t ok = 0;         // mutations acknowledged
    uint64_t batches = 0;    // stores attempted (one per batch)
    uint64_t mutations = 0;  // mutations carried by those batches
    uint64_t conflicts = 0;
    uint64_t failed = 0;
  };
  // Edits the batch's copy of the current definition through a ClusterEdit
  // (one spec index per batch); returns non-OK to refuse, and then must have
  // left the cluster unchanged (it shares a batch).
  using Mutation = std::function<Status(ClusterEdit*)>;

  ClusterWriter(ClusterStore* store, ClusterRegistry* registry, Fencing fencing, Options options);
  ~ClusterWriter();
  ClusterWriter(const ClusterWriter&) = delete;
  ClusterWriter& operator=(const ClusterWriter&) = delete;

  // Test seam: runs in a batch after the base was read, before the store.
  // Set before the first write.
  void SetBeforeSave(std::function<void(const std::string& name)> hook) {
    before_save_ = std::move(hook);
  }
  // Called with the seconds of each ZooKeeper store of a batch (each
  // attempt, stored or refused), on the writing thread: it must be cheap,
  // thread-safe and do no I/O. Set before the first write.
  void SetStoreObserver(std::function<void(double seconds)> observer) {
    store_observer_ = std::move(observer);
  }

  Result<WriteAck> PutCluster(const Cluster& cluster);
  Result<WriteAck> DeleteCluster(const std::string& name);
  Result<WriteAck> SetClusterOnline(const std::string& name, bool online);
  Result<WriteAck> AddNodes(const std::string& name, const std::vector<Node>& nodes);
  Result<WriteAck> RemoveNodes(const std::string& name, const std::vector<std::string>& specs);
  Result<WriteAck> SetNodeOnline(const std::string& name, const std::string& spec, bool online);
  // Removes `remove`, then adds `add`, as one mutation: all or nothing
  // (NameService::ChangeNodes). Replayed as a removal and an addition.
  Result<WriteAck> ChangeNodes(const std::string& name, const std::vector<std::string>& remove,
                               const std::vector<Node>& add);
  // The general form: `fn` runs on a copy of the definition (or on a new
  // cluster named `name` when absent and `create_if_missing`). `replaces`:
  // `fn` replaces the whole definition (starts its own batch).
  // `ops` (optional): what `fn` does, in a form a follower can replay (in
  // order); a write whose every applied mutation has them acks with a
  // WriteDelta. Empty: not replayable.
  Result<WriteAck> Mutate(const std::string& name, bool create_if_missing, bool replaces,
                          const Mutation& fn, std::span<const AppliedOp> ops = {});
  // Applies `op` as the leader does (the follower's replay uses the same).
  static Status ApplyOp(const AppliedOp& op, ClusterEdit* e);

  // Per-cluster write state entries held now (0 when no write is running).
  size_t PerNameStateCount() const;
  // Mutations of `name` waiting for the running batch.
  size_t QueuedWrites(const std::string& name) const;
  Stats stats() const;

 private:
  struct PendingWrite;
  struct NameState;
  class NameRef;

  // Runs one batch of queued mutations as one write. REQUIRES: called by
  // the queue's single active writer.
  void WriteBatch(NameState* state, const std::string& name,
                  const std::vector<PendingWrite*>& batch);
  // Applies the batch to `next` (the base, or a new cluster when !exists),
  // recording each mutation's outcome. With `isolate`, each applied
  // mutation must leave a storable cluster or is undone and fails alone.
  // Returns whether any applied; `valid`: whether what the batch touched is
  // valid (without `isolate`); `changes` (null when not known, as with
  // `isolate`): what the batch changed, so the store sets only that.
  // `index`: in, the spec index of `next`'s nodes (or null); out, that of
  // the result (null when not known).
  bool ApplyBatch(const std::string& name, const std::vector<PendingWrite*>& batch, bool exists,
                  bool isolate, Cluster* next, std::vector<Status>* outcomes, Status* valid,
                  std::unique_ptr<ClusterChanges>* changes,
                  std::shared_ptr<const SpecIndex>* index) const;
  // After a NotLeader store: true (with the fence to use) when the failed
  // fence was of an earlier registration and the current one may write.
  bool RetryUnderCurrentFence(std::string* fence);
  // A mutation of the kind a follower can replay.
  Result<WriteAck> Run(const std::string& name, AppliedOp op);
  // The replayable form of a stored batch, or null (a creation, or a
  // mutation without an AppliedOp, e.g. a replacement).
  static std::shared_ptr<const WriteDelta> DeltaOf(const std::vector<PendingWrite*>& batch,
                                                   const std::vector<Status>& outcomes,
                                                   int64_t base_version, int32_t znode_version);
  NameRef AcquireName(const std::string& name);
  void ReleaseName(const std::string& name);

  ClusterStore* const store_;
  ClusterRegistry* const registry_;
  const Fencing fencing_;
  const Options options_;
  std::function<void(const std::string&)> before_save_;
  std::function<void(double)> store_observer_;

  // Write state per cluster name, only while some write of it runs: an
  // entry is erased when its last user leaves, so names written once (or
  // never existing) cost nothing afterwards.
  mutable std::mutex names_mu_;
  std::unordered_map<std::string, std::shared_ptr<NameState>> names_;  // GUARDED_BY(names_mu_)

  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> batched_mutations_{0};
  std::atomic<uint64_t> writes_ok_{0};
  std::atomic<uint64_t> write_conflicts_{0};
  std::atomic<uint64_t> writes_failed_{0};
};

}  // namespace jcm
