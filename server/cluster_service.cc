#include "server/cluster_service.h"

#include <condition_variable>
#include <deque>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "model/limits.h"
#include "model/validation.h"

namespace jcm {

ClusterService::ClusterService(Options options)
    : options_(std::move(options)), registry_(options_.panic_share) {
  zk_ =
      std::make_unique<ZkClient>(ZkClient::Options{options_.zk_hosts, options_.session_timeout_ms},
                                 [this](const ZkEvent& ev) { OnZkEvent(ev); });
  store_ = std::make_unique<ClusterStore>(zk_.get(), options_.zk_root);
  membership_ = std::make_unique<Membership>(zk_.get(), options_.zk_root, options_.self_address);
}

ClusterService::~ClusterService() { Shutdown(); }

Status ClusterService::Start() { return zk_->Start(); }

void ClusterService::Shutdown() {
  if (shutting_down_.exchange(true)) return;
  is_leader_ = false;
  Status s = membership_->Deregister();
  spdlog::info("event=deregistered ok={} error=\"{}\"", s.ok(), s.ok() ? "" : s.ToString());
  zk_->Close();
}

void ClusterService::SetMembershipListener(MembershipListener listener) {
  std::lock_guard lock(view_mu_);
  membership_listener_ = std::move(listener);
}

void ClusterService::AddStatusSection(std::string key, std::function<nlohmann::json()> producer) {
  sections_.emplace_back(std::move(key), std::move(producer));
}

void ClusterService::SetStatusCacheHandler(std::function<void(bool)> handler) {
  status_cache_handler_ = std::move(handler);
}

void ClusterService::SetStatusEventHandler(std::function<void(const ZkEvent&)> handler) {
  status_event_handler_ = std::move(handler);
}

MemberView ClusterService::CurrentView() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

// ---------------------------------------------------------------- reads

ClusterPtr ClusterService::GetCluster(const std::string& name) const { return registry_.Get(name); }

std::vector<ClusterPtr> ClusterService::ListClusters() const { return registry_.List(); }

LeaderInfo ClusterService::Leader() const {
  LeaderInfo info;
  if (!zk_->connected()) return info;  // nobody can write without ZooKeeper
  std::lock_guard lock(view_mu_);
  if (view_.leader_address.empty()) return info;
  info.known = true;
  info.self = is_leader_.load();
  info.address = view_.leader_address;
  return info;
}

bool ClusterService::WaitUntilApplied(const WriteAck& ack,
                                      std::chrono::milliseconds timeout) const {
  return registry_.WaitFor(
      ack.name,
      [&](const ClusterPtr& c) {
        return ack.deleted ? c == nullptr : c && c->version >= ack.version;
      },
      timeout);
}

uint64_t ClusterService::ChangeCounter() const { return registry_.change_counter(); }

uint64_t ClusterService::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  return registry_.WaitForChange(seen, timeout);
}

void ClusterService::SetChangeListener(ChangeListener listener) {
  registry_.SetChangeListener(std::move(listener));
}

// TODO(issue 8): not ready before the first complete load and while the
// session has been gone longer than the session timeout.
Status ClusterService::Readiness() const { return Status::Ok(); }

nlohmann::json ClusterService::SystemStatus() const {
  MemberView view = CurrentView();
  nlohmann::json members = nlohmann::json::array();
  for (const MemberInfo& m : view.members) {
    members.push_back(
        {{"id", m.id}, {"address", m.address}, {"seq", m.seq}, {"started", m.started_ms}});
  }
  nlohmann::json j;
  j["self"] = options_.self_address;
  j["selfId"] = view.self_id;
  j["isLeader"] = is_leader_.load();
  LeaderInfo leader = Leader();
  j["leader"] = leader.known ? nlohmann::json(leader.address) : nlohmann::json(nullptr);
  j["members"] = std::move(members);
  j["zookeeper"] = ToString(zk_->state());
  j["sessionId"] = fmt::format("0x{:x}", zk_->session_id());
  j["root"] = options_.zk_root;
  j["clusters"] = registry_.Names().size();
  j["writes"] = {{"ok", writes_ok_.load()},
                 {"batches", batches_.load()},
                 {"conflicts", write_conflicts_.load()},
                 {"failed", writes_failed_.load()}};
  for (const auto& [key, producer] : sections_) j[key] = producer();
  return j;
}

