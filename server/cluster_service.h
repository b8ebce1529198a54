// ClusterService: the server's NameService. It owns the ZooKeeper session,
// keeps the ClusterRegistry in step with ZooKeeper through watches, takes part
// in leader election, and applies writes when it leads.
//
// Writes (leader only) go through ClusterWriter (server/cluster_writer.h):
// group commit, conflict retry, fenced conditional stores.
//
// ZooKeeper is reached only through the ZkApi seam (storage/zk_api.h),
// built here from the options or passed in (a fake, in unit tests).
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
// ZooKeeper access: on the first session, before anything is written, the
// root's ACL is checked (and an open tree converted when the session has an
// identity, storage/zk_root_guard.h); no access is fatal (FatalHandler).
//
// Check targets and caps: PutCluster/AddNodes refuse new nodes the
// CheckTargetPolicy refuses (InvalidArgument) and writes past
// Options::max_clusters / max_nodes (TooLarge), before the writer runs; the
// registry marks stored nodes the policy refuses (Node::not_checked).
//
// Readiness: not ready before the first complete load of a session, and
// while there has been no ZooKeeper session for longer than the session
// timeout (the view may be stale).
//
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/name_service.h"
#include "server/check_target_policy.h"
#include "server/cluster_registry.h"
#include "server/cluster_writer.h"
#include "storage/cluster_store.h"
#include "storage/membership.h"
#include "storage/zk_api.h"
#include "storage/zk_client.h"

namespace jcm {

class ClusterService : public NameService {
 public:
  struct Options {
    std::string zk_hosts;
    std::string zk_root = "/jcm";
    std::string self_address;  // advertised API address
    int session_timeout_ms = 6000;
    // ZooKeeper digest credential "user:password" (ZkClient::Options::auth)
    // and whether others may read what jcm creates.
    std::string zk_auth;
    bool zk_world_read = false;
    double panic_share = 0.5;
    int max_write_attempts = 8;
    // Which nodes may be health-checked (null: the built-in refusals only).
    // New nodes it refuses are a 400; stored ones are marked not checked.
    std::shared_ptr<const CheckTargetPolicy> check_policy;
    // --max-clusters / --max-nodes: writes past them are a 413 (0: no cap).
    size_t max_clusters = 0;
    size_t max_nodes = 0;
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

  // Connects to options.zk_hosts with a ZkClient.
  explicit ClusterService(Options options);
  // Uses `zk` (e.g. a fake); options.zk_hosts is ignored.
  ClusterService(Options options, std::unique_ptr<ZkApi> zk);
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
  ZkApi* zk() { return zk_.get(); }
  ClusterWriter* writer() { return writer_.get(); }
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
  Result<WriteAck> ChangeNodes(const std::string& name, const std::vector<std::string>& remove,
                               const std::vector<Node>& add) override;
  Result<WriteAck> SetNodeOnline(const std::string& name, const std::string& spec,
                                 bool online) override;
  LeaderInfo Leader() const override;
  bool WaitUntilApplied(const WriteAck& ack, std::chrono::milliseconds timeout) const override;
  bool ApplyAck(const WriteAck& ack, std::chrono::milliseconds wait_for_base) const override;
  // Applies `ack`'s delta onto `base`, which is exactly its base version.
  // REQUIRES: the ack's stripe of ack_mu_.
  bool ApplyDeltaLocked(const WriteAck& ack, ClusterRegistry::WriteBase base) const;

  uint64_t ChangeCounter() const override;
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const override;
  void SetChangeListener(ChangeListener listener) override;
  Status Readiness() const override;
  // The status handler (HealthCoordinator) reports whether it read every
  // status znode after a (re)connection. Until it has, the instance is not
  // ready: serving definitions without their statuses would show checked
  // nodes INVALID to subscribers for a moment after every start.
  void SetStatusesLoaded(bool complete) { statuses_loaded_ = complete; }
  nlohmann::json SystemStatus() const override;
  Status SetStatusWriteCache(bool enabled) override;

