#include "api/long_poll_table.h"

namespace jcm {

bool LongPollTable::Park(std::shared_ptr<ParkedPoll> poll) {
  std::lock_guard lock(mu_);
  if (shut_down_ || polls_.size() >= capacity_) return false;
  poll->id = next_id_++;
  for (const std::string& name : poll->names) by_name_[name].insert(poll->id);
  polls_.emplace(poll->id, std::move(poll));
  return true;
}

void LongPollTable::EraseLocked(uint64_t id, const ParkedPoll& poll) {
  for (const std::string& name : poll.names) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) continue;
    it->second.erase(id);
    if (it->second.empty()) by_name_.erase(it);
  }
  polls_.erase(id);
}

bool LongPollTable::Remove(const ParkedPoll& poll) {
  std::lock_guard lock(mu_);
  auto it = polls_.find(poll.id);
  if (it == polls_.end() || it->second.get() != &poll) return false;
  EraseLocked(poll.id, poll);
  return true;
}

std::vector<std::shared_ptr<ParkedPoll>> LongPollTable::TakeHolding(const std::string& name) {
  std::vector<std::shared_ptr<ParkedPoll>> taken;
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return taken;
  std::vector<uint64_t> ids(it->second.begin(), it->second.end());
  for (uint64_t id : ids) {
    auto p = polls_.find(id);
    if (p == polls_.end()) continue;
    std::shared_ptr<ParkedPoll> poll = p->second;
    EraseLocked(id, *poll);
    taken.push_back(std::move(poll));
  }
  return taken;
}

std::vector<std::shared_ptr<ParkedPoll>> LongPollTable::Shutdown() {
  std::vector<std::shared_ptr<ParkedPoll>> taken;
  std::lock_guard lock(mu_);
  shut_down_ = true;
  taken.reserve(polls_.size());
  for (auto& [id, poll] : polls_) taken.push_back(std::move(poll));
  polls_.clear();
  by_name_.clear();
  return taken;
}

size_t LongPollTable::size() const {
  std::lock_guard lock(mu_);
  return polls_.size();
}

}  // namespace jcm
