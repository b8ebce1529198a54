#include "server/cluster_service.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "storage/zk_root_guard.h"

namespace jcm {

ClusterService::ClusterService(Options options)
    : ClusterService(options, std::make_unique<ZkClient>(
                                  ZkClient::Options{options.zk_hosts, options.session_timeout_ms,
                                                    options.zk_auth, options.zk_world_read})) {}

ClusterService::ClusterService(Options options, std::unique_ptr<ZkApi> zk)
    : options_(std::move(options)), registry_(options_.panic_share), zk_(std::move(zk)) {
  policy_ =
      options_.check_policy ? options_.check_policy : std::make_shared<const CheckTargetPolicy>();
  registry_.SetNodeMarker(
      [p = policy_](const Cluster& c, const Node& n) { return p->MarkOf(c, n); });
  zk_->SetEventHandler([this](const ZkEvent& ev) { OnZkEvent(ev); });
  store_ = std::make_unique<ClusterStore>(zk_.get(), options_.zk_root);
  membership_ = std::make_unique<Membership>(zk_.get(), options_.zk_root, options_.self_address);
  ClusterWriter::Fencing fencing;
  fencing.check_writable = [this](std::string* fence) { return CheckWritable(fence); };
  fencing.current_fence = [this] { return membership_->self_path(); };
  fencing.on_fence_lost = [this](const std::string& fence) { OnFenceLost(fence); };
  fencing.reload = [this](const std::string& name) { return ReloadCluster(name, false); };
  ClusterWriter::Options wo;
  wo.max_write_attempts = options_.max_write_attempts;
  writer_ = std::make_unique<ClusterWriter>(store_.get(), &registry_, std::move(fencing), wo);
}

ClusterService::~ClusterService() { Shutdown(); }

Status ClusterService::Start() {
  if (hooks_.before_save) writer_->SetBeforeSave(hooks_.before_save);
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
  if (!info.connected) {
    int64_t lost = session_lost_at_ms_.load();
    info.disconnected_ms = lost == 0 ? 0 : std::max<int64_t>(0, NowMs() - lost);
    return info;  // nobody can write without ZooKeeper
  }
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

bool ClusterService::ApplyAck(const WriteAck& ack, std::chrono::milliseconds wait_for_base) const {
  if (!ack.delta || ack.deleted || is_leader_.load()) return false;
  const WriteDelta& delta = *ack.delta;
  const auto deadline = std::chrono::steady_clock::now() + wait_for_base;
  bool waited = false;
  for (;;) {
    {
      // Every caller of one batch gets the same ack, at about the same time.
      // One applies it (O(touched chunks)); the others wait here and then
      // find it held, instead of each building the same version for all
      // but one to be refused.
      std::lock_guard apply_lock(ack_mu_[std::hash<std::string>{}(ack.name) % ack_mu_.size()]);
      ClusterRegistry::WriteBase base = registry_.ForWrite(ack.name);
      if (base.definition && base.definition->version >= ack.version) {
        ++acks_already_held_;  // another ack of the same batch, or the watch, came first
        return false;
      }
      // Exactly the base: one write (one data version) later is this ack.
      if (base.definition && base.definition->version == delta.base_version &&
          base.znode_version + 1 == delta.znode_version) {
        // A base the watch brought has no spec index: applying the ack
        // would hash every node's spec first (the O(nodes) part of a
        // write, ~1 ms at 20,000 nodes). The watch's reload of a large
        // cluster is bucketed and, one write behind, reads only the header
        // and applies its delta: cheaper, and done anyway (a held version
        // still steps the store's buckets). So it brings this one too.
        if (!base.index && base.definition->nodes.size() > kAckWithoutIndexUpTo) {
          ++acks_left_without_index_;
          return false;
        }
        return ApplyDeltaLocked(ack, std::move(base));
      }
      // Past the base (the watch brought a version between the base and
      // this write), or no definition at all: only the watch can help.
      if (!base.definition || base.definition->version > delta.base_version ||
          std::chrono::steady_clock::now() >= deadline) {
        ++acks_not_applied_;
        return false;
      }
    }
    // Behind the base. Writes through this instance arrive in bursts, one
    // batch after another, and their acks race: the base is most often
    // the previous batch's version, which another request is applying
    // right now. Waiting for it (outside the lock) costs the caller
    // nothing it would not wait for the watch anyway, and then this write
    // applies from the ack instead of a reload of the cluster.
    if (!waited) ++acks_waited_for_base_;
    waited = true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    registry_.WaitForVersion(ack.name, delta.base_version, false,
                             std::max(left, std::chrono::milliseconds(0)));
  }
}

bool ClusterService::ApplyDeltaLocked(const WriteAck& ack, ClusterRegistry::WriteBase base) const {
  const WriteDelta& delta = *ack.delta;
  // The base's index goes to this version (see ClusterRegistry::TakeIndex):
  // this copy must not hold it too.
  base.index.reset();
  Cluster next = CopyForEdit(*base.definition);
  ClusterEdit edit(&next, registry_.TakeIndex(ack.name, base.definition.get()));
  for (const AppliedOp& op : delta.ops) {
    if (!ClusterWriter::ApplyOp(op, &edit).ok()) {
      // Cannot happen on the leader's base; leave it to the watch.
      ++acks_not_applied_;
      return false;
    }
  }
  edit.Finish();
  next.version = ack.version;
  // The watch's reload of this version is then not decoded (not newer).
  bool applied =
      registry_.ApplyDefinition(std::move(next), delta.znode_version, base.czxid, edit.TakeIndex());
  ++(applied ? acks_applied_ : acks_not_applied_);
  return applied;
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
  if (!statuses_loaded_.load()) {
    return Status::Unavailable("not loaded yet: node statuses are being read from ZooKeeper");
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

size_t ClusterService::PerNameStateCount() const { return writer_->PerNameStateCount(); }

size_t ClusterService::QueuedWrites(const std::string& name) const {
  return writer_->QueuedWrites(name);
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
  j["zookeeperSessions"] = {{"expired", sessions_expired_.load()},
                            {"disconnects", zk_disconnects_.load()}};
  j["root"] = options_.zk_root;
  j["clusters"] = registry_.Names().size();
  ClusterRegistry::Totals totals = registry_.totals();
  j["limits"] = {{"clusters", totals.clusters},
                 {"maxClusters", options_.max_clusters},
                 {"nodes", totals.nodes},
                 {"maxNodes", options_.max_nodes}};
  j["checkTargets"] = {{"allow", policy_->AllowText()}, {"deny", policy_->DenyText()}};
  Status ready = Readiness();
  j["ready"] = ready.ok();
  if (!ready.ok()) j["notReady"] = ready.message();
  ClusterWriter::Stats w = writer_->stats();
  j["writes"] = {{"ok", w.ok},
                 {"batches", w.batches},
                 {"mutationsBatched", w.mutations},
                 {"conflicts", w.conflicts},
                 {"failed", w.failed},
                 {"clustersBeingWritten", PerNameStateCount()}};
  j["reloads"] = {{"decoded", reloads_decoded_.load()},
                  {"skipped", reloads_skipped_.load()},
                  {"headerDeltas",
                   {{"applied", store_->header_deltas_applied()},
                    {"missed", store_->header_deltas_missed()},
                    {"appliedTwo", store_->header_deltas_applied_two()},
                    {"refused", store_->header_deltas_refused()}}}};
  j["forwardedAcks"] = {{"applied", acks_applied_.load()},
                        {"alreadyHeld", acks_already_held_.load()},
                        {"leftToWatch", acks_not_applied_.load()},
                        {"waitedForBase", acks_waited_for_base_.load()},
                        {"leftWithoutIndex", acks_left_without_index_.load()}};
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
    // What is held already need not be decoded again (the leader's own
    // write, or a change a coalesced earlier event brought in).
    ClusterRegistry::WriteBase held = registry_.ForWrite(name);
    Result<StoredCluster> r =
        store_->Load(name, watch, held.definition ? held.definition->version : 0);
    // The get armed a data watch whenever the znode exists (decodable or
    // not): later changes will reach us.
    if (watch && (r.ok() || ClusterStore::IsUnreadable(r.status()))) SetWatched(name, true);
    if (watch && !r.ok() && r.status().IsNotFound()) SetWatched(name, false);
    if (hooks_.after_load) hooks_.after_load(name);
    if (r.ok() && r->not_newer) {
      ++reloads_skipped_;
      return Status::Ok();
    }
    if (r.ok()) {
      ++reloads_decoded_;
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
    // (A cluster whose creation is still being written, in several multis,
    // is absent too: its completion fires the watch.)
    Status e = store_->Exists(name, watch);
    if (e.IsNotFound()) {
      registry_.ApplyRemoval(name, pzxid.value());
      return Status::Ok();
    }
    if (!e.ok()) return e;
    // Re-created in between: read it again.
  }
  return Status::Unavailable("cluster '" + name + "' kept changing while being read");
}

Status ClusterService::CheckNewNodes(const std::string& name, const std::vector<Node>& nodes,
                                     bool replaces) const {
  ClusterPtr held = registry_.Get(name);
  // Nodes stored already were allowed when they were written: keep them
  // writable (a PUT repeats them), marked not checked.
  std::unordered_set<std::string> held_specs;
  bool indexed = false;
  auto stored = [&](const Node& n) {
    if (!held) return false;
    if (!indexed) {
      for (const Node& h : held->nodes) held_specs.insert(h.Spec());
      indexed = true;
    }
    return held_specs.count(n.Spec()) > 0;
  };
  Status s = policy_->CheckNewNodes(nodes, "nodes", stored);
  if (!s.ok()) return s;
  // Caps, against this instance's view: writes running at the same time
  // may each pass and overshoot by their own size (docs/operations.md).
  if (!replaces && !held) return Status::Ok();  // AddNodes: the writer answers 404
  ClusterRegistry::Totals t = registry_.totals();
  if (!held && options_.max_clusters > 0 && t.clusters >= options_.max_clusters) {
    return Status::TooLarge("cluster '" + name + "' not created: the deployment holds " +
                            std::to_string(t.clusters) + " clusters, the limit (--max-clusters " +
                            std::to_string(options_.max_clusters) + ")");
  }
  if (options_.max_nodes > 0) {
    const size_t before = held ? held->nodes.size() : 0;
    const size_t others = t.nodes - std::min(t.nodes, before);
    // For AddNodes, nodes.size() bounds what is new; only near the cap is
    // it worth counting exactly.
    size_t after = replaces ? nodes.size() : before + nodes.size();
    if (!replaces && others + after > options_.max_nodes) {
      after = before;
      for (const Node& n : nodes) after += stored(n) ? 0 : 1;
    }
    // A write that does not grow the cluster always passes (a lowered cap
    // must not freeze the clusters above it).
    if (others + after > options_.max_nodes && after > before) {
      return Status::TooLarge("nodes: cluster '" + name + "' would bring the deployment to " +
                              std::to_string(others + after) +
                              " nodes, over the limit (--max-nodes " +
                              std::to_string(options_.max_nodes) + ")");
    }
  }
  return Status::Ok();
}

Result<WriteAck> ClusterService::PutCluster(const Cluster& cluster) {
  // (A whole replacement, rare: the copy into a vector is no matter.)
  Status s = CheckNewNodes(cluster.name, cluster.nodes.ToVector(), true);
  if (!s.ok()) return s;
  return writer_->PutCluster(cluster);
}

Result<WriteAck> ClusterService::DeleteCluster(const std::string& name) {
  return writer_->DeleteCluster(name);
}

Result<WriteAck> ClusterService::SetClusterOnline(const std::string& name, bool online) {
  return writer_->SetClusterOnline(name, online);
}

Result<WriteAck> ClusterService::AddNodes(const std::string& name, const std::vector<Node>& nodes) {
  Status s = CheckNewNodes(name, nodes, false);
  if (!s.ok()) return s;
  return writer_->AddNodes(name, nodes);
}

Result<WriteAck> ClusterService::RemoveNodes(const std::string& name,
                                             const std::vector<std::string>& specs) {
  return writer_->RemoveNodes(name, specs);
}

Result<WriteAck> ClusterService::ChangeNodes(const std::string& name,
                                             const std::vector<std::string>& remove,
                                             const std::vector<Node>& add) {
  // The caps count `add` as if nothing were removed: at the cap a change
  // that would not grow the cluster may be refused (the follower that
  // merged it then sends its writes one by one).
  Status s = CheckNewNodes(name, add, false);
  if (!s.ok()) return s;
  return writer_->ChangeNodes(name, remove, add);
}

Result<WriteAck> ClusterService::SetNodeOnline(const std::string& name, const std::string& spec,
                                               bool online) {
  return writer_->SetNodeOnline(name, spec, online);
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
      sessions_expired_.fetch_add(1, std::memory_order_relaxed);
      // The view was kept by the dead session's watches: stale until reloaded.
      loaded_ = false;
      statuses_loaded_ = false;
      if (session_lost_at_ms_.load() == 0) session_lost_at_ms_ = NowMs();
      membership_->Forget();
      std::lock_guard lock(view_mu_);
      view_ = MemberView{};
      spdlog::warn("event=leadership_dropped reason=session_expired");
      break;
    }
    case ZkEvent::Type::kDisconnected:
      zk_disconnects_.fetch_add(1, std::memory_order_relaxed);
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

bool ClusterService::GuardRoot() {
  ZkRootGuard guard(zk_.get(), options_.zk_root, ClusterStore::LayoutDirs());
  Status s = guard.CheckAccess();
  if (!s.ok()) {
    if (s.code() != Status::Code::kPermissionDenied) {
      spdlog::error("event=zk_root_check_failed root={} error=\"{}\"", options_.zk_root,
                    s.ToString());
      return true;  // ZooKeeper trouble: the next kConnected tries again
    }
    // Every write would fail: say why once and stop, rather than run on
    // (or be restarted) into the same refusal.
    spdlog::critical("event=zk_root_access_denied root={} error=\"{}\"", options_.zk_root,
                     s.message());
    if (fatal_handler_) fatal_handler_(s);
    return false;
  }
  Result<ZkRootGuard::Migration> m = guard.MigrateAcls();
  if (!m.ok()) {
    spdlog::error("event=zk_acl_migration_failed root={} error=\"{}\"", options_.zk_root,
                  m.status().ToString());
    return true;
  }
  if (!zk_->Identity().empty()) {
    spdlog::info(
        "event=zk_acl root={} acl=\"{}\" already_done={} changed={} ephemeral_left={} failed={}",
        options_.zk_root, ZkRootGuard::Describe(zk_->CreateAcl()), m->already_done, m->changed,
        m->ephemeral_left, m->failed);
  }
  root_guarded_ = true;
  return true;
}

void ClusterService::OnConnected(bool new_session) {
  if (!root_guarded_ && !GuardRoot()) return;
  Status s = store_->EnsureLayout();
  if (!s.ok()) {
    spdlog::error("event=layout_failed error=\"{}\"", s.ToString());
    if (s.code() == Status::Code::kPermissionDenied) {
      spdlog::critical("event=zk_root_access_denied root={} error=\"{}\"", options_.zk_root,
                       s.message());
      if (fatal_handler_) fatal_handler_(s);
    }
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
  if (SyncClusterNames(true)) loaded_ = true;
  RefreshMembership();
  if (status_event_handler_) {
    status_event_handler_(ZkEvent{ZkEvent::Type::kConnected, "", new_session});
  } else {
    statuses_loaded_ = true;  // nobody checks here: there are no statuses to wait for
  }
  const bool ready = loaded_.load() && statuses_loaded_.load();
  if (ready && !ready_logged_) spdlog::info("event=ready");
  ready_logged_ = ready;
}

void ClusterService::SetWatched(const std::string& name, bool watched) {
  std::lock_guard lock(watch_mu_);
  if (watched) {
    watched_.insert(name);
  } else {
    watched_.erase(name);
  }
}

bool ClusterService::IsWatched(const std::string& name) const {
  std::lock_guard lock(watch_mu_);
  return watched_.count(name) > 0;
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
  if (reload_all) {
    // A new session: the old one's watches are gone.
    std::lock_guard lock(watch_mu_);
    watched_.clear();
  }
  for (const std::string& n : names.value()) {
    in_zk[n] = true;
    // A known cluster whose data watch is armed stays current through it. A
    // cluster this instance learned of from its own write or a leader's ack
    // has none yet: read it once, with a watch, or later changes made
    // through other instances would never reach it.
    if (reload_all || !registry_.ZnodeVersion(n) || !IsWatched(n)) to_load.push_back(n);
  }
  // Pipelined: one round trip per window of reads, not per cluster.
  std::vector<LoadResult> loaded = store_->LoadMany(to_load, true);
  bool complete = true;
  size_t added = 0, removed = 0, unreadable = 0;
  for (size_t i = 0; i < to_load.size(); ++i) {
    const std::string& n = to_load[i];
    if (loaded[i].ok() || ClusterStore::IsUnreadable(loaded[i].status())) SetWatched(n, true);
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
