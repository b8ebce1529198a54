// ClusterSlot: the one place a subscribed cluster's current snapshot lives.
//
// The poller publishes a new snapshot with Publish(); readers pick from it
// without taking a lock shared with the poller. A reader thread keeps its
// own std::shared_ptr to the snapshot it last saw (see ReaderCache in
// allocator.cc) and compares generation() on every pick: a plain atomic load
// of a line the poller writes only on change, so readers on different cores
// never write to a shared cache line. Only after a change does a reader load
// `current_` again.
//
// Publish order: store `current_` (release), then bump `generation_`
// (release). A reader that sees the new generation (acquire) therefore sees
// the new snapshot; one that raced sees the old generation and simply loads
// again on its next pick.
//
// Thread-safety: Publish() is called by one writer at a time (the poller,
// or Start() before the poller exists); every other method is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "subscriber/src/cluster_snapshot.h"

namespace jcm::internal {

class ClusterSlot {
 public:
  explicit ClusterSlot(std::string name);

  const std::string& name() const { return name_; }
  // Unique over the process's life, never 0: keys the readers' caches.
  uint64_t id() const { return id_; }

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const ClusterSnapshot> Load() const {
    return current_.load(std::memory_order_acquire);
  }
  // Builds the snapshot's Maglev tables first if a consistent-hash pick
  // was ever made on this slot (NoteHashPicks), so that the polling thread
  // pays for them and no pick does. Otherwise they stay unbuilt until a
  // pick needs one (ProtocolView::maglev()).
  void Publish(std::shared_ptr<const ClusterSnapshot> snapshot);

  // Called by every consistent-hash pick. Relaxed: the flag only decides
  // where later tables are built; a pick that races with Publish builds
  // the table itself, which is correct either way.
  void NoteHashPicks() const {
    if (!hash_picks_.load(std::memory_order_relaxed)) {
      hash_picks_.store(true, std::memory_order_relaxed);
    }
  }

 private:
  const std::string name_;
  const uint64_t id_;
  // Written once, then only read: beside the other read-mostly members,
  // not on generation_'s line.
  mutable std::atomic<bool> hash_picks_{false};
  std::atomic<std::shared_ptr<const ClusterSnapshot>> current_;
  // Kept on its own cache line: readers load it on every pick.
  alignas(64) std::atomic<uint64_t> generation_{1};
};

}  // namespace jcm::internal
