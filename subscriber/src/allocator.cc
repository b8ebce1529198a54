#include "jcm/allocator.h"

#include <thread>

#include "subscriber/src/cluster_slot.h"
#include "subscriber/src/hash.h"

namespace jcm {
namespace {

using internal::ClusterSlot;
using internal::ClusterSnapshot;
using internal::ProtocolView;

// Per thread, per slot: the snapshot this thread last saw and its cursors.
// Direct-mapped on the slot id: two slots that collide in one thread just
// reload the shared pointer more often; correctness does not depend on it.
// Trivially destructible, so the per-pick access to it is a plain
// thread-local load with no lazy-initialisation check; the owning
// shared_ptr lives in a separate array touched only on a reload.
struct ReaderEntry {
  uint64_t slot_id;
  uint64_t generation;
  const ClusterSnapshot* snapshot;  // owned by the matching ReaderOwners entry
  // Per protocol, so callers alternating protocols still rotate through
  // each view's nodes.
  uint32_t rr_cursor[3];
  uint32_t wrr_cursor[3];
};

constexpr size_t kReaderCacheSize = 128;
thread_local ReaderEntry reader_entries[kReaderCacheSize];
thread_local std::shared_ptr<const ClusterSnapshot> reader_owners[kReaderCacheSize];

// Threads start their cursors at different places, so many threads that
// begin at once do not all hit the first node together.
uint32_t ThreadSeed() {
  return static_cast<uint32_t>(
      internal::Mix64(std::hash<std::thread::id>{}(std::this_thread::get_id()) + 1));
}

// Slow path: first pick of this slot by this thread, or a new snapshot.
[[gnu::noinline]] void Reload(const ClusterSlot& slot, size_t index, uint64_t gen) {
  ReaderEntry& e = reader_entries[index];
  if (e.slot_id != slot.id()) {
    e.slot_id = slot.id();
    const uint32_t seed = ThreadSeed();
    for (int k = 0; k < 3; ++k) e.rr_cursor[k] = e.wrr_cursor[k] = seed;
  }
  reader_owners[index] = slot.Load();
  e.snapshot = reader_owners[index].get();
  e.generation = gen;
}

// Returns this thread's entry for `slot`, holding the current snapshot.
// Lock-free: on the fast path a load of thread-local data and one acquire
// load of the slot's generation, a line that only the poller writes.
inline ReaderEntry& Acquire(const ClusterSlot& slot) {
  const size_t index = slot.id() % kReaderCacheSize;
  ReaderEntry& e = reader_entries[index];
  const uint64_t gen = slot.generation();
  if (e.slot_id != slot.id() || e.generation != gen) [[unlikely]] {
    Reload(slot, index, gen);
  }
  return e;
}

inline uint32_t Advance(uint32_t* cursor, size_t n) {
  uint32_t c = *cursor;
  if (c >= n) c = static_cast<uint32_t>(c % n);
  *cursor = c + 1;
  return c;
}

}  // namespace

const char* PolicyName(Policy policy) {
  switch (policy) {
    case Policy::kRoundRobin:
      return "round-robin";
    case Policy::kWeightedRoundRobin:
      return "weighted-round-robin";
    case Policy::kConsistentHash:
      return "consistent-hash";
  }
  return "?";
}

uint64_t Allocator::HashKey(std::string_view key) { return internal::Hash64(key, 0); }

const std::string& Allocator::cluster() const {
  static const std::string kNone;
  return slot_ ? slot_->name() : kNone;
}

Pick Allocator::Pick(Protocol protocol, std::string_view key) const {
  if (!slot_) return {};
  if (policy_ == Policy::kConsistentHash) return PickByHash(protocol, HashKey(key));
  ReaderEntry& e = Acquire(*slot_);
  const ProtocolView& v = e.snapshot->view(protocol);
  const size_t n = v.endpoints.size();
  if (n == 0) return {};
  if (policy_ == Policy::kRoundRobin) {
    return jcm::Pick(v.endpoints[Advance(&e.rr_cursor[static_cast<size_t>(protocol)], n)], v.panic);
  }
  return jcm::Pick(
      v.endpoints[v.wrr[Advance(&e.wrr_cursor[static_cast<size_t>(protocol)], v.wrr.size())]],
      v.panic);
}

Pick Allocator::PickByHash(Protocol protocol, uint64_t key_hash) const {
  if (!slot_) return {};
  slot_->NoteHashPicks();
  ReaderEntry& e = Acquire(*slot_);
  const ProtocolView& v = e.snapshot->view(protocol);
  if (v.endpoints.empty()) return {};
  const std::vector<uint32_t>& table = v.maglev();
  const uint64_t m = table.size();
  // Multiply-shift instead of a division: maps the top 32 bits onto [0, m).
  uint64_t index = ((key_hash >> 32) * m) >> 32;
  return jcm::Pick(v.endpoints[table[index]], v.panic);
}

}  // namespace jcm