Status ClusterService::SetStatusWriteCache(bool enabled) {
  if (!status_cache_handler_) return Status::Unavailable("health checking is not running");
  status_cache_handler_(enabled);
  return Status::Ok();
}

// ---------------------------------------------------------------- writes

Status ClusterService::CheckWritable(std::string* fence) const {
  if (!zk_->connected()) {
    return Status::Unavailable(std::string("ZooKeeper is unreachable (") + ToString(zk_->state()) +
                               "); writes are refused");
  }
  if (!is_leader_.load()) return Status::NotLeader("this instance is not the leader");
  *fence = membership_->self_path();
  if (fence->empty()) return Status::NotLeader("this instance is not registered");
  return Status::Ok();
}

std::shared_ptr<std::mutex> ClusterService::ClusterMutex(const std::string& name) {
  std::lock_guard lock(locks_mu_);
  auto& m = cluster_locks_[name];
  if (!m) m = std::make_shared<std::mutex>();
  return m;
}

Status ClusterService::ReloadCluster(const std::string& name, bool watch) {
  Result<StoredCluster> r = store_->Load(name, watch);
  if (r.ok()) {
    registry_.ApplyDefinition(std::move(r->cluster), r->znode_version);
    return Status::Ok();
  }
  if (r.status().IsNotFound()) {
    registry_.ApplyRemoval(name);
    if (watch) {
      // Arm a creation watch so a re-created cluster is seen even if the
      // children watch fired before it existed.
      (void)zk_->Exists(store_->ClusterPath(name), nullptr, true);
    }
    return Status::Ok();
  }
  if (watch && ClusterStore::IsUnreadable(r.status())) {
    // A znode nobody can decode (the store logged it, once per version) is
    // skipped: the definition held, if any, stays served, as does every
    // other cluster. A write path (no watch) reports it to its caller.
    return Status::Ok();
  }
  return r.status();
}

struct ClusterService::PendingWrite {
  bool create_if_missing = false;
  const Mutation* fn = nullptr;
  Result<WriteAck> result = Status::Internal("not written");
  bool done = false;
};

struct ClusterService::WriteQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<PendingWrite*> pending;  // GUARDED_BY(mu)
  bool writer_active = false;         // GUARDED_BY(mu)
};

std::shared_ptr<ClusterService::WriteQueue> ClusterService::QueueFor(const std::string& name) {
  std::lock_guard lock(locks_mu_);
  auto& q = write_queues_[name];
  if (!q) q = std::make_shared<WriteQueue>();
  return q;
}

Result<WriteAck> ClusterService::Mutate(const std::string& name, bool create_if_missing,
                                        const Mutation& fn) {
  std::string fence;
  Status s = CheckWritable(&fence);
  if (!s.ok()) return s;
  constexpr size_t kMaxBatch = 512;
  std::shared_ptr<WriteQueue> q = QueueFor(name);
  PendingWrite mine;
  mine.create_if_missing = create_if_missing;
  mine.fn = &fn;
  std::unique_lock lock(q->mu);
  q->pending.push_back(&mine);
  // Either another thread is writing and will carry this mutation in its
  // next batch, or this thread becomes the writer until the queue is empty.
  q->cv.wait(lock, [&] { return mine.done || !q->writer_active; });
  if (mine.done) return std::move(mine.result);
  q->writer_active = true;
  while (!q->pending.empty()) {
    std::vector<PendingWrite*> batch;
    while (!q->pending.empty() && batch.size() < kMaxBatch) {
      batch.push_back(q->pending.front());
      q->pending.pop_front();
    }
    lock.unlock();
    WriteBatch(name, batch);
    lock.lock();
    for (PendingWrite* p : batch) p->done = true;
    q->cv.notify_all();
  }
  q->writer_active = false;
  q->cv.notify_all();
  return std::move(mine.result);
}

