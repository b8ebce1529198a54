// Allocator: picks a node of one subscribed cluster.
//
//   jcm::Allocator rr = subscriber->NewAllocator("payments", jcm::Policy::kRoundRobin);
//   jcm::Pick p = rr.Pick(jcm::Protocol::kHttp);
//   if (p) Connect(p.ip(), p.port());
//
// Every policy picks only ONLINE nodes whose status is NORMAL and that have
// the asked protocol. When the server flags the cluster as in panic, or no
// such node exists but ONLINE nodes with the protocol do, it picks among all
// ONLINE nodes with the protocol and sets Pick::panic(). With nothing to pick
// it returns a "none" Pick.
//
// Thread-safety: all methods are thread-safe. An Allocator is a cheap handle
// (one shared pointer); copy it freely and call Pick from any number of
// threads. A pick reads an immutable snapshot of the cluster without taking
// any lock: each thread keeps its own reference to the current snapshot and
// its own round-robin cursor, and only re-reads the shared snapshot pointer
// after the poller published a new one. The handle stays valid after its
// Subscriber is destroyed (it then serves the last data it had).
//
// Memory: a thread that stops picking keeps a reference to the last
// snapshot it saw (one per cluster it picked from, in a small per-thread
// table) until it picks again, exits, or reuses that table entry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "jcm/endpoint.h"

namespace jcm {

namespace internal {
class ClusterSlot;
struct AllocatorAccess;
}  // namespace internal

enum class Policy : uint8_t {
  // Each usable node in turn.
  kRoundRobin,
  // nginx's smooth weighted round-robin over node `weight`: weights {5,1,1}
  // give a a b a c a a over one cycle (per calling thread).
  kWeightedRoundRobin,
  // A caller's key always maps to the same node while the node set is
  // unchanged; removing one of N nodes moves about 1/N of the keys. A
  // weighted Maglev table, the same in every client.
  kConsistentHash,
};

const char* PolicyName(Policy policy);

class Allocator {
 public:
  // A handle that picks nothing (every Pick is "none").
  Allocator() = default;

  // `key` is used by kConsistentHash only; other policies ignore it.
  jcm::Pick Pick(Protocol protocol = Protocol::kAny, std::string_view key = {}) const;
  // Consistent hash on a precomputed 64-bit key hash (no hashing per pick).
  jcm::Pick PickByHash(Protocol protocol, uint64_t key_hash) const;

  Policy policy() const { return policy_; }
  const std::string& cluster() const;

  // The 64-bit hash PickByHash expects for a key; the same in every client.
  static uint64_t HashKey(std::string_view key);

 private:
  friend class Subscriber;
  friend struct internal::AllocatorAccess;  // tests and benchmarks
  Allocator(std::shared_ptr<const internal::ClusterSlot> slot, Policy policy)
      : slot_(std::move(slot)), policy_(policy) {}

  std::shared_ptr<const internal::ClusterSlot> slot_;
  Policy policy_ = Policy::kRoundRobin;
};

}  // namespace jcm
