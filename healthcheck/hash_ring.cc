#include "healthcheck/hash_ring.h"

#include <algorithm>

#include "healthcheck/xxhash64.h"

namespace jcm {

HashRing::HashRing(std::vector<std::string> members, int virtual_nodes) {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  members_ = std::move(members);
  if (virtual_nodes < 1) virtual_nodes = 1;
  points_.reserve(members_.size() * static_cast<size_t>(virtual_nodes));
  std::string key;
  for (uint32_t m = 0; m < members_.size(); ++m) {
    for (int i = 0; i < virtual_nodes; ++i) {
      key = members_[m];
      key += '#';
      key += std::to_string(i);
      points_.emplace_back(XxHash64(key), m);
    }
  }
  // members_ is sorted, so ordering equal hashes by index orders them by
  // member id: the same on every instance.
  std::sort(points_.begin(), points_.end());
}

const std::string& HashRing::OwnerOf(std::string_view cluster_name) const {
  static const std::string kNone;
  if (points_.empty()) return kNone;
  const uint64_t h = XxHash64(cluster_name);
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, uint32_t{0}));
  if (it == points_.end()) it = points_.begin();
  return members_[it->second];
}

std::vector<std::string> HashRing::Successors(std::string_view cluster_name, size_t k) const {
  std::vector<std::string> out;
  if (points_.empty()) return out;
  k = std::min(k, members_.size() - 1);
  const uint64_t h = XxHash64(cluster_name);
  auto start = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, uint32_t{0}));
  size_t at = static_cast<size_t>(start - points_.begin()) % points_.size();
  const uint32_t owner = points_[at].second;
  std::vector<bool> taken(members_.size(), false);
  taken[owner] = true;
  for (size_t step = 0; step < points_.size() && out.size() < k; ++step) {
    const uint32_t m = points_[(at + step) % points_.size()].second;
    if (taken[m]) continue;
    taken[m] = true;
    out.push_back(members_[m]);
  }
  return out;
}

}  // namespace jcm