void ClusterService::WriteBatch(const std::string& name, const std::vector<PendingWrite*>& batch) {
  // outcomes[i]: how mutation i applied to the latest attempt's copy; a
  // failure of the write itself is the answer of every mutation that applied.
  std::vector<Status> outcomes(batch.size());
  auto fail_all = [&](const Status& s) {
    for (size_t i = 0; i < batch.size(); ++i) {
      if (outcomes[i].ok()) batch[i]->result = s;
    }
  };
  std::string fence;
  Status s = CheckWritable(&fence);
  if (!s.ok()) return fail_all(s);
  ++batches_;
  std::shared_ptr<std::mutex> mu = ClusterMutex(name);
  std::lock_guard lock(*mu);
  for (int attempt = 0; attempt < options_.max_write_attempts; ++attempt) {
    ClusterPtr current = registry_.Get(name);
    std::optional<int32_t> znode_version = registry_.ZnodeVersion(name);
    const bool existed = current && znode_version;
    bool exists = existed;
    Cluster next;
    if (existed) next = *current;
    bool any_applied = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!exists && !batch[i]->create_if_missing) {
        outcomes[i] = Status::NotFound("cluster '" + name + "' does not exist");
        continue;
      }
      if (!exists) next.name = name;
      outcomes[i] = (*batch[i]->fn)(&next);
      if (outcomes[i].ok()) {
        exists = true;
        any_applied = true;
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!outcomes[i].ok()) batch[i]->result = outcomes[i];
    }
    if (!any_applied) return;
    s = ValidateCluster(next);
    if (!s.ok()) return fail_all(s);
    Result<StoredCluster> r = store_->Save(next, existed ? *znode_version : -1, fence);
    if (r.ok()) {
      WriteAck ack{name, r->cluster.version, false};
      registry_.ApplyDefinition(std::move(r->cluster), r->znode_version);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!outcomes[i].ok()) continue;
        batch[i]->result = ack;
        ++writes_ok_;
      }
      return;
    }
    if (!r.status().IsConflict()) {
      ++writes_failed_;
      if (r.status().code() == Status::Code::kNotLeader) is_leader_ = false;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (outcomes[i].ok()) batch[i]->result = r.status();
      }
      return;
    }
    ++write_conflicts_;
    s = ReloadCluster(name, false);
    if (!s.ok()) return fail_all(s);
  }
  ++writes_failed_;
  fail_all(Status::Conflict("cluster '" + name + "' kept changing; gave up after " +
                            std::to_string(options_.max_write_attempts) + " attempts"));
}

Result<WriteAck> ClusterService::PutCluster(const Cluster& cluster) {
  Cluster definition = cluster;
  return Mutate(cluster.name, true, [&definition](Cluster* c) {
    int64_t version = c->version;
    *c = definition;
    c->version = version;
    return Status::Ok();
  });
}

Result<WriteAck> ClusterService::DeleteCluster(const std::string& name) {
  std::string fence;
  Status s = CheckWritable(&fence);
  if (!s.ok()) return s;
  std::shared_ptr<std::mutex> mu = ClusterMutex(name);
  std::lock_guard lock(*mu);
  for (int attempt = 0; attempt < options_.max_write_attempts; ++attempt) {
    std::optional<int32_t> znode_version = registry_.ZnodeVersion(name);
    if (!znode_version) return Status::NotFound("cluster '" + name + "' does not exist");
    s = store_->Remove(name, *znode_version, fence);
    if (s.ok()) {
      registry_.ApplyRemoval(name);
      ++writes_ok_;
      return WriteAck{name, 0, true};
    }
    if (!s.IsConflict()) {
      ++writes_failed_;
      if (s.code() == Status::Code::kNotLeader) is_leader_ = false;
      return s;
    }
    ++write_conflicts_;
    s = ReloadCluster(name, false);
    if (!s.ok()) return s;
  }
  ++writes_failed_;
  return Status::Conflict("cluster '" + name + "' kept changing; gave up");
}

