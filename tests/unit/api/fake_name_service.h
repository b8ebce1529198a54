// FakeNameService: NameService in memory, for the API's unit tests. It
// applies writes like a leader would (versions from a counter), records every
// mutation call so tests can assert that bad input called none, and drives
// long polls with a condition variable.
//
// Thread-safety: all methods are thread-safe (one mutex); API worker threads
// and the test thread call it concurrently.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/name_service.h"

namespace jcm {

class FakeNameService : public NameService {
 public:
  // --- Test controls.
  // Stores `cluster` as-is (version and statuses included), bumps the
  // change counter and calls the change listener (as the real registry
  // does, after the change is visible). Writes through the API do not call
  // the listener: the tests that park long polls change clusters here.
  void SetCluster(Cluster cluster) {
    std::string name = cluster.name;
    ChangeListener listener;
    {
      std::lock_guard<std::mutex> lock(mu_);
      clusters_[name] = std::make_shared<const Cluster>(std::move(cluster));
      BumpLocked();
      listener = listener_;
    }
    if (listener) listener(name);
  }
  // Every mutation returns `status` (e.g. NotLeader) instead of applying.
  void FailWritesWith(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    write_error_ = std::move(status);
  }
  void SetLeader(LeaderInfo leader) {
    std::lock_guard<std::mutex> lock(mu_);
    leader_ = std::move(leader);
  }
  void SetApplied(bool applied) {
    std::lock_guard<std::mutex> lock(mu_);
    applied_ = applied;
  }
  // Bumps the change counter without changing anything.
  void Bump() {
    std::lock_guard<std::mutex> lock(mu_);
    BumpLocked();
  }
  // Blocks until WaitForChange has been entered `n` times in all (so a long
  // poll is parked), or 5 s pass. Returns true iff it happened.
  bool AwaitWaitCalls(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return wait_calls_ >= n; });
  }

  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<WriteAck> applied_waits() const {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_waits_;
  }
  std::vector<std::string> last_specs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_specs_;
  }
  std::vector<Node> last_nodes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_nodes_;
  }
  std::optional<bool> status_write_cache() const {
    std::lock_guard<std::mutex> lock(mu_);
    return nscache_;
  }

  // --- NameService.
  ClusterPtr GetCluster(const std::string& name) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = clusters_.find(name);
    return it == clusters_.end() ? nullptr : it->second;
  }
  std::vector<ClusterPtr> ListClusters() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<ClusterPtr> out;
    for (const auto& [name, c] : clusters_) out.push_back(c);
    return out;
  }

  Result<WriteAck> PutCluster(const Cluster& cluster) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("PutCluster " + cluster.name);
    if (!write_error_.ok()) return write_error_;
    Cluster c = cluster;
    return StoreLocked(std::move(c));
  }
  Result<WriteAck> DeleteCluster(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("DeleteCluster " + name);
    if (!write_error_.ok()) return write_error_;
    if (clusters_.erase(name) == 0) return Status::NotFound("cluster '" + name + "' not found");
    BumpLocked();
    return WriteAck{name, 0, true};
  }
  Result<WriteAck> SetClusterOnline(const std::string& name, bool online) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("SetClusterOnline " + name + " " + (online ? "true" : "false"));
    if (!write_error_.ok()) return write_error_;
    auto it = clusters_.find(name);
    if (it == clusters_.end()) return Status::NotFound("cluster '" + name + "' not found");
    Cluster c = *it->second;
    c.online = online;
    return StoreLocked(std::move(c));
  }
  Result<WriteAck> AddNodes(const std::string& name, const std::vector<Node>& nodes) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("AddNodes " + name);
    last_nodes_ = nodes;
    if (!write_error_.ok()) return write_error_;
    auto it = clusters_.find(name);
    if (it == clusters_.end()) return Status::NotFound("cluster '" + name + "' not found");
    Cluster c = *it->second;
    for (const Node& n : nodes) {
      if (Node* old = c.FindNode(n.Spec())) {
        *old = n;
      } else {
        c.nodes.push_back(n);
      }
    }
    return StoreLocked(std::move(c));
  }
  Result<WriteAck> RemoveNodes(const std::string& name,
                               const std::vector<std::string>& specs) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("RemoveNodes " + name);
    last_specs_ = specs;
    if (!write_error_.ok()) return write_error_;
    auto it = clusters_.find(name);
    if (it == clusters_.end()) return Status::NotFound("cluster '" + name + "' not found");
    Cluster c = *it->second;
    for (const std::string& spec : specs) {
      if (!c.FindNode(spec)) return Status::NotFound("node '" + spec + "' not in '" + name + "'");
    }
    c.nodes.RemoveIf([&](const Node& n) {
      return std::find(specs.begin(), specs.end(), n.Spec()) != specs.end();
    });
    return StoreLocked(std::move(c));
  }
  Result<WriteAck> ChangeNodes(const std::string& name, const std::vector<std::string>& remove,
                               const std::vector<Node>& add) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("ChangeNodes " + name);
    last_specs_ = remove;
    last_nodes_ = add;
    if (!write_error_.ok()) return write_error_;
    auto it = clusters_.find(name);
    if (it == clusters_.end()) return Status::NotFound("cluster '" + name + "' not found");
    Cluster c = *it->second;
    for (const std::string& spec : remove) {
      if (!c.FindNode(spec)) return Status::NotFound("node '" + spec + "' not in '" + name + "'");
    }
    c.nodes.RemoveIf([&](const Node& n) {
      return std::find(remove.begin(), remove.end(), n.Spec()) != remove.end();
    });
    for (const Node& n : add) {
      if (Node* old = c.FindNode(n.Spec())) {
        *old = n;
      } else {
        c.nodes.push_back(n);
      }
    }
    return StoreLocked(std::move(c));
  }
  Result<WriteAck> SetNodeOnline(const std::string& name, const std::string& spec,
                                 bool online) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("SetNodeOnline " + name + " " + spec + " " + (online ? "true" : "false"));
    if (!write_error_.ok()) return write_error_;
    auto it = clusters_.find(name);
    if (it == clusters_.end()) return Status::NotFound("cluster '" + name + "' not found");
    Cluster c = *it->second;
    Node* node = c.FindNode(spec);
    if (!node) return Status::NotFound("node '" + spec + "' not in '" + name + "'");
    node->online = online;
    if (!online) node->status = NodeStatus::kInvalid;
    return StoreLocked(std::move(c));
  }

  LeaderInfo Leader() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return leader_;
  }
  bool WaitUntilApplied(const WriteAck& ack, std::chrono::milliseconds) const override {
    std::lock_guard<std::mutex> lock(mu_);
    applied_waits_.push_back(ack);
    return applied_;
  }
  uint64_t ChangeCounter() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return counter_;
  }
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const override {
    std::unique_lock<std::mutex> lock(mu_);
    ++wait_calls_;
    cv_.notify_all();
    cv_.wait_for(lock, timeout, [&] { return counter_ != seen; });
    return counter_;
  }
  void SetChangeListener(ChangeListener listener) override {
    std::lock_guard<std::mutex> lock(mu_);
    listener_ = std::move(listener);
  }
  Status Readiness() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return readiness_;
  }
  void SetReadiness(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    readiness_ = std::move(status);
  }
  nlohmann::json SystemStatus() const override {
    return {{"self", "fake"}, {"leader", Leader().address}};
  }
  Status SetStatusWriteCache(bool enabled) override {
    std::lock_guard<std::mutex> lock(mu_);
    nscache_ = enabled;
    return Status::Ok();
  }

 private:
  // REQUIRES: mu_ held.
  WriteAck StoreLocked(Cluster c) {
    c.version = ++next_version_;
    WriteAck ack{c.name, c.version, false};
    std::string name = c.name;  // the right side is evaluated first
    clusters_[name] = std::make_shared<const Cluster>(std::move(c));
    BumpLocked();
    return ack;
  }
  // REQUIRES: mu_ held.
  void BumpLocked() {
    ++counter_;
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, ClusterPtr> clusters_;
  Status write_error_;
  LeaderInfo leader_{true, true, ""};
  bool applied_ = true;
  int64_t next_version_ = 0;
  uint64_t counter_ = 1;
  mutable int wait_calls_ = 0;
  std::vector<std::string> calls_;
  mutable std::vector<WriteAck> applied_waits_;
  std::vector<std::string> last_specs_;
  std::vector<Node> last_nodes_;
  std::optional<bool> nscache_;
  ChangeListener listener_;
  Status readiness_;
};

}  // namespace jcm
