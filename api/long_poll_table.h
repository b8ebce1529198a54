// LongPollTable: the long polls parked right now, indexed by the names of
// the clusters each one holds, so a change to one cluster finds exactly the
// polls that wait on it, without scanning the others.
//
// Ownership protocol: a poll is in the table or it is not. Whoever takes it
// out (Remove returning true, TakeHolding, Shutdown) is the one party that
// may complete it or park it again; the others find it gone and do nothing.
// That is what makes a change, a timeout and a shutdown racing on one poll
// answer it exactly once.
//
// Thread-safety: all methods are thread-safe (one mutex, held for map
// operations only).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace jcm {

// What the table needs of a poll; the subscribe handler derives from it.
struct ParkedPoll {
  virtual ~ParkedPoll() = default;
  uint64_t id = 0;                 // set by Park()
  std::vector<std::string> names;  // the clusters it holds, each once
};

class LongPollTable {
 public:
  explicit LongPollTable(size_t capacity) : capacity_(capacity) {}

  // Parks `poll` under each of its names. False (and not parked) when
  // `capacity` polls are parked already or after Shutdown().
  bool Park(std::shared_ptr<ParkedPoll> poll);
  // Takes `poll` out. True iff it was parked.
  bool Remove(const ParkedPoll& poll);
  // Takes out and returns every poll holding `name`.
  std::vector<std::shared_ptr<ParkedPoll>> TakeHolding(const std::string& name);
  // Takes out every poll; Park() fails from now on.
  std::vector<std::shared_ptr<ParkedPoll>> Shutdown();

  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  // REQUIRES: mu_ held; `poll` is parked under `id`.
  void EraseLocked(uint64_t id, const ParkedPoll& poll);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<ParkedPoll>> polls_;        // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::unordered_set<uint64_t>> by_name_;  // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;                                                   // GUARDED_BY(mu_)
  bool shut_down_ = false;                                                 // GUARDED_BY(mu_)
};

}  // namespace jcm
