// SubReplyCache: the immediate replies to recent /sub bodies, each valid
// while the registry's change counter has not moved.
//
// Why: most subscribers of a service poll the same clusters and, once they
// have converged, send byte-identical bodies ("these units at these
// versions") that get byte-identical answers. A body seen before is answered
// from here as long as nothing changed anywhere since its reply was built:
// the counter (NameService::ChangeCounter) moves on every change to any
// cluster's definition or statuses, so a hit is exactly what a fresh
// evaluation would have produced.
//
// Only replies given at once are stored; a poll that parks is not. Memory
// is bounded by max_entries x (max_body_bytes + max_reply_bytes).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/body_keyed_cache.h"

namespace jcm {

class SubReplyCache {
 public:
  struct Limits {
    size_t max_entries = 4096;
    size_t max_body_bytes = 4096;
    size_t max_reply_bytes = 64 * 1024;
  };
  SubReplyCache() : SubReplyCache(Limits{}) {}
  explicit SubReplyCache(Limits limits)
      : max_reply_bytes_(limits.max_reply_bytes),
        entries_(limits.max_entries, limits.max_body_bytes) {}

  // The reply stored for `body` if it was built when the change counter was
  // `counter`; null otherwise.
  std::shared_ptr<const std::string> Find(std::string_view body, uint64_t counter) const;

  // Stores `reply` for `body`, built from the registry as of `counter` (read
  // before the evaluation began). A body or reply over the limits is not
  // stored, and a reply never replaces a newer one.
  void Store(std::string_view body, uint64_t counter, std::string reply);

  size_t size() const { return entries_.size(); }
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uint64_t counter = 0;
    std::string reply;
  };
  const size_t max_reply_bytes_;
  BodyKeyedCache<Entry> entries_;
  mutable std::atomic<uint64_t> hits_{0};
};

}  // namespace jcm
