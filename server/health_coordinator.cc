#include "server/health_coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "healthcheck/status_codec.h"
#include "model/limits.h"
#include "server/check_target_policy.h"

namespace jcm {

HealthCoordinator::HealthCoordinator(ClusterService* service, HealthOptions options)
    : service_(service), self_(options.owner_id), options_(std::move(options)) {
  checker_ = std::make_unique<HealthChecker>(options_, this);
}

HealthCoordinator::~HealthCoordinator() { Stop(); }

void HealthCoordinator::Attach() {
  service_->SetMembershipListener([this](const MemberView& v) { OnMembership(v); });
  service_->SetStatusEventHandler([this](const ZkEvent& ev) { OnStatusEvent(ev); });
  service_->SetStatusCacheHandler([this](bool on) { checker_->SetWriteCache(on); });
  service_->AddStatusSection("health", [this] { return StatusJson(); });
}

Status HealthCoordinator::Start() {
  opinions_ = std::make_unique<OpinionClient>(
      [this](const std::string& cluster, size_t k) {
        std::vector<std::string> peers;
        {
          std::lock_guard lock(mu_);
          peers = ring_.Successors(cluster, k + 1);
        }
        // Ourselves excluded (the ring may have moved since we took the
        // cluster); at most k.
        peers.erase(std::remove(peers.begin(), peers.end(), self_), peers.end());
        if (peers.size() > k) peers.resize(k);
        return peers;
      },
      [this](uint64_t id, OpinionVerdict verdict) { checker_->DeliverOpinion(id, verdict); },
      peer_tokens_file_, peer_ca_file_);
  opinions_->Start();
  checker_->SetOpinionSource(opinions_.get());
  Status s = checker_->Start();
  if (!s.ok()) return s;
  thread_ = std::thread([this] { OwnershipLoop(); });
  return Status::Ok();
}

void HealthCoordinator::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The client first: its workers deliver into the checker.
  if (opinions_) opinions_->Stop();
  checker_->Stop();
}

void HealthCoordinator::ProbeForPeer(std::vector<PeerProbe> probes,
                                     std::function<void(std::vector<std::string>)> done) {
  struct Gather {
    std::mutex mu;
    std::vector<std::string> outcomes;
    size_t left;
    std::function<void(std::vector<std::string>)> done;
  };
  auto g = std::make_shared<Gather>();
  g->outcomes.assign(probes.size(), "unknown");
  g->left = probes.size();
  g->done = std::move(done);
  auto finish = [g](size_t i, std::string outcome) {
    std::function<void(std::vector<std::string>)> done;
    {
      std::lock_guard lock(g->mu);
      g->outcomes[i] = std::move(outcome);
      if (--g->left > 0) return;
      done = std::move(g->done);
    }
    done(std::move(g->outcomes));
  };
  ClusterRegistry* registry = service_->registry();
  for (size_t i = 0; i < probes.size(); ++i) {
    std::shared_ptr<const Cluster> cluster = registry->Get(probes[i].cluster);
    if (!cluster) {
      finish(i, "unknown");
      continue;
    }
    checker_->ProbeOnce(std::move(cluster), probes[i].node,
                        [finish, i](std::optional<CheckOutcome> outcome) {
                          finish(i, outcome ? ToString(*outcome) : "unknown");
                        });
  }
}

// ------------------------------------------------------------ ownership

void HealthCoordinator::OnMembership(const MemberView& view) {
  std::vector<std::string> addresses;
  for (const MemberInfo& m : view.members) {
    if (!m.address.empty()) addresses.push_back(m.address);
  }
  HashRing ring(std::move(addresses));
  {
    std::lock_guard lock(mu_);
    if (ring.members() == ring_.members()) return;
    ring_ = std::move(ring);
    ring_changed_ = true;
  }
  cv_.notify_all();
}

