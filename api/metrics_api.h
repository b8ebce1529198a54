// ApiMetrics: the process's latency histograms, shown on GET /metrics:
//
//   jcm_http_request_duration_seconds{route}  request complete -> reply handed
//                                             to the connection (ApiServer)
//   jcm_write_duration_seconds                a write run on this instance as
//                                             leader, mutation call to ack,
//                                             ZooKeeper write included
//   jcm_forward_duration_seconds              a write forwarded to the leader,
//                                             read-your-writes wait included
//   jcm_long_poll_wait_seconds                a /sub long poll, park to answer
//
// One per process (Instance()), like the default registry of Prometheus
// clients: the code that observes (the subscribe handler, the server) gets
// it without plumbing, and jcm-server runs one ApiServer per process.
//
// Thread-safety: Instance() and every histogram may be used from any
// thread; observing is lock-free (api/metrics_histogram.h).
#pragma once

#include <array>

#include "api/api_counters.h"
#include "api/metrics_histogram.h"
#include "api/metrics_registry.h"

namespace jcm {

class ApiMetrics {
 public:
  static ApiMetrics& Instance();

  MetricHistogram& request_seconds(ApiRoute route) {
    size_t r = static_cast<size_t>(route);
    return *request_seconds_[r < ApiCounters::kRoutes ? r
                                                      : static_cast<size_t>(ApiRoute::kNoRoute)];
  }
  MetricHistogram& write_seconds() { return *write_seconds_; }
  MetricHistogram& forward_seconds() { return *forward_seconds_; }
  MetricHistogram& long_poll_wait_seconds() { return *long_poll_wait_seconds_; }

  const MetricsRegistry& registry() const { return registry_; }

 private:
  ApiMetrics();

  MetricsRegistry registry_;
  std::array<MetricHistogram*, ApiCounters::kRoutes> request_seconds_{};
  MetricHistogram* write_seconds_ = nullptr;
  MetricHistogram* forward_seconds_ = nullptr;
  MetricHistogram* long_poll_wait_seconds_ = nullptr;
};

}  // namespace jcm
