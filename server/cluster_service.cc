#include "server/cluster_service.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
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

Status ClusterService::Start() {
  session_lost_at_ms_ = NowMs();  // no session yet
  return zk_->Start();
}

int64_t ClusterService::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
  info.connected = zk_->connected();
  if (!info.connected) return info;  // nobody can write without ZooKeeper
  std::lock_guard lock(view_mu_);
  if (view_.leader_address.empty()) return info;
  info.known = true;
  info.self = is_leader_.load();
  info.address = view_.leader_address;
  return info;
}

bool ClusterService::WaitUntilApplied(const WriteAck& ack,
                                      std::chrono::milliseconds timeout) const {
  // Versions order a deletion too (its zxid): after a delete and a
  // re-create, the re-created cluster satisfies a wait for the delete.
  return registry_.WaitForVersion(ack.name, ack.version, ack.deleted, timeout);
}

uint64_t ClusterService::ChangeCounter() const { return registry_.change_counter(); }

uint64_t ClusterService::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  return registry_.WaitForChange(seen, timeout);
}

void ClusterService::SetChangeListener(ChangeListener listener) {
  registry_.SetChangeListener(std::move(listener));
}

Status ClusterService::Readiness() const {
  if (!loaded_.load()) {
    return Status::Unavailable(
        "not loaded yet: the clusters are being read from ZooKeeper (or ZooKeeper is "
        "unreachable)");
  }
  int64_t lost = session_lost_at_ms_.load();
  if (lost != 0) {
    int64_t gone = NowMs() - lost;
    if (gone > options_.session_timeout_ms) {
      return Status::Unavailable(
          "no ZooKeeper session for " + std::to_string(gone) + " ms (session timeout " +
          std::to_string(options_.session_timeout_ms) + " ms): the view may be stale");
    }
  }
  return Status::Ok();
}

size_t ClusterService::PerNameStateCount() const {
  std::lock_guard lock(names_mu_);
  return names_.size();
}

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
  Status ready = Readiness();
  j["ready"] = ready.ok();
  if (!ready.ok()) j["notReady"] = ready.message();
  j["writes"] = {{"ok", writes_ok_.load()},
                 {"batches", batches_.load()},
                 {"conflicts", write_conflicts_.load()},
                 {"failed", writes_failed_.load()},
                 {"clustersBeingWritten", PerNameStateCount()}};
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

Status ClusterService::ReloadCluster(const std::string& name, bool watch) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<StoredCluster> r = store_->Load(name, watch);
    if (hooks_.after_load) hooks_.after_load(name);
    if (r.ok()) {
      registry_.ApplyDefinition(std::move(r->cluster), r->znode_version, r->czxid);
      return Status::Ok();
    }
    if (!r.status().IsNotFound()) {
      if (watch && ClusterStore::IsUnreadable(r.status())) {
        // A znode nobody can decode (the store logged it, once per version)
        // is skipped: the definition held, if any, stays served, as does
        // every other cluster. A write path (no watch) reports it.
        return Status::Ok();
      }
      return r.status();
    }
    // Absent: date the absence so a stale answer cannot remove a newer
    // incarnation. The parent's pzxid, read after the failed get, bounds
    // every create so far; if the znode is still absent after it, every
    // incarnation created up to that zxid is gone. The exists also arms a
    // creation watch, so a re-created cluster is seen even if the children
    // watch fired before it existed.
    Result<int64_t> pzxid = store_->ClustersDirPzxid();
    if (!pzxid.ok()) return pzxid.status();
    Status e = zk_->Exists(store_->ClusterPath(name), nullptr, watch);
    if (e.IsNotFound()) {
      registry_.ApplyRemoval(name, pzxid.value());
      return Status::Ok();
    }
    if (!e.ok()) return e;
    // Re-created in between: read it again.
  }
  return Status::Unavailable("cluster '" + name + "' kept changing while being read");
}

struct ClusterService::PendingWrite {
  bool create_if_missing = false;
  bool replaces = false;  // replaces the whole definition (PutCluster)
  const Mutation* fn = nullptr;
  Result<WriteAck> result = Status::Internal("not written");
  bool done = false;
};

struct ClusterService::NameState {
  std::mutex write_mu;  // serialises the stores of this cluster (batches, deletes)
  std::mutex mu;
  std::condition_variable cv;
  std::deque<PendingWrite*> pending;  // GUARDED_BY(mu)
  bool writer_active = false;         // GUARDED_BY(mu)
  int users = 0;                      // GUARDED_BY(names_mu_)
};