Result<WriteAck> ClusterService::SetClusterOnline(const std::string& name, bool online) {
  return Mutate(name, false, [online](Cluster* c) {
    c->online = online;
    return Status::Ok();
  });
}

Result<WriteAck> ClusterService::AddNodes(const std::string& name, const std::vector<Node>& nodes) {
  return Mutate(name, false, [&nodes](Cluster* c) {
    std::unordered_map<std::string, size_t> index;
    index.reserve(c->nodes.size() + nodes.size());
    for (size_t i = 0; i < c->nodes.size(); ++i) index.emplace(c->nodes[i].Spec(), i);
    size_t added = 0;
    for (const Node& n : nodes) added += index.count(n.Spec()) ? 0 : 1;
    // Refuse before touching anything: this mutation may share a batch.
    if (c->nodes.size() + added > limits::kMaxNodesPerCluster) {
      return Status::InvalidArgument(
          "nodes: cluster '" + c->name + "' would have " + std::to_string(c->nodes.size() + added) +
          " nodes, more than " + std::to_string(limits::kMaxNodesPerCluster));
    }
    for (const Node& n : nodes) {
      auto [it, inserted] = index.emplace(n.Spec(), c->nodes.size());
      if (inserted) {
        c->nodes.push_back(n);
      } else {
        c->nodes[it->second] = n;
      }
    }
    return Status::Ok();
  });
}

Result<WriteAck> ClusterService::RemoveNodes(const std::string& name,
                                             const std::vector<std::string>& specs) {
  return Mutate(name, false, [&specs](Cluster* c) {
    std::unordered_map<std::string, size_t> index;
    index.reserve(c->nodes.size());
    for (size_t i = 0; i < c->nodes.size(); ++i) index.emplace(c->nodes[i].Spec(), i);
    std::vector<bool> drop(c->nodes.size(), false);
    for (size_t i = 0; i < specs.size(); ++i) {
      auto it = index.find(specs[i]);
      if (it == index.end()) {
        return Status::NotFound("specs[" + std::to_string(i) + "]: '" + specs[i] +
                                "' is not a node of cluster '" + c->name + "'");
      }
      drop[it->second] = true;
    }
    std::vector<Node> kept;
    kept.reserve(c->nodes.size());
    for (size_t i = 0; i < c->nodes.size(); ++i) {
      if (!drop[i]) kept.push_back(std::move(c->nodes[i]));
    }
    c->nodes = std::move(kept);
    return Status::Ok();
  });
}

Result<WriteAck> ClusterService::SetNodeOnline(const std::string& name, const std::string& spec,
                                               bool online) {
  return Mutate(name, false, [&spec, online](Cluster* c) {
    Node* n = c->FindNode(spec);
    if (n == nullptr) {
      return Status::NotFound("spec: '" + spec + "' is not a node of cluster '" + c->name + "'");
    }
    n->online = online;
    return Status::Ok();
  });
}

// ---------------------------------------------------------------- events

