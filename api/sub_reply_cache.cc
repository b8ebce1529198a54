#include "api/sub_reply_cache.h"

namespace jcm {

std::shared_ptr<const std::string> SubReplyCache::Find(std::string_view body,
                                                       uint64_t counter) const {
  if (body.size() > limits_.max_body_bytes) return nullptr;
  std::lock_guard lock(mu_);
  auto it = entries_.find(body);
  if (it == entries_.end() || it->second.counter != counter) return nullptr;
  ++hits_;
  return it->second.reply;
}

void SubReplyCache::Store(std::string_view body, uint64_t counter, std::string reply) {
  if (body.size() > limits_.max_body_bytes || reply.size() > limits_.max_reply_bytes) return;
  auto shared = std::make_shared<const std::string>(std::move(reply));
  std::lock_guard lock(mu_);
  auto it = entries_.find(body);
  if (it != entries_.end()) {
    // Never replace a reply with an older one (two threads may race).
    if (it->second.counter <= counter) it->second = Entry{counter, std::move(shared)};
    return;
  }
  if (entries_.size() >= limits_.max_entries) entries_.erase(entries_.begin());
  entries_.emplace(std::string(body), Entry{counter, std::move(shared)});
}

size_t SubReplyCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

uint64_t SubReplyCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace jcm