// Holds a NameState; the last holder erases it from names_.
class ClusterService::NameRef {
 public:
  NameRef(ClusterService* owner, std::string name, std::shared_ptr<NameState> state)
      : owner_(owner), name_(std::move(name)), state_(std::move(state)) {}
  NameRef(const NameRef&) = delete;
  NameRef& operator=(const NameRef&) = delete;
  ~NameRef() { owner_->ReleaseName(name_); }
  NameState* operator->() const { return state_.get(); }
  NameState* get() const { return state_.get(); }

 private:
  ClusterService* owner_;
  std::string name_;
  std::shared_ptr<NameState> state_;
};

ClusterService::NameRef ClusterService::AcquireName(const std::string& name) {
  std::lock_guard lock(names_mu_);
  auto& st = names_[name];
  if (!st) st = std::make_shared<NameState>();
  ++st->users;
  return NameRef(this, name, st);
}

void ClusterService::ReleaseName(const std::string& name) {
  std::lock_guard lock(names_mu_);
  auto it = names_.find(name);
  if (it != names_.end() && --it->second->users == 0) names_.erase(it);
}

size_t ClusterService::QueuedWrites(const std::string& name) const {
  std::shared_ptr<NameState> st;
  {
    std::lock_guard lock(names_mu_);
    auto it = names_.find(name);
    if (it == names_.end()) return 0;
    st = it->second;
  }
  std::lock_guard lock(st->mu);
  return st->pending.size();
}

void ClusterService::OnFenceLost(const std::string& fence) {
  // A fence taken before a session change belongs to a registration that is
  // gone already; the current one may well lead. Only our current znode's
  // absence says we do not.
  if (fence != membership_->self_path()) {
    spdlog::info("event=stale_fence_failed fence={} current={}", fence, membership_->self_path());
    return;
  }
  if (is_leader_.exchange(false)) spdlog::warn("event=lost_leadership reason=fence_gone");
}

Result<WriteAck> ClusterService::Mutate(const std::string& name, bool create_if_missing,
                                        bool replaces, const Mutation& fn) {
  std::string fence;
  Status s = CheckWritable(&fence);
  if (!s.ok()) return s;
  constexpr size_t kMaxBatch = 512;
  NameRef q = AcquireName(name);
  PendingWrite mine;
  mine.create_if_missing = create_if_missing;
  mine.replaces = replaces;
  mine.fn = &fn;
  std::unique_lock lock(q->mu);
  q->pending.push_back(&mine);
  // Either another thread is writing and will carry this mutation in its
  // next batch, or this thread becomes the writer until the queue is empty.
  q->cv.wait(lock, [&] { return mine.done || !q->writer_active; });
  if (mine.done) return std::move(mine.result);
  q->writer_active = true;
  // Whatever happens below, the next caller must be able to become the
  // writer: an exception must not leave the cluster's writes wedged.
  struct WriterReset {
    NameState* st;
    std::unique_lock<std::mutex>* lock;
    ~WriterReset() {
      if (!lock->owns_lock()) lock->lock();
      st->writer_active = false;
      st->cv.notify_all();
    }
  } reset{q.get(), &lock};
  while (!q->pending.empty()) {
    std::vector<PendingWrite*> batch;
    while (!q->pending.empty() && batch.size() < kMaxBatch) {
      // A replacement starts its own batch: an earlier caller's ack must
      // name a version that holds that caller's change.
      if (!batch.empty() && q->pending.front()->replaces) break;
      batch.push_back(q->pending.front());
      q->pending.pop_front();
    }
    lock.unlock();
    try {
      WriteBatch(q.get(), name, batch);
    } catch (const std::exception& e) {
      spdlog::error("event=write_batch_exception cluster={} error=\"{}\"", name, e.what());
      for (PendingWrite* p : batch) {
        p->result = Status::Internal(std::string("write failed: ") + e.what());
      }
    } catch (...) {
      spdlog::error("event=write_batch_exception cluster={} error=unknown", name);
      for (PendingWrite* p : batch) p->result = Status::Internal("write failed");
    }
    lock.lock();
    for (PendingWrite* p : batch) p->done = true;
    q->cv.notify_all();
  }
  return std::move(mine.result);
}

bool ClusterService::ApplyBatch(const std::string& name, const std::vector<PendingWrite*>& batch,
                                bool exists, bool isolate, Cluster* next,
                                std::vector<Status>* outcomes) const {
  bool any_applied = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    Status& out = (*outcomes)[i];
    if (!exists && !batch[i]->create_if_missing) {
      out = Status::NotFound("cluster '" + name + "' does not exist");
      continue;
    }
    if (!isolate) {
      if (!exists) next->name = name;
      out = (*batch[i]->fn)(next);
    } else {
      Cluster trial = *next;
      if (!exists) trial.name = name;
      out = (*batch[i]->fn)(&trial);
      if (out.ok()) out = ValidateCluster(trial);
      if (out.ok()) {
        Result<std::string> bytes = ClusterStore::Encode(trial);
        if (!bytes.ok()) out = bytes.status();
      }
      if (out.ok()) *next = std::move(trial);
    }
    if (out.ok()) {
      exists = true;
      any_applied = true;
    }
  }
  return any_applied;
}