  // Extra /sys/status sections from other components (e.g. the checker).
  void AddStatusSection(std::string key, std::function<nlohmann::json()> producer);
  // Hook for POST /sys/nscache, set by whoever owns the status writes.
  void SetStatusCacheHandler(std::function<void(bool)> handler);
  // Events under <root>/status are passed here (set before Start()).
  void SetStatusEventHandler(std::function<void(const ZkEvent&)> handler);

 private:
  // ApplyAck applies an ack onto a base without a spec index only up to
  // this many nodes (rebuilding the index costs about as much as the
  // store's reload of a small, inline cluster saves).
  static constexpr size_t kAckWithoutIndexUpTo = 4096;

  Status CheckWritable(std::string* fence) const;
  // The check-target policy and the caps, for a write that leaves `name`
  // with `nodes` (PutCluster) or adds `nodes` to it (AddNodes).
  Status CheckNewNodes(const std::string& name, const std::vector<Node>& nodes,
                       bool replaces) const;
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
  std::shared_ptr<const CheckTargetPolicy> policy_;
  // Mutable for ApplyAck(), a const view refresh (NameService's contract).
  mutable ClusterRegistry registry_;
  std::unique_ptr<ZkApi> zk_;
  std::unique_ptr<ClusterStore> store_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<ClusterWriter> writer_;

  TestHooks hooks_;
  FatalHandler fatal_handler_;
  std::atomic<bool> is_leader_{false};
  std::atomic<bool> shutting_down_{false};
  // A complete load of this session's view has finished.
  std::atomic<bool> loaded_{false};
  std::atomic<bool> statuses_loaded_{false};  // see SetStatusesLoaded
  bool ready_logged_ = false;                 // event thread only
  // Clusters with a data watch armed in the current session.
  void SetWatched(const std::string& name, bool watched);
  bool IsWatched(const std::string& name) const;
  mutable std::mutex watch_mu_;
  std::unordered_set<std::string> watched_;  // GUARDED_BY(watch_mu_)
  // When the last session was lost (NowMs()); 0 while one is held.
  std::atomic<int64_t> session_lost_at_ms_{0};
  bool address_checked_ = false;  // dispatch thread only
  bool root_guarded_ = false;     // dispatch thread only (ZkRootGuard ran)
  // The root's ACL checks and migration (storage/zk_root_guard.h), once per
  // process. False when this instance must not go on (fatal handler called).
  bool GuardRoot();
  mutable std::mutex view_mu_;
  MemberView view_;                         // GUARDED_BY(view_mu_)
  MembershipListener membership_listener_;  // GUARDED_BY(view_mu_)
  // Watch-driven reloads that decoded a newer definition / found nothing
  // newer than held (not decoded).
  std::atomic<uint64_t> reloads_decoded_{0};
  std::atomic<uint64_t> reloads_skipped_{0};
  // Forwarded writes applied from the leader's ack / left to the watch /
  // held already when their ack arrived / that waited for their base.
  // ApplyAck's per-cluster single flight (striped by name).
  mutable std::array<std::mutex, 16> ack_mu_;
  mutable std::atomic<uint64_t> acks_applied_{0};
  mutable std::atomic<uint64_t> acks_not_applied_{0};
  mutable std::atomic<uint64_t> acks_already_held_{0};
  mutable std::atomic<uint64_t> acks_waited_for_base_{0};
  // Left to the watch because the base came from the watch (no spec index
  // to edit it with) and is large (see ApplyAck).
  mutable std::atomic<uint64_t> acks_left_without_index_{0};
  // ZooKeeper sessions this instance lost (expired) / connections it lost
  // (the client then moves to another ensemble member, same session).
  std::atomic<uint64_t> sessions_expired_{0};
  std::atomic<uint64_t> zk_disconnects_{0};
  std::vector<std::pair<std::string, std::function<nlohmann::json()>>> sections_;
  std::function<void(bool)> status_cache_handler_;
  std::function<void(const ZkEvent&)> status_event_handler_;
};

}  // namespace jcm