void HealthCoordinator::OwnershipLoop() {
  ClusterRegistry* registry = service_->registry();
  uint64_t seen = ~uint64_t{0};
  // Per owned cluster: definition version and status version. Statuses
  // matter too: they seed nodes the checker has not decided yet.
  std::vector<std::tuple<std::string, int64_t, int64_t>> last_key;
  for (;;) {
    std::vector<std::string> rewrite;
    HashRing ring;
    bool ring_changed = false;
    {
      std::unique_lock lock(mu_);
      if (stop_) return;
      ring = ring_;
      ring_changed = ring_changed_;
      ring_changed_ = false;
      rewrite.assign(rewrite_.begin(), rewrite_.end());
      rewrite_.clear();
    }
    uint64_t counter = registry->change_counter();
    if (counter != seen || ring_changed || !rewrite.empty()) {
      seen = counter;
      std::vector<std::shared_ptr<const Cluster>> owned;
      std::vector<std::tuple<std::string, int64_t, int64_t>> key;
      size_t not_checked = 0;
      for (const auto& c : registry->List()) {
        if (!ring.Owns(self_, c->name)) continue;
        // checkType NONE: nothing to check and nothing to write. The
        // registry publishes every online node of such a cluster NORMAL
        // (its merge rules), so a checker would only rewrite the same
        // O(nodes) status report on every definition change, to be decoded
        // by every instance (17 % of all CPU at 20,000 nodes, issue 10).
        // Its versions are left out of the key for the same reason.
        if (c->check_type == CheckType::kNone) {
          key.emplace_back(c->name, 0, 0);
          continue;
        }
        // Nodes the check-target policy refuses are never probed.
        owned.push_back(WithoutRefusedNodes(c, &not_checked));
        key.emplace_back(c->name, c->version, c->status_version);
      }
      nodes_not_checked_ = not_checked;
      if (key != last_key) {
        std::vector<std::string> names;
        for (const auto& [name, version, status_version] : key) names.push_back(name);
        if (names.size() != last_key.size() ||
            !std::equal(names.begin(), names.end(), last_key.begin(),
                        [](const std::string& a, const auto& b) { return a == std::get<0>(b); })) {
          spdlog::info("event=ownership_changed owned={} members={}", names.size(),
                       ring.members().size());
          std::lock_guard lock(mu_);
          owned_ = names;
        }
        checker_->SetClusters(std::move(owned));
        last_key = std::move(key);
      }
      RewriteOwned(rewrite);
    }
    std::unique_lock lock(mu_);
    if (stop_) return;
    if (ring_changed_ || !rewrite_.empty()) continue;
    lock.unlock();
    registry->WaitForChange(seen, std::chrono::milliseconds(100));
  }
}

void HealthCoordinator::RewriteOwned(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    {
      std::lock_guard lock(mu_);
      if (ring_.empty() || !ring_.Owns(self_, name)) continue;
    }
    std::lock_guard wlock(write_mu_);
    auto it = last_written_.find(name);
    if (it == last_written_.end()) continue;
    Status s = WriteBytes(name, it->second);
    spdlog::info("event=status_rewritten cluster={} ok={}", name, s.ok());
  }
}

// ------------------------------------------------------------ writing

Status HealthCoordinator::WriteStatuses(const StatusReport& report) {
  {
    // Queued while we owned it; the ring has moved on since. Writing it now
    // would fight the new owner over the znode.
    std::lock_guard lock(mu_);
    if (!ring_.empty() && !ring_.Owns(self_, report.cluster)) {
      ++reports_dropped_;
      return Status::Ok();
    }
  }
  Result<std::string> bytes = EncodeStatusReport(report);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() > limits::kMaxZnodeBytes) {
    return Status::TooLarge("status report of '" + report.cluster + "' is " +
                            std::to_string(bytes->size()) + " bytes");
  }
  std::lock_guard lock(write_mu_);
  Status s = WriteBytes(report.cluster, bytes.value());
  if (s.ok()) last_written_[report.cluster] = std::move(bytes).value();
  return s;
}

