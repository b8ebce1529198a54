#include "subscriber/src/cluster_registry.h"

namespace jcm::internal {

std::shared_ptr<ClusterSlot> ClusterRegistry::GetOrAdd(const std::string& name, bool* added) {
  std::lock_guard<std::mutex> lock(mu_);
  if (added) *added = false;
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  if (added) *added = true;
  auto slot = std::make_shared<ClusterSlot>(name);
  slots_.push_back(slot);
  by_name_.emplace(name, slot);
  return slot;
}

std::shared_ptr<ClusterSlot> ClusterRegistry::Find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ClusterSlot>> ClusterRegistry::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_;
}

}  // namespace jcm::internal
