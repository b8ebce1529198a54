// SubscriberCore: the machinery behind jcm::Subscriber (kept out of the
// public header): the registry of slots, the Poller, the polling thread and
// the listeners.
//
// Thread-safety: all methods are thread-safe. The polling thread is started
// by Start() and joined by Stop() (or the destructor); it is the only thread
// that runs the Poller after Start() returns. No exception leaves the polling
// thread or Start(): the poll and each listener call are behind barriers.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "jcm/subscriber.h"
#include "subscriber/src/clock.h"
#include "subscriber/src/cluster_registry.h"
#include "subscriber/src/poller.h"
#include "subscriber/src/transport.h"

namespace jcm::internal {

class SubscriberCore {
 public:
  // REQUIRES: `options` validated (Subscriber::Create does it).
  SubscriberCore(SubscriberOptions options, std::shared_ptr<Transport> transport,
                 std::shared_ptr<Clock> clock);
  ~SubscriberCore();

  Status Start();
  void Stop();
  Status Subscribe(const std::string& name);
  std::shared_ptr<ClusterSlot> SlotFor(const std::string& name);
  Result<ClusterInfo> GetCluster(const std::string& name) const;
  uint64_t AddListener(Subscriber::Listener listener);
  void RemoveListener(uint64_t id);
  SubscriberStats stats() const { return poller_.stats(); }

 private:
  void Run();
  // PollOnce behind a barrier: no exception leaves it.
  Poller::Outcome PollCaught();
  // Subscribes `name` (valid) and makes the polling thread fetch it now.
  std::shared_ptr<ClusterSlot> Add(const std::string& name);
  void Dispatch(const std::vector<ClusterEvent>& events);

  const SubscriberOptions options_;
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<Clock> clock_;
  ClusterRegistry registry_;
  Poller poller_;

  std::mutex mu_;  // guards the fields below
  std::condition_variable wake_;
  bool started_ = false;   // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool poll_now_ = false;  // GUARDED_BY(mu_): a cluster was added
  std::thread thread_;

  // Held while listeners run, so RemoveListener() returning means the
  // listener is not running and never will again.
  std::mutex listeners_mu_;
  std::map<uint64_t, Subscriber::Listener> listeners_;  // GUARDED_BY(listeners_mu_)
  uint64_t next_listener_id_ = 1;                       // GUARDED_BY(listeners_mu_)
};

}  // namespace jcm::internal