Status HealthCoordinator::WriteBytes(const std::string& name, const std::string& bytes) {
  ZkApi* zk = service_->zk();
  const std::string path = StatusDir() + "/" + name;
  for (int attempt = 0; attempt < 3; ++attempt) {
    ZkStat stat;
    Status s = zk->Exists(path, &stat, false);
    if (s.ok()) {
      if (stat.ephemeral_owner == zk->session_id()) {
        s = zk->Set(path, bytes, stat.version, nullptr);
        if (s.ok() || !s.IsConflict()) return s;
        continue;
      }
      // Left by the previous owner (still alive, or its session not yet
      // expired): the ring says it is ours now.
      s = zk->Delete(path, stat.version);
      if (!s.ok() && !s.IsNotFound() && !s.IsConflict()) return s;
      ++takeovers_;
      continue;
    }
    if (!s.IsNotFound()) return s;
    Result<std::string> created = zk->Create(path, bytes, ZkClient::kEphemeral);
    if (created.ok()) return Status::Ok();
    if (!created.status().IsConflict()) return created.status();
  }
  return Status::Conflict("status znode " + path + " kept changing");
}

// ------------------------------------------------------------ reading

std::string HealthCoordinator::NameFromStatusPath(const std::string& path) const {
  std::string prefix = StatusDir() + "/";
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return {};
  return path.substr(prefix.size());
}

void HealthCoordinator::LoadStatus(const std::string& name) {
  ZkStat stat;
  Result<std::string> data = service_->zk()->Get(StatusDir() + "/" + name, &stat, true);
  if (!data.ok()) {
    if (!data.status().IsNotFound()) {
      spdlog::warn("event=status_load_failed cluster={} error=\"{}\"", name,
                   data.status().ToString());
    }
    return;
  }
  ApplyStatus(name, data.value(), stat);
}

void HealthCoordinator::ApplyStatus(const std::string& name, const std::string& data,
                                    const ZkStat& stat) {
  const std::string path = StatusDir() + "/" + name;
  if (bad_status_log_.Reported(path, stat.mzxid)) return;  // known bad: not decoded again
  Result<StatusReport> report = DecodeStatusReport(data);
  if (!report.ok()) {
    // Skipped: the statuses held stay. Logged once per version, as the
    // watch re-reads it on every reconnect.
    if (bad_status_log_.FirstReport(path, stat.mzxid)) {
      ++status_decode_errors_;
      spdlog::warn("event=status_decode_failed cluster={} mzxid={} error=\"{}\"", name, stat.mzxid,
                   report.status().ToString());
    }
    return;
  }
  bad_status_log_.Clear(path);
  // Nodes the owner has no opinion of yet keep the state applied here last
  // (a restarted owner must not turn them INVALID while they rise).
  std::shared_ptr<const Cluster> current = service_->registry()->Get(name);
  std::unordered_map<std::string, const Node*> current_nodes;
  if (current) {
    for (const Node& n : current->nodes) current_nodes.emplace(n.Spec(), &n);
  }
  StatusMap statuses;
  statuses.reserve(report->nodes.size());
  for (const auto& [spec, st] : report->nodes) {
    NodeState state{st.status, st.last_check_ms};
    if (st.last_check_ms == NodeCheckState::kNoOpinion) {
      auto it = current_nodes.find(spec);
      state = it != current_nodes.end() && it->second->online
                  ? NodeState{it->second->status, it->second->last_check_ms}
                  : NodeState{NodeStatus::kInvalid, 0};
      ++no_opinion_kept_;
    }
    statuses.emplace(spec, state);
  }
  if (service_->registry()->ApplyStatuses(name, std::move(statuses), stat.mzxid)) {
    ++status_applied_;
  }
}

