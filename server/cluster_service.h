// ClusterService: the server's NameService. It owns the ZooKeeper session,
// keeps the ClusterRegistry in step with ZooKeeper through watches, takes part
// in leader election, and applies writes when it leads.
//
// Write path (leader only): under the cluster's own mutex, take the current
// definition from the registry, apply the change to a copy, and store it with
// a fenced, version-conditional multi(). On Conflict (someone wrote first, or
// our view was stale) re-read from ZooKeeper and try again; never overwrite.
// Reply only after ZooKeeper acknowledged, with the new mzxid as version.
//
// Group commit: mutations of one cluster that arrive while a write of it is
// in flight queue up, and the next write carries all of them (each applied
// in arrival order, each answered on its own). A cluster is one znode, so
// without this every node registration would rewrite the whole cluster once.
//
// A mutation that cannot apply (refused, invalid, or making the cluster too
// large for its znode) fails alone; the rest of its batch is written. A
// PutCluster always starts a new batch, so no earlier caller's ack names a
// version that a later replacement wiped out.
//
// Fencing: only a failed fence of the current registration demotes this
// instance; a batch that took its fence before a session change retries
// under the new one (or fails) without touching leadership.
//
// ZooKeeper events are handled on ZkClient's dispatch thread: a new session
// re-registers, reloads everything (pipelined reads), and only then
// re-elects, so a leader never acts on clusters it has not loaded; watches
// keep the registry current between.
//
// Readiness: not ready before the first complete load of a session, and
// while there has been no ZooKeeper session for longer than the session
// timeout (the view may be stale).
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/name_service.h"
#include "server/cluster_registry.h"
#include "storage/cluster_store.h"
#include "storage/membership.h"
#include "storage/zk_client.h"

namespace jcm {

class ClusterService : public NameService {
 public:
  struct Options {
    std::string zk_hosts;
    std::string zk_root = "/jcm";
    std::string self_address;  // advertised API address
    int session_timeout_ms = 6000;
    double panic_share = 0.5;
    int max_write_attempts = 8;
    // Steady-clock milliseconds; injectable for tests of readiness.
    std::function<int64_t()> now_ms;
  };
  // Seams for tests of narrow timing windows. Set before Start().
  struct TestHooks {
    // In a write batch, after the base was read and before the store call.
    std::function<void(const std::string& name)> before_save;
    // At the start of every complete (re)load of the cluster names.
    std::function<void()> before_full_load;
    // After the cluster names were listed, before the listing is applied.
    std::function<void()> after_list;
    // After one cluster was read (ReloadCluster), before it is applied.
    std::function<void(const std::string& name)> after_load;
  };
  // Called once, on the ZooKeeper dispatch thread, when this instance must
  // not run (its advertised address belongs to another live member).
  using FatalHandler = std::function<void(const Status&)>;
  // Called on the ZooKeeper dispatch thread after every membership refresh.
  using MembershipListener = std::function<void(const MemberView&)>;

  explicit ClusterService(Options options);
  ~ClusterService() override;

  Status Start();
  // Leaves the election at once (deletes our member znode), then closes.
  void Shutdown();

  void SetMembershipListener(MembershipListener listener);
  void SetFatalHandler(FatalHandler handler) { fatal_handler_ = std::move(handler); }
  void SetTestHooks(TestHooks hooks) { hooks_ = std::move(hooks); }
  Membership* membership() { return membership_.get(); }
  // Per-cluster write state entries held now (0 when no write is running).
  size_t PerNameStateCount() const;
  // Mutations of `name` waiting for the running batch (for tests).
  size_t QueuedWrites(const std::string& name) const;
  ZkClient* zk() { return zk_.get(); }
  ClusterRegistry* registry() { return &registry_; }
  const std::string& root() const { return options_.zk_root; }
  MemberView CurrentView() const;

