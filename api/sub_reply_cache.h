// SubReplyCache: the immediate replies to recent /sub bodies, each valid
// while the registry's change counter has not moved.
//
// Why: most subscribers of a service poll the same clusters and, once they
// have converged, send byte-identical bodies ("these units at these
// versions") that get byte-identical answers. At 10,000 polls a second,
// parsing, validating and evaluating each one again was a third of the
// server's own CPU per reply (bench/serving/RESULTS.md). A body seen before
// is answered from here as long as nothing changed anywhere since its reply
// was built: the counter (NameService::ChangeCounter) moves on every change
// to any cluster's definition or statuses, so a hit is exactly what a fresh
// evaluation would have produced.
//
// Only replies given at once are stored; a poll that parks is not. Bodies
// longer than max_body_bytes are never stored, and at max_entries the store
// drops an arbitrary entry, so the memory is bounded by
// max_entries x (max_body_bytes + reply).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace jcm {

class SubReplyCache {
 public:
  struct Limits {
    size_t max_entries = 4096;
    size_t max_body_bytes = 4096;
    size_t max_reply_bytes = 64 * 1024;
  };
  SubReplyCache() : SubReplyCache(Limits{}) {}
  explicit SubReplyCache(Limits limits) : limits_(limits) {}

  // The reply stored for `body` if it was built when the change counter was
  // `counter`; null otherwise.
  std::shared_ptr<const std::string> Find(std::string_view body, uint64_t counter) const;

  // Stores `reply` for `body`, built from the registry as of `counter` (read
  // before the evaluation began). A body or reply over the limits is not
  // stored.
  void Store(std::string_view body, uint64_t counter, std::string reply);

  size_t size() const;
  uint64_t hits() const;

 private:
  struct Entry {
    uint64_t counter = 0;
    std::shared_ptr<const std::string> reply;
  };
  // Transparent, so a lookup by string_view builds no key.
  struct BodyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const Limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry, BodyHash, std::equal_to<>> entries_;  // GUARDED_BY(mu_)
  mutable uint64_t hits_ = 0;                                                  // GUARDED_BY(mu_)
};

}  // namespace jcm
