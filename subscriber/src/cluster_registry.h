// ClusterRegistry: the subscribed clusters, by name, each with its slot.
// Slots are never removed: an Allocator may hold one for as long as it likes.
//
// Thread-safety: all methods are thread-safe (one internal mutex, never
// touched by picks: allocators hold their slot directly).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "subscriber/src/cluster_slot.h"

namespace jcm::internal {

class ClusterRegistry {
 public:
  // The slot for `name`, created if absent (then *added = true).
  // REQUIRES: `name` is valid.
  std::shared_ptr<ClusterSlot> GetOrAdd(const std::string& name, bool* added = nullptr);
  // Null if `name` is not subscribed.
  std::shared_ptr<ClusterSlot> Find(const std::string& name) const;
  // Every slot, in the order of subscription.
  std::vector<std::shared_ptr<ClusterSlot>> All() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<ClusterSlot>> slots_;                        // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::shared_ptr<ClusterSlot>> by_name_;  // GUARDED_BY(mu_)
};

}  // namespace jcm::internal