void ClusterService::WriteBatch(NameState* state, const std::string& name,
                                const std::vector<PendingWrite*>& batch) {
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
  std::lock_guard lock(state->write_mu);
  // isolate: the batch as a whole could not be stored; apply one mutation
  // at a time so the one that cannot apply fails alone.
  bool isolate = false;
  for (int attempt = 0; attempt < options_.max_write_attempts;) {
    // Definition and znode version from one snapshot: a newer definition
    // applied between two reads would be written over at its own version.
    ClusterRegistry::WriteBase base = registry_.ForWrite(name);
    const bool existed = base.definition != nullptr;
    Cluster next;
    if (existed) next = *base.definition;
    std::fill(outcomes.begin(), outcomes.end(), Status::Ok());
    bool any_applied = ApplyBatch(name, batch, existed, isolate, &next, &outcomes);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!outcomes[i].ok()) batch[i]->result = outcomes[i];
    }
    if (!any_applied) return;
    if (!isolate && batch.size() > 1) {
      s = ValidateCluster(next);
      if (!s.ok()) {
        isolate = true;
        continue;
      }
    } else if (!isolate) {
      s = ValidateCluster(next);
      if (!s.ok()) return fail_all(s);
    }
    if (hooks_.before_save) hooks_.before_save(name);
    Result<StoredCluster> r = store_->Save(next, existed ? base.znode_version : -1, fence);
    if (r.ok()) {
      WriteAck ack{name, r->cluster.version, false};
      registry_.ApplyDefinition(std::move(r->cluster), r->znode_version, r->czxid);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!outcomes[i].ok()) continue;
        batch[i]->result = ack;
        ++writes_ok_;
      }
      return;
    }
    if (r.status().code() == Status::Code::kTooLarge && !isolate && batch.size() > 1) {
      isolate = true;
      continue;
    }
    if (r.status().code() == Status::Code::kNotLeader) {
      OnFenceLost(fence);
      std::string current;
      if (fence != membership_->self_path() && CheckWritable(&current).ok()) {
        // Our fence was of an earlier registration and we lead under the
        // current one: the write did not apply; try again with this fence.
        fence = current;
        ++attempt;
        continue;
      }
    }
    if (!r.status().IsConflict()) {
      ++writes_failed_;
      fail_all(r.status());
      return;
    }
    ++write_conflicts_;
    ++attempt;
    s = ReloadCluster(name, false);
    if (!s.ok()) return fail_all(s);
  }
  ++writes_failed_;
  fail_all(Status::Conflict("cluster '" + name + "' kept changing; gave up after " +
                            std::to_string(options_.max_write_attempts) + " attempts"));
}

