#include "api/sub_reply_cache.h"

namespace jcm {

std::shared_ptr<const std::string> SubReplyCache::Find(std::string_view body,
                                                       uint64_t counter) const {
  std::shared_ptr<const Entry> entry = entries_.Find(body);
  if (!entry || entry->counter != counter) return nullptr;
  hits_.fetch_add(1, std::memory_order_relaxed);
  // Shares the entry's ownership: the reply lives as long as the caller needs it.
  return std::shared_ptr<const std::string>(entry, &entry->reply);
}

void SubReplyCache::Store(std::string_view body, uint64_t counter, std::string reply) {
  if (reply.size() > max_reply_bytes_) return;
  auto entry = std::make_shared<const Entry>(Entry{counter, std::move(reply)});
  // Two threads may race; the reply built from the newer view wins.
  entries_.Store(body, std::move(entry),
                 [counter](const Entry& old) { return old.counter > counter; });
}

}  // namespace jcm
