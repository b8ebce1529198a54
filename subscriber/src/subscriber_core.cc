#include "subscriber/src/subscriber_core.h"

#include "model/validation.h"

namespace jcm::internal {

SubscriberCore::SubscriberCore(SubscriberOptions options, std::shared_ptr<Transport> transport,
                               std::shared_ptr<Clock> clock)
    : options_(std::move(options)),
      transport_(std::move(transport)),
      clock_(std::move(clock)),
      poller_(options_, &registry_, transport_.get(), clock_.get()) {
  for (const std::string& name : options_.clusters) registry_.GetOrAdd(name);
}

SubscriberCore::~SubscriberCore() { Stop(); }

Status SubscriberCore::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return Status::Conflict("Subscriber::Start: already started");
    started_ = true;
  }
  // The first poll runs here so that data is there when Start() returns.
  Poller::Outcome first = PollCaught();
  std::vector<ClusterEvent> events = std::move(first.events);
  bool have_data = first.answered;
  if (!first.answered) {
    std::vector<ClusterEvent> cached = poller_.LoadCache();  // has its own barrier
    have_data = !cached.empty();
    events.insert(events.end(), cached.begin(), cached.end());
  }
  Dispatch(events);
  const auto delay = first.delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      thread_ = std::thread([this, delay] {
        {
          std::unique_lock<std::mutex> lock(mu_);
          wake_.wait_for(lock, delay, [this] { return stopping_ || poll_now_; });
          poll_now_ = false;
        }
        Run();
      });
    }
  }
  if (have_data) return Status::Ok();
  return Status::Unavailable("no jcm server answered and no disk cache was loaded; polling on");
}

void SubscriberCore::Run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    Poller::Outcome out = PollCaught();
    Dispatch(out.events);
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, out.delay, [this] { return stopping_ || poll_now_; });
    poll_now_ = false;
  }
}

Poller::Outcome SubscriberCore::PollCaught() {
  // The last-resort barrier of the polling thread (and of Start()): an
  // exception here would reach std::terminate and end the application. The
  // poll counts as unanswered, the data held stays, and polling goes on
  // after the usual interval.
  try {
    return poller_.PollOnce();
  } catch (...) {
    poller_.CountException();
    Poller::Outcome out;
    out.delay = options_.poll_interval;
    return out;
  }
}

void SubscriberCore::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  poller_.Cancel();  // interrupts a long poll in flight
  if (thread_.joinable()) thread_.join();
}

Status SubscriberCore::Subscribe(const std::string& name) {
  Status s = ValidateClusterName(name);
  if (!s.ok()) return s;
  Add(name);
  return Status::Ok();
}

std::shared_ptr<ClusterSlot> SubscriberCore::SlotFor(const std::string& name) {
  if (!ValidateClusterName(name).ok()) return nullptr;
  return Add(name);
}

std::shared_ptr<ClusterSlot> SubscriberCore::Add(const std::string& name) {
  bool added = false;
  std::shared_ptr<ClusterSlot> slot = registry_.GetOrAdd(name, &added);
  if (added) {
    // Fetch it now rather than after the pause or the long poll in flight.
    bool running;
    {
      std::lock_guard<std::mutex> lock(mu_);
      poll_now_ = true;
      running = started_ && !stopping_;
    }
    wake_.notify_all();
    if (running) poller_.Interrupt();
  }
  return slot;
}

Result<ClusterInfo> SubscriberCore::GetCluster(const std::string& name) const {
  std::shared_ptr<ClusterSlot> slot = registry_.Find(name);
  if (!slot) return Status::NotFound("cluster '" + name + "' is not subscribed");
  return DescribeSnapshot(name, *slot->Load());
}

uint64_t SubscriberCore::AddListener(Subscriber::Listener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  uint64_t id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void SubscriberCore::RemoveListener(uint64_t id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

void SubscriberCore::Dispatch(const std::vector<ClusterEvent>& events) {
  if (events.empty()) return;
  std::lock_guard<std::mutex> lock(listeners_mu_);
  for (const ClusterEvent& e : events) {
    for (auto& [id, listener] : listeners_) {
      // A throwing listener must not end the polling thread (and with it the
      // application) nor keep the event from the other listeners.
      try {
        listener(e);
      } catch (...) {
        poller_.CountException();
      }
    }
  }
}

}  // namespace jcm::internal
