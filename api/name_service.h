// NameService: what the HTTP API needs from the rest of the server. The API
// layer (routes, envelopes, forwarding, /sub) is written against this
// interface only; server/ implements it over storage/ and healthcheck/, and
// the API's unit tests implement it with a fake.
//
// Thread-safety: every method may be called from any API worker thread
// concurrently; implementations synchronise internally.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

using ClusterPtr = std::shared_ptr<const Cluster>;

// One mutation as the leader applied it, for a follower to apply the same.
struct AppliedOp {
  enum class Kind { kAddNodes, kRemoveNodes, kSetClusterOnline, kSetNodeOnline };
  Kind kind = Kind::kAddNodes;
  std::vector<Node> nodes;         // kAddNodes
  std::vector<std::string> specs;  // kRemoveNodes; kSetNodeOnline: exactly one
  bool online = false;             // kSetClusterOnline, kSetNodeOnline
};

// What one stored write changed: the definition at `base_version` (znode
// data version `znode_version` - 1) with `ops` applied in order is the
// definition at the ack's version. Read-your-writes from the ack: a
// follower holding exactly the base applies it at once.
struct WriteDelta {
  int64_t base_version = 0;
  int32_t znode_version = 0;
  std::vector<AppliedOp> ops;

  // The JSON text of `ops` in a reply, made once (api/http_reply.cc): every
  // caller of a batch carries the same delta, so encoding it per reply cost
  // O(batch^2) node encodings per batch.
  mutable std::once_flag ops_text_once;
  mutable std::string ops_text;
};

// What a successful write returns: the cluster's version after it (the
// znode's mzxid), or deleted = true when the write removed the cluster.
struct WriteAck {
  WriteAck() = default;
  WriteAck(std::string n, int64_t v, bool d) : name(std::move(n)), version(v), deleted(d) {}
  std::string name;
  int64_t version = 0;
  bool deleted = false;
  // Set by a leader when the whole write can be replayed (null otherwise).
  std::shared_ptr<const WriteDelta> delta;
};

struct LeaderInfo {
  bool known = false;   // false: no leader elected or ZooKeeper unreachable
  bool self = false;    // this instance is the leader
  std::string address;  // leader's API address "host:port" when known
  // This instance has a ZooKeeper connection: a missing leader is being
  // elected and a write may wait for it. Without one, writes fail at once.
  bool connected = true;
  // While not connected: how long the connection has been lost (ms), so a
  // write can wait for a reconnection that is still likely (the client
  // moving to another ensemble member) and not for one that is not.
  int64_t disconnected_ms = 0;
};

class NameService {
 public:
  virtual ~NameService() = default;

  // --- Reads: served from this instance's memory, never block on ZooKeeper.
  // nullptr when unknown.
  virtual ClusterPtr GetCluster(const std::string& name) const = 0;
  // Sorted by name.
  virtual std::vector<ClusterPtr> ListClusters() const = 0;

  // --- Writes: only the leader applies them; elsewhere they return
  // Status::NotLeader and the API forwards the request. They return only
  // after ZooKeeper acknowledged. Errors: InvalidArgument, NotFound,
  // Conflict, TooLarge (encoded cluster over the znode limit), Unavailable
  // (ZooKeeper down or leadership lost mid-write).
  //
  // Creates or replaces the whole definition; statuses of nodes that stay are
  // kept.
  virtual Result<WriteAck> PutCluster(const Cluster& cluster) = 0;
  virtual Result<WriteAck> DeleteCluster(const std::string& name) = 0;
  virtual Result<WriteAck> SetClusterOnline(const std::string& name, bool online) = 0;
  // Adds nodes; a node whose spec exists already is replaced by the new one.
  virtual Result<WriteAck> AddNodes(const std::string& name, const std::vector<Node>& nodes) = 0;
  // Every spec must exist (NotFound names the first that does not).
  virtual Result<WriteAck> RemoveNodes(const std::string& name,
                                       const std::vector<std::string>& specs) = 0;
  // Removes `remove`, then adds `add` (replacing a node of the same spec),
  // in one write: all or nothing. Every spec of `remove` must exist
  // (NotFound names the first that does not); either list may be empty.
  // POST /c/nodes/{name}; a follower sends concurrent additions and
  // removals of one cluster to the leader as one of these.
  virtual Result<WriteAck> ChangeNodes(const std::string& name,
                                       const std::vector<std::string>& remove,
                                       const std::vector<Node>& add) = 0;
  virtual Result<WriteAck> SetNodeOnline(const std::string& name, const std::string& spec,
                                         bool online) = 0;

  virtual LeaderInfo Leader() const = 0;

  // Read-your-writes after a forwarded write: blocks until this instance's
  // model holds `ack` (the cluster at ack.version or newer, or gone when
  // ack.deleted) or `timeout` passes. Returns true iff it got there.
  virtual bool WaitUntilApplied(const WriteAck& ack, std::chrono::milliseconds timeout) const = 0;
  // Read-your-writes from the ack: applies `ack.delta` when this instance
  // holds exactly its base version. Holding an older version, it waits up
  // to `wait_for_base` for the base (the ack of an earlier write, applied
  // by another request, or the watch) and applies then. Returns whether it
  // applied (the wait above then ends at once); otherwise the watch brings
  // the write. Const like the wait: it only brings this instance's view
  // forward.
  virtual bool ApplyAck(const WriteAck& ack, std::chrono::milliseconds wait_for_base) const {
    (void)ack;
    (void)wait_for_base;
    return false;
  }

  // Change notification for long polls: a counter bumped on every change to
  // any cluster's definition or statuses. WaitForChange blocks until the
  // counter differs from `seen` or `timeout` passes, and returns its value.
  virtual uint64_t ChangeCounter() const = 0;
  virtual uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const = 0;

  // Per-cluster change notification for parked long polls: `listener` is
  // called with a cluster's name after every change to that cluster's
  // published view (definition, statuses or removal), once the new view is
  // visible to GetCluster() and ChangeCounter() has moved. It runs on the
  // thread that applied the change and must not block. One listener; set it
  // before the service starts applying changes (ApiServer::Start does).
  using ChangeListener = std::function<void(const std::string& name)>;
  virtual void SetChangeListener(ChangeListener listener) = 0;

  // Readiness (GET /readyz; reads and /sub are refused while not ready): OK
  // once this instance holds a complete view of ZooKeeper's data;
  // Unavailable naming the reason before the first complete load and while
  // the view may be stale.
  virtual Status Readiness() const = 0;

  // For GET /sys/status: self, leader, members, ZooKeeper state, checker
  // counters. A JSON object.
  virtual nlohmann::json SystemStatus() const = 0;

  // POST /sys/nscache: turn the change-only status write cache on or off on
  // this instance.
  virtual Status SetStatusWriteCache(bool enabled) = 0;
};

}  // namespace jcm
