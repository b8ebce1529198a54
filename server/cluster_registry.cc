#include "server/cluster_registry.h"

namespace jcm {

std::shared_ptr<const Cluster> ClusterRegistry::Get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.published;
}

std::vector<std::shared_ptr<const Cluster>> ClusterRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const Cluster>> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) {
    if (e.published) out.push_back(e.published);
  }
  return out;
}

std::vector<std::string> ClusterRegistry::Names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) {
    if (e.definition) out.push_back(name);
  }
  return out;
}

std::optional<int32_t> ClusterRegistry::ZnodeVersion(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.definition) return std::nullopt;
  return it->second.znode_version;
}

bool ClusterRegistry::ApplyDefinition(Cluster def, int32_t znode_version) {
  std::string name = def.name;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[name];
    if (e.definition && e.definition->version >= def.version) return false;
    e.definition = std::make_shared<const Cluster>(std::move(def));
    e.znode_version = znode_version;
    Publish(e);
  }
  Notify(name);
  return true;
}

bool ClusterRegistry::ApplyRemoval(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end() || !it->second.definition) return false;
    // Keep the statuses: a re-created cluster with the same nodes should not
    // start from "never checked" while its checker still runs.
    it->second.definition = nullptr;
    it->second.published = nullptr;
    ++change_counter_;
    cv_.notify_all();
  }
  Notify(name);
  return true;
}

bool ClusterRegistry::ApplyStatuses(const std::string& name, StatusMap statuses,
                                    int64_t status_version) {
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[name];
    if (status_version <= e.status_version) return false;
    e.statuses = std::move(statuses);
    e.status_version = status_version;
    if (!e.definition) return true;
    Publish(e);
  }
  Notify(name);
  return true;
}

void ClusterRegistry::Publish(Entry& e) {
  auto c = std::make_shared<Cluster>(*e.definition);
  c->status_version = e.status_version;
  size_t online = 0, normal = 0;
  for (Node& n : c->nodes) {
    auto it = e.statuses.find(n.Spec());
    if (it != e.statuses.end()) n.last_check_ms = it->second.last_check_ms;
    if (!c->online || !n.online) {
      n.status = NodeStatus::kInvalid;
      continue;
    }
    ++online;
    if (c->check_type == CheckType::kNone) {
      n.status = NodeStatus::kNormal;
    } else {
      n.status = it == e.statuses.end() ? NodeStatus::kInvalid : it->second.status;
    }
    if (n.status == NodeStatus::kNormal) ++normal;
  }
  // Panic only once a checker has spoken: a cluster nobody has checked yet
  // is unknown, not failing.
  bool checked = c->check_type == CheckType::kNone || e.status_version > 0;
  c->panic = checked && online > 0 &&
             static_cast<double>(normal) < panic_share_ * static_cast<double>(online);
  e.published = std::move(c);
  ++change_counter_;
  cv_.notify_all();
}

uint64_t ClusterRegistry::change_counter() const {
  std::lock_guard lock(mu_);
  return change_counter_;
}

uint64_t ClusterRegistry::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return change_counter_ != seen; });
  return change_counter_;
}

bool ClusterRegistry::WaitFor(
    const std::string& name, const std::function<bool(const std::shared_ptr<const Cluster>&)>& pred,
    std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  auto current = [&] {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : it->second.published;
  };
  return cv_.wait_for(lock, timeout, [&] { return pred(current()); });
}

}  // namespace jcm
