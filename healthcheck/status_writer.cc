#include "healthcheck/status_writer.h"

#include <algorithm>
#include <chrono>

namespace jcm {
namespace {

// A retry writes the same bytes into the same refusal.
bool Permanent(const Status& s) {
  return s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kTooLarge;
}

}  // namespace

StatusWriter::StatusWriter(StatusSink* downstream, HealthCounters* counters)
    : downstream_(downstream), counters_(counters) {}

StatusWriter::~StatusWriter() { Stop(); }

void StatusWriter::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void StatusWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  queued_.clear();
  order_.clear();
  counters_->write_queue.store(0, std::memory_order_relaxed);
}

Status StatusWriter::WriteStatuses(const StatusReport& report) {
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = queued_.insert_or_assign(report.cluster, report);
    if (inserted) {
      order_.push_back(report.cluster);
    } else {
      counters_->writes_coalesced.fetch_add(1, std::memory_order_relaxed);
    }
    counters_->write_queue.store(queued_.size(), std::memory_order_relaxed);
  }
  cv_.notify_one();
  return Status::Ok();
}

size_t StatusWriter::pending() const {
  std::lock_guard lock(mu_);
  return queued_.size();
}

void StatusWriter::Run() {
  int64_t backoff_ms = 0;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !order_.empty(); });
    if (stop_) return;
    std::string name = std::move(order_.front());
    order_.pop_front();
    auto it = queued_.find(name);
    if (it == queued_.end()) continue;
    StatusReport report = std::move(it->second);
    queued_.erase(it);
    lock.unlock();

    Status s = downstream_ ? downstream_->WriteStatuses(report) : Status::Ok();

    lock.lock();
    if (s.ok() || Permanent(s)) {
      backoff_ms = 0;
      if (!s.ok()) counters_->write_errors.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_->write_errors.fetch_add(1, std::memory_order_relaxed);
      // Keep it for a retry unless a newer report took its place meanwhile.
      if (queued_.emplace(name, std::move(report)).second) order_.push_back(name);
      backoff_ms = std::clamp<int64_t>(backoff_ms * 2, kMinBackoffMs, kMaxBackoffMs);
      cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stop_; });
    }
    counters_->write_queue.store(queued_.size(), std::memory_order_relaxed);
    if (stop_) return;
  }
}

}  // namespace jcm
