// MetricsTimedExchange: wraps an HttpExchange and observes, in a latency
// histogram, the time from the request's arrival to its reply, whichever
// path answers it (at once on an I/O thread, later from a worker, or after
// a parked long poll). ApiServer wraps every routed request in one.
//
// Thread-safety: as HttpExchange: Reply() from any thread, exactly once
// observed; the histogram is lock-free.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <utility>

#include "api/http_request.h"
#include "api/metrics_histogram.h"

namespace jcm {

class MetricsTimedExchange : public HttpExchange {
 public:
  // `received`: the request's arrival; the epoch (a request built by a
  // test) means "now".
  MetricsTimedExchange(HttpExchangePtr inner, MetricHistogram* histogram,
                       std::chrono::steady_clock::time_point received)
      : inner_(std::move(inner)),
        histogram_(histogram),
        received_(received == std::chrono::steady_clock::time_point{}
                      ? std::chrono::steady_clock::now()
                      : received) {}

  void Reply(HttpReply reply) override {
    if (!observed_.exchange(true, std::memory_order_relaxed)) histogram_->ObserveSince(received_);
    inner_->Reply(std::move(reply));
  }
  boost::asio::any_io_executor executor() const override { return inner_->executor(); }

 private:
  const HttpExchangePtr inner_;
  MetricHistogram* const histogram_;
  const std::chrono::steady_clock::time_point received_;
  std::atomic<bool> observed_{false};
};

}  // namespace jcm