Result<WriteAck> ClusterService::PutCluster(const Cluster& cluster) {
  Cluster definition = cluster;
  return Mutate(cluster.name, true, true, [&definition](Cluster* c) {
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
  NameRef state = AcquireName(name);
  std::lock_guard lock(state->write_mu);
  for (int attempt = 0; attempt < options_.max_write_attempts; ++attempt) {
    std::optional<int32_t> znode_version = registry_.ZnodeVersion(name);
    if (!znode_version) return Status::NotFound("cluster '" + name + "' does not exist");
    Result<int64_t> deleted_at = store_->Remove(name, *znode_version, fence);
    if (deleted_at.ok()) {
      // The deletion's zxid orders it against loads and re-creations, here
      // and (through the ack) in a follower's read-your-writes wait.
      registry_.ApplyRemoval(name, deleted_at.value());
      ++writes_ok_;
      return WriteAck{name, deleted_at.value(), true};
    }
    s = deleted_at.status();
    if (s.code() == Status::Code::kNotLeader) {
      OnFenceLost(fence);
      std::string current;
      if (fence != membership_->self_path() && CheckWritable(&current).ok()) {
        fence = current;
        continue;
      }
    }
    if (!s.IsConflict()) {
      ++writes_failed_;
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
  return Mutate(name, false, false, [online](Cluster* c) {
    c->online = online;
    return Status::Ok();
  });
}

Result<WriteAck> ClusterService::AddNodes(const std::string& name, const std::vector<Node>& nodes) {
  return Mutate(name, false, false, [&nodes](Cluster* c) {
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
  return Mutate(name, false, false, [&specs](Cluster* c) {
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
  return Mutate(name, false, false, [&spec, online](Cluster* c) {
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
      session_lost_at_ms_ = 0;
      OnConnected(ev.new_session);
      break;
    case ZkEvent::Type::kExpired: {
      // Leadership belonged to the dead session; drop it before anything else.
      is_leader_ = false;
      // The view was kept by the dead session's watches: stale until reloaded.
      loaded_ = false;
      if (session_lost_at_ms_.load() == 0) session_lost_at_ms_ = NowMs();
      membership_->Forget();
      std::lock_guard lock(view_mu_);
      view_ = MemberView{};
      spdlog::warn("event=leadership_dropped reason=session_expired");
      break;
    }
    case ZkEvent::Type::kDisconnected:
      if (session_lost_at_ms_.load() == 0) session_lost_at_ms_ = NowMs();
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
  if (!address_checked_) {
    // Two instances with one --advertise would fight forever (each deletes
    // the other's status znodes, forwards go to "self"): refuse to run.
    s = membership_->EnsureAddressUnused(options_.session_timeout_ms + 2000);
    if (s.IsConflict()) {
      spdlog::critical("event=address_in_use advertise={} error=\"{}\"", options_.self_address,
                       s.ToString());
      if (fatal_handler_) fatal_handler_(s);
      return;
    }
    if (!s.ok()) {
      spdlog::error("event=address_check_failed error=\"{}\"", s.ToString());
      return;
    }
    address_checked_ = true;
  }
  if (new_session || membership_->self_path().empty()) {
    s = membership_->Register();
    if (!s.ok()) {
      spdlog::error("event=register_failed error=\"{}\"", s.ToString());
      return;
    }
    spdlog::info("event=registered path={}", membership_->self_path());
  }
  // Load before electing: RefreshMembership lets us lead only when loaded.
  if (SyncClusterNames(true) && !loaded_.exchange(true)) spdlog::info("event=ready");
  RefreshMembership();
  if (status_event_handler_) {
    status_event_handler_(ZkEvent{ZkEvent::Type::kConnected, "", new_session});
  }
}

bool ClusterService::SyncClusterNames(bool reload_all) {
  if (reload_all && hooks_.before_full_load) hooks_.before_full_load();
  const int64_t started = NowMs();
  int64_t listed_at = 0;
  Result<std::vector<std::string>> names = store_->ListNames(true, &listed_at);
  if (!names.ok()) {
    spdlog::warn("event=list_clusters_failed error=\"{}\"", names.status().ToString());
    return false;
  }
  if (hooks_.after_list) hooks_.after_list();
  std::unordered_map<std::string, bool> in_zk;
  std::vector<std::string> to_load;
  for (const std::string& n : names.value()) {
    in_zk[n] = true;
    // Without reload_all, a known cluster's data watch keeps it current.
    if (reload_all || !registry_.ZnodeVersion(n)) to_load.push_back(n);
  }
  // Pipelined: one round trip per window of reads, not per cluster.
  std::vector<LoadResult> loaded = store_->LoadMany(to_load, true);
  bool complete = true;
  size_t added = 0, removed = 0, unreadable = 0;
  for (size_t i = 0; i < to_load.size(); ++i) {
    const std::string& n = to_load[i];
    if (loaded[i].ok()) {
      StoredCluster& c = loaded[i].value();
      registry_.ApplyDefinition(std::move(c.cluster), c.znode_version, c.czxid);
      ++added;
      continue;
    }
    const Status& st = loaded[i].status();
    if (st.IsNotFound()) {
      Status r = ReloadCluster(n, true);  // dates the absence, arms a creation watch
      if (!r.ok()) complete = complete && !r.IsUnavailable();
      continue;
    }
    spdlog::warn("event=reload_failed cluster={} error=\"{}\"", n, st.ToString());
    if (st.IsUnavailable()) {
      complete = false;
    } else {
      ++unreadable;  // a bad znode is skipped; the rest is served
    }
  }
  // A name missing from the listing was absent at its pzxid: removes only
  // incarnations created before it (a stale listing keeps newer ones).
  for (const std::string& n : registry_.Names()) {
    if (!in_zk.count(n) && registry_.ApplyRemoval(n, listed_at)) ++removed;
  }
  spdlog::info(
      "event=clusters_synced total={} loaded={} removed={} unreadable={} complete={} ms={}",
      names->size(), added, removed, unreadable, complete, NowMs() - started);
  return complete;
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
    // Lead only with the clusters loaded: acting on a partial view would
    // answer false 404s and write over what it has not read.
    is_leader_ = view->self_is_leader && loaded_.load();
    listener = membership_listener_;
  }
  bool now_leader = is_leader_.load();
  if (!was_leader && now_leader) spdlog::info("event=became_leader id={}", view->self_id);
  if (was_leader && !now_leader) spdlog::warn("event=lost_leadership");
  if (listener) listener(view.value());
}

}  // namespace jcm
