// BodyKeyedCache<V>: a small, bounded, thread-safe map from a request body
// (its exact bytes) to a shared, immutable value. Used by /sub, where most
// bodies repeat: many subscribers of a service hold the same clusters at the
// same versions and send byte-identical requests.
//
// Bodies longer than max_body_bytes are never stored; at max_entries an
// arbitrary entry is dropped, so memory stays bounded.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace jcm {

template <class V>
class BodyKeyedCache {
 public:
  BodyKeyedCache(size_t max_entries, size_t max_body_bytes)
      : max_entries_(max_entries), max_body_bytes_(max_body_bytes) {}

  std::shared_ptr<const V> Find(std::string_view body) const {
    if (body.size() > max_body_bytes_) return nullptr;
    std::lock_guard lock(mu_);
    auto it = entries_.find(body);
    return it == entries_.end() ? nullptr : it->second;
  }

  // Stores `value` for `body` unless `keep_old(old)` says the entry already
  // there must stay.
  void Store(std::string_view body, std::shared_ptr<const V> value,
             const std::function<bool(const V& old)>& keep_old = nullptr) {
    if (body.size() > max_body_bytes_) return;
    std::lock_guard lock(mu_);
    auto it = entries_.find(body);
    if (it != entries_.end()) {
      if (!keep_old || !keep_old(*it->second)) it->second = std::move(value);
      return;
    }
    if (entries_.size() >= max_entries_) entries_.erase(entries_.begin());
    entries_.emplace(std::string(body), std::move(value));
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  // Transparent, so a lookup by string_view builds no key.
  struct BodyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  const size_t max_entries_;
  const size_t max_body_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const V>, BodyHash, std::equal_to<>>
      entries_;  // GUARDED_BY(mu_)
};

}  // namespace jcm