void ClusterService::OnZkEvent(const ZkEvent& ev) {
  if (shutting_down_) return;
  switch (ev.type) {
    case ZkEvent::Type::kConnected:
      OnConnected(ev.new_session);
      break;
    case ZkEvent::Type::kExpired: {
      // Leadership belonged to the dead session; drop it before anything else.
      is_leader_ = false;
      membership_->Forget();
      std::lock_guard lock(view_mu_);
      view_ = MemberView{};
      spdlog::warn("event=leadership_dropped reason=session_expired");
      break;
    }
    case ZkEvent::Type::kDisconnected:
      break;
    case ZkEvent::Type::kChildrenChanged:
      if (ev.path == store_->ClustersDir()) {
        SyncClusterNames(false);
      } else if (ev.path == membership_->ServersDir()) {
        RefreshMembership();
      } else if (status_event_handler_) {
        status_event_handler_(ev);
      }
      break;
    case ZkEvent::Type::kDataChanged:
    case ZkEvent::Type::kCreated:
    case ZkEvent::Type::kDeleted: {
      std::string name = store_->NameFromPath(ev.path);
      if (!name.empty()) {
        Status s = ReloadCluster(name, true);
        if (!s.ok())
          spdlog::warn("event=reload_failed cluster={} error=\"{}\"", name, s.ToString());
      } else if (ev.path.rfind(membership_->ServersDir() + "/", 0) == 0) {
        RefreshMembership();
      } else if (status_event_handler_) {
        status_event_handler_(ev);
      }
      break;
    }
  }
}

void ClusterService::OnConnected(bool new_session) {
  Status s = store_->EnsureLayout();
  if (!s.ok()) {
    spdlog::error("event=layout_failed error=\"{}\"", s.ToString());
    return;  // the next kConnected tries again
  }
  if (new_session || membership_->self_path().empty()) {
    s = membership_->Register();
    if (!s.ok()) {
      spdlog::error("event=register_failed error=\"{}\"", s.ToString());
      return;
    }
    spdlog::info("event=registered path={}", membership_->self_path());
  }
  RefreshMembership();
  SyncClusterNames(true);
  if (status_event_handler_) {
    status_event_handler_(ZkEvent{ZkEvent::Type::kConnected, "", new_session});
  }
}

void ClusterService::SyncClusterNames(bool reload_all) {
  Result<std::vector<std::string>> names = store_->ListNames(true);
  if (!names.ok()) {
    spdlog::warn("event=list_clusters_failed error=\"{}\"", names.status().ToString());
    return;
  }
  std::vector<std::string> known = registry_.Names();
  std::unordered_map<std::string, bool> in_zk;
  for (const std::string& n : names.value()) in_zk[n] = true;
  size_t added = 0, removed = 0;
  for (const std::string& n : names.value()) {
    if (!reload_all && registry_.ZnodeVersion(n)) continue;  // its data watch keeps it current
    Status s = ReloadCluster(n, true);
    if (!s.ok()) {
      spdlog::warn("event=reload_failed cluster={} error=\"{}\"", n, s.ToString());
    } else {
      ++added;
    }
  }
  for (const std::string& n : known) {
    if (!in_zk.count(n) && registry_.ApplyRemoval(n)) ++removed;
  }
  spdlog::info("event=clusters_synced total={} loaded={} removed={}", names->size(), added,
               removed);
}

void ClusterService::RefreshMembership() {
  Result<MemberView> view = membership_->Refresh();
  if (!view.ok()) {
    spdlog::warn("event=membership_refresh_failed error=\"{}\"", view.status().ToString());
    return;
  }
  bool was_leader = is_leader_.load();
  MembershipListener listener;
  {
    std::lock_guard lock(view_mu_);
    if (view_.leader_id != view->leader_id || view_.members.size() != view->members.size()) {
      spdlog::info("event=membership members={} leader={} leader_address={} self={}",
                   view->members.size(), view->leader_id, view->leader_address, view->self_id);
    }
    view_ = view.value();
    is_leader_ = view->self_is_leader;
    listener = membership_listener_;
  }
  if (!was_leader && view->self_is_leader) spdlog::info("event=became_leader id={}", view->self_id);
  if (was_leader && !view->self_is_leader) spdlog::warn("event=lost_leadership");
  if (listener) listener(view.value());
}

}  // namespace jcm
