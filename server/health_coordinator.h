// HealthCoordinator: ties health checking to ZooKeeper and the registry.
//
// - Ownership: every instance builds the same HashRing from the members'
//   advertised addresses (stable across restarts, so a restarted instance
//   takes back the clusters it had) and hands the clusters it owns to its
//   HealthChecker; the set is recomputed when members or definitions change.
// - Clusters with checkType NONE are owned but not handed to the checker:
//   the registry publishes their online nodes NORMAL whatever a status says,
//   so checking them would only rewrite an O(nodes) report per definition
//   change.
// - Writing (StatusSink): the owner writes a cluster's StatusReport to the
//   ephemeral znode <root>/status/<name>. A znode left by a previous owner
//   that is still alive is replaced (deleted, re-created as ours).
// - Reading: every instance watches <root>/status and applies each report to
//   its registry, so every instance serves the statuses. A vanished status
//   znode changes nothing: the last known statuses stay until the new owner
//   writes, so a dead checker never makes nodes look down.
// - Second opinions: an OpinionClient asks the next members on the ring
//   (HashRing::Successors) before the checker publishes a NORMAL node down;
//   ProbeForPeer answers other instances' questions (POST /sys/probe) with
//   one-shot checks on this instance's checker.
// - The owner keeps its last written report per cluster and writes it again
//   when its znode vanished under it (new session), since the checker itself
//   only writes on change.
//
// Thread-safety: WriteStatuses runs on the checker's status writer thread
// (never on its probing loop: ZooKeeper may stall there freely), OnMembership and
// OnStatusEvent on the ZooKeeper dispatch thread, the ownership loop on a
// thread of its own; shared state is under mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/peer_probe.h"
#include "healthcheck/hash_ring.h"
#include "healthcheck/health_checker.h"
#include "healthcheck/status_report.h"
#include "server/cluster_service.h"
#include "server/opinion_client.h"
#include "storage/bad_znode_log.h"

namespace jcm {

class HealthCoordinator : public StatusSink {
 public:
  HealthCoordinator(ClusterService* service, HealthOptions options);
  ~HealthCoordinator() override;

  // Wires itself into the service (call before service->Start()).
  void Attach();
  // The tokens file whose first write token is sent to peers with second
  // opinion questions (see OpinionClient). Before Start.
  void SetPeerTokensFile(std::string path) { peer_tokens_file_ = std::move(path); }
  // CA file verifying peers that advertise https:// (--tls-ca). Before Start.
  void SetPeerCaFile(std::string path) { peer_ca_file_ = std::move(path); }
  // POST /sys/probe: checks each named node once from this instance and
  // calls `done` with the outcomes (api/peer_probe.h). Thread-safe.
  void ProbeForPeer(std::vector<PeerProbe> probes,
                    std::function<void(std::vector<std::string>)> done);
  Status Start();
  void Stop();

  // StatusSink.
  Status WriteStatuses(const StatusReport& report) override;

  void OnMembership(const MemberView& view);
  void OnStatusEvent(const ZkEvent& ev);
  nlohmann::json StatusJson() const;
  // The transition history of a cluster's nodes as seen by this instance's
  // checker (for GET /c/{name}/history):
  //   {"cluster": name, "owner": this instance's id,
  //    "checking": whether this instance checks the cluster now,
  //    "nodes": {spec: [{"at": wall ms, "from": status, "to": status,
  //                      "reason": "success" | "bad-answer" | "no-answer" |
  //                                "offline" | "held" | "second opinion" |
  //                                "<outcome>, confirmed by peers" |
  //                                "<outcome>, no peer answered"}, ...
  //                                oldest first]},
  //    "suspects": [spec, ...]: nodes NORMAL but failing here while a peer
  //                reaches them}
  // At most TransitionLog::kPerNode entries per node. Only the instance that
  // checks a cluster has its history; others answer with "nodes": {} and
  // "checking": false (a caller may ask the owner). Thread-safe.
  nlohmann::json History(const std::string& cluster) const;

 private:
  std::string StatusDir() const { return service_->root() + "/status"; }
  std::string NameFromStatusPath(const std::string& path) const;
  void LoadStatus(const std::string& name);
  // Applies one status znode's content (decoded here; a bad one is skipped).
  void ApplyStatus(const std::string& name, const std::string& data, const ZkStat& stat);
  // Reads every status znode (pipelined) with watches. False if ZooKeeper
  // could not be read, so the statuses held may be incomplete.
  bool SyncStatusNames();
  // REQUIRES: write_mu_ held.
  Status WriteBytes(const std::string& name, const std::string& bytes);
  void OwnershipLoop();
  void RewriteOwned(const std::vector<std::string>& names);

  ClusterService* const service_;
  const std::string self_;
  HealthOptions options_;
  std::unique_ptr<HealthChecker> checker_;
  std::string peer_tokens_file_;
  std::string peer_ca_file_;
  std::unique_ptr<OpinionClient> opinions_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  HashRing ring_;                   // GUARDED_BY(mu_)
  bool ring_changed_ = true;        // GUARDED_BY(mu_)
  std::vector<std::string> owned_;  // GUARDED_BY(mu_)
  std::set<std::string> rewrite_;   // GUARDED_BY(mu_)
  bool stop_ = false;               // GUARDED_BY(mu_)

  std::mutex write_mu_;                              // serialises status znode writes
  std::map<std::string, std::string> last_written_;  // GUARDED_BY(write_mu_)

  std::atomic<uint64_t> status_applied_{0};
  std::atomic<uint64_t> status_decode_errors_{0};  // once per bad znode version
  BadZnodeLog bad_status_log_;
  std::atomic<uint64_t> takeovers_{0};
  std::atomic<uint64_t> reports_dropped_{0};  // queued, but no longer ours to write
  std::atomic<uint64_t> no_opinion_kept_{0};  // report entries that kept our last status
  // Nodes of owned clusters the check-target policy refuses (not probed).
  std::atomic<uint64_t> nodes_not_checked_{0};
  std::thread thread_;
};

}  // namespace jcm
