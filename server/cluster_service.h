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
// ZooKeeper events are handled on ZkClient's dispatch thread: a new session
// re-registers, re-elects and reloads everything; watches keep the registry
// current between.
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
  };
  // Called on the ZooKeeper dispatch thread after every membership refresh.
  using MembershipListener = std::function<void(const MemberView&)>;

  explicit ClusterService(Options options);
  ~ClusterService() override;

  Status Start();
  // Leaves the election at once (deletes our member znode), then closes.
  void Shutdown();

  void SetMembershipListener(MembershipListener listener);
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
  struct WriteQueue;

  // Runs one batch of queued mutations as one write. REQUIRES: called by
  // the queue's single active writer.
  void WriteBatch(const std::string& name, const std::vector<PendingWrite*>& batch);
  std::shared_ptr<WriteQueue> QueueFor(const std::string& name);

  Result<WriteAck> Mutate(const std::string& name, bool create_if_missing, const Mutation& fn);
  Status CheckWritable(std::string* fence) const;
  std::shared_ptr<std::mutex> ClusterMutex(const std::string& name);
  // Re-reads one cluster from ZooKeeper into the registry.
  Status ReloadCluster(const std::string& name, bool watch);

  void OnZkEvent(const ZkEvent& ev);
  void OnConnected(bool new_session);
  void SyncClusterNames(bool reload_all);
  void RefreshMembership();

  const Options options_;
  ClusterRegistry registry_;
  std::unique_ptr<ZkClient> zk_;
  std::unique_ptr<ClusterStore> store_;
  std::unique_ptr<Membership> membership_;

  std::atomic<bool> is_leader_{false};
  std::atomic<bool> shutting_down_{false};
  mutable std::mutex view_mu_;
  MemberView view_;                         // GUARDED_BY(view_mu_)
  MembershipListener membership_listener_;  // GUARDED_BY(view_mu_)
  std::vector<std::pair<std::string, std::function<nlohmann::json()>>> sections_;
  std::function<void(bool)> status_cache_handler_;
  std::function<void(const ZkEvent&)> status_event_handler_;

  std::mutex locks_mu_;
  std::unordered_map<std::string, std::shared_ptr<std::mutex>> cluster_locks_;
  std::unordered_map<std::string, std::shared_ptr<WriteQueue>>
      write_queues_;  // GUARDED_BY(locks_mu_)
  std::atomic<uint64_t> batches_{0};

  std::atomic<uint64_t> writes_ok_{0};
  std::atomic<uint64_t> write_conflicts_{0};
  std::atomic<uint64_t> writes_failed_{0};
};

}  // namespace jcm