bool HealthCoordinator::SyncStatusNames() {
  Result<std::vector<std::string>> names = service_->zk()->GetChildren(StatusDir(), true);
  if (!names.ok()) return names.status().IsNotFound();
  // Pipelined, as the definitions are: an instance is ready only once it
  // holds the statuses too, so this is on the path to readiness.
  std::vector<std::string> paths;
  paths.reserve(names->size());
  for (const std::string& name : names.value()) paths.push_back(StatusDir() + "/" + name);
  std::vector<ZkGetResult> got = service_->zk()->GetMany(paths, true);
  bool complete = true;
  for (size_t i = 0; i < got.size() && i < names->size(); ++i) {
    const std::string& name = names.value()[i];
    if (got[i].status.ok()) {
      ApplyStatus(name, got[i].data, got[i].stat);
    } else if (!got[i].status.IsNotFound()) {
      complete = complete && !got[i].status.IsUnavailable();
      spdlog::warn("event=status_load_failed cluster={} error=\"{}\"", name,
                   got[i].status.ToString());
    }
  }
  return complete;
}

void HealthCoordinator::OnStatusEvent(const ZkEvent& ev) {
  switch (ev.type) {
    case ZkEvent::Type::kConnected: {
      service_->SetStatusesLoaded(SyncStatusNames());
      if (ev.new_session) {
        // Our ephemerals died with the old session: write them again.
        std::lock_guard wlock(write_mu_);
        std::lock_guard lock(mu_);
        for (const auto& [name, bytes] : last_written_) rewrite_.insert(name);
      }
      cv_.notify_all();
      break;
    }
    case ZkEvent::Type::kChildrenChanged:
      if (ev.path == StatusDir()) SyncStatusNames();
      break;
    case ZkEvent::Type::kDataChanged:
    case ZkEvent::Type::kCreated: {
      std::string name = NameFromStatusPath(ev.path);
      if (!name.empty()) LoadStatus(name);
      break;
    }
    case ZkEvent::Type::kDeleted: {
      // Keep the statuses (see the header). If it was ours, write it back.
      std::string name = NameFromStatusPath(ev.path);
      if (name.empty()) break;
      {
        std::lock_guard lock(mu_);
        if (!ring_.empty() && ring_.Owns(self_, name)) rewrite_.insert(name);
      }
      break;
    }
    default:
      break;
  }
}

nlohmann::json HealthCoordinator::StatusJson() const {
  nlohmann::json j = CountersToJson(checker_->counters());
  std::lock_guard lock(mu_);
  j["ownerId"] = self_;
  j["checking"] = owned_;
  j["ringMembers"] = ring_.members();
  j["statusApplied"] = status_applied_.load();
  j["statusDecodeErrors"] = status_decode_errors_.load();
  j["takeovers"] = takeovers_.load();
  j["reportsDropped"] = reports_dropped_.load();
  j["noOpinionKept"] = no_opinion_kept_.load();
  j["nodesNotChecked"] = nodes_not_checked_.load();
  j["history"] = checker_->transitions().Summary();
  j["keepaliveBudget"] = checker_->keepalive_budget();
  j["suspects"] = checker_->Suspects();
  if (opinions_) j["secondOpinions"]["client"] = opinions_->StatsJson();
  j["secondOpinions"]["peers"] = options_.second_opinions;
  return j;
}

nlohmann::json HealthCoordinator::History(const std::string& cluster) const {
  nlohmann::json j = checker_->transitions().Json(cluster);
  j["owner"] = self_;
  nlohmann::json suspects = nlohmann::json::array();
  const std::string prefix = cluster + "/";
  for (const std::string& s : checker_->Suspects()) {
    if (s.compare(0, prefix.size(), prefix) == 0) suspects.push_back(s.substr(prefix.size()));
  }
  j["suspects"] = std::move(suspects);
  std::lock_guard lock(mu_);
  j["checking"] = std::find(owned_.begin(), owned_.end(), cluster) != owned_.end();
  return j;
}

}  // namespace jcm
