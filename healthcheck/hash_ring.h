// HashRing: which member of the jcm instance set checks a cluster.
//
// Every instance builds the ring from the same member ids (the names of the
// ephemeral znodes under <root>/servers) and must arrive at the same owner for
// every cluster name, so everything that could differ between instances is
// fixed here: members are sorted and de-duplicated, the hash is XXH64 with
// seed 0 (libxxhash; never std::hash), and ring points that collide are
// ordered by member id.
//
// Each member gets `virtual_nodes` points at XXH64("<member>#<i>"); a cluster
// belongs to the first point at or after XXH64(name), wrapping around. With
// 160 points per member the share of each member stays within a few percent
// of 1/N, and a member joining or leaving moves only the names whose owner it
// becomes or was.
//
// Thread-safety: immutable after construction; all const methods may be
// called from any thread. Rebuild and swap a new ring on membership changes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jcm {

class HashRing {
 public:
  static constexpr int kDefaultVirtualNodes = 160;

  HashRing() = default;
  explicit HashRing(std::vector<std::string> members, int virtual_nodes = kDefaultVirtualNodes);

  // The member that owns `cluster_name`; empty if the ring has no members.
  const std::string& OwnerOf(std::string_view cluster_name) const;
  bool Owns(std::string_view member, std::string_view cluster_name) const {
    return !members_.empty() && OwnerOf(cluster_name) == member;
  }

  // The next `k` distinct members after the owner of `cluster_name`,
  // walking the ring from the owner's point on (the owner excluded; fewer
  // if the ring has fewer other members). Every instance computes the same
  // list: the peers asked for a second opinion (CheckEngine).
  std::vector<std::string> Successors(std::string_view cluster_name, size_t k) const;

  // Sorted, de-duplicated.
  const std::vector<std::string>& members() const { return members_; }
  bool empty() const { return members_.empty(); }

 private:
  std::vector<std::string> members_;
  // (point hash, index into members_), sorted by hash then member id.
  std::vector<std::pair<uint64_t, uint32_t>> points_;
};

}  // namespace jcm
