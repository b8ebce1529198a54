#include "storage/bad_znode_log.h"

namespace jcm {

bool BadZnodeLog::FirstReport(const std::string& path, int64_t mzxid) {
  std::lock_guard lock(mu_);
  auto [it, added] = last_reported_.try_emplace(path, mzxid);
  if (!added && it->second == mzxid) return false;
  it->second = mzxid;
  ++reported_;
  return true;
}

bool BadZnodeLog::Reported(const std::string& path, int64_t mzxid) const {
  std::lock_guard lock(mu_);
  auto it = last_reported_.find(path);
  return it != last_reported_.end() && it->second == mzxid;
}

void BadZnodeLog::Clear(const std::string& path) {
  std::lock_guard lock(mu_);
  last_reported_.erase(path);
}

uint64_t BadZnodeLog::reported() const {
  std::lock_guard lock(mu_);
  return reported_;
}

}  // namespace jcm