  // NameService.
  ClusterPtr GetCluster(const std::string& name) const override;
  std::vector<ClusterPtr> ListClusters() const override;
  Result<WriteAck> PutCluster(const Cluster& cluster) override;
  Result<WriteAck> DeleteCluster(const std::string& name) override;
  Result<WriteAck> SetClusterOnline(const std::string& name, bool online) override;
  Result<WriteAck> AddNodes(const std::string& name, const std::vector<Node>& nodes) override;
  Result<WriteAck> RemoveNodes(const std::string& name,
                               const std::vector<std::string>& specs) override;
  Result<WriteAck> SetNodeOnline(const std::string& name, const std::string& spec,
                                 bool online) override;
  LeaderInfo Leader() const override;
  bool WaitUntilApplied(const WriteAck& ack, std::chrono::milliseconds timeout) const override;
  uint64_t ChangeCounter() const override;
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const override;
  void SetChangeListener(ChangeListener listener) override;
  Status Readiness() const override;
  nlohmann::json SystemStatus() const override;
  Status SetStatusWriteCache(bool enabled) override;

  // Extra /sys/status sections from other components (e.g. the checker).
  void AddStatusSection(std::string key, std::function<nlohmann::json()> producer);
  // Hook for POST /sys/nscache, set by whoever owns the status writes.
  void SetStatusCacheHandler(std::function<void(bool)> handler);
  // Events under <root>/status are passed here (set before Start()).
  void SetStatusEventHandler(std::function<void(const ZkEvent&)> handler);

 private:
  // Edits a copy of the current definition; returns non-OK to refuse, and
  // then must have left the cluster unchanged (it shares a batch).
  using Mutation = std::function<Status(Cluster*)>;
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
  // Returns whether any applied.
  bool ApplyBatch(const std::string& name, const std::vector<PendingWrite*>& batch, bool exists,
                  bool isolate, Cluster* next, std::vector<Status>* outcomes) const;
  NameRef AcquireName(const std::string& name);
  void ReleaseName(const std::string& name);

  Result<WriteAck> Mutate(const std::string& name, bool create_if_missing, bool replaces,
                          const Mutation& fn);
  Status CheckWritable(std::string* fence) const;
  // A write failed its fence check: demote only if `fence` is still ours.
  void OnFenceLost(const std::string& fence);
  // Re-reads one cluster from ZooKeeper into the registry.
  Status ReloadCluster(const std::string& name, bool watch);

  int64_t NowMs() const;
  void OnZkEvent(const ZkEvent& ev);
  void OnConnected(bool new_session);
  // Returns true when every cluster was read (a load is complete).
  bool SyncClusterNames(bool reload_all);
  void RefreshMembership();

  const Options options_;
  ClusterRegistry registry_;
  std::unique_ptr<ZkClient> zk_;
  std::unique_ptr<ClusterStore> store_;
  std::unique_ptr<Membership> membership_;

  TestHooks hooks_;
  FatalHandler fatal_handler_;
  std::atomic<bool> is_leader_{false};
  std::atomic<bool> shutting_down_{false};
  // A complete load of this session's view has finished.
  std::atomic<bool> loaded_{false};
  // When the last session was lost (NowMs()); 0 while one is held.
  std::atomic<int64_t> session_lost_at_ms_{0};
  bool address_checked_ = false;  // dispatch thread only
  mutable std::mutex view_mu_;
  MemberView view_;                         // GUARDED_BY(view_mu_)
  MembershipListener membership_listener_;  // GUARDED_BY(view_mu_)
  std::vector<std::pair<std::string, std::function<nlohmann::json()>>> sections_;
  std::function<void(bool)> status_cache_handler_;
  std::function<void(const ZkEvent&)> status_event_handler_;

  // Write state per cluster name, only while some write of it runs: an
  // entry is erased when its last user leaves, so names written once (or
  // never existing) cost nothing afterwards.
  mutable std::mutex names_mu_;
  std::unordered_map<std::string, std::shared_ptr<NameState>> names_;  // GUARDED_BY(names_mu_)
  std::atomic<uint64_t> batches_{0};

  std::atomic<uint64_t> writes_ok_{0};
  std::atomic<uint64_t> write_conflicts_{0};
  std::atomic<uint64_t> writes_failed_{0};
};

}  // namespace jcm
