// ApiMetrics: the process's latency histograms, shown on GET /metrics:
//
//   jcm_http_request_duration_seconds{route}  request complete -> reply handed
//                                             to the connection (ApiServer)
//   jcm_write_request_duration_seconds{class} a write request received ->
//                                             answered, on the instance the
//                                             client called; class "write"
//                                             (run here, as leader) or
//                                             "forward" (sent to the leader)
//   jcm_write_duration_seconds                a write run on this instance as
//                                             leader, mutation call to ack,
//                                             group-commit queue included
//   jcm_write_batch_duration_seconds          the leader's ZooKeeper store of
//                                             one group-commit batch
//                                             (server/cluster_writer.h)
//   jcm_forward_duration_seconds              follower -> leader round trip of
//                                             a forwarded write
//                                             (api/leader_forwarder.h)
//   jcm_long_poll_wait_seconds{outcome}       a /sub long poll, park to answer;
//                                             outcome "change" or "timeout"
//   jcm_check_duration_seconds{type}          a health check, start to verdict;
//                                             type "http" or "tcp"
//
// jcm-server makes one and hands it to the ApiServer (ApiOptions::metrics)
// and, as plain callbacks, to the health checker and the cluster writer, so
// neither depends on api/. Every series is registered up front: observing
// never registers (nor takes the registry's lock), and a series with no
// traffic shows zeros, which rate() and absent() handle better than none.
//
// Thread-safety: every accessor and histogram may be used from any thread;
// observing is lock-free (api/metrics_histogram.h).
#pragma once

#include <array>

#include "api/api_counters.h"
#include "api/metrics_histogram.h"
#include "api/metrics_registry.h"
#include "model/cluster.h"

namespace jcm {

class ApiMetrics {
 public:
  ApiMetrics();
  ApiMetrics(const ApiMetrics&) = delete;
  ApiMetrics& operator=(const ApiMetrics&) = delete;

  MetricHistogram& request_seconds(ApiRoute route) {
    size_t r = static_cast<size_t>(route);
    return *request_seconds_[r < ApiCounters::kRoutes ? r
                                                      : static_cast<size_t>(ApiRoute::kNoRoute)];
  }
  // `forwarded`: the write was sent on to the leader (class "forward").
  MetricHistogram& write_request_seconds(bool forwarded) {
    return forwarded ? *write_request_forward_seconds_ : *write_request_write_seconds_;
  }
  MetricHistogram& write_seconds() { return *write_seconds_; }
  MetricHistogram& write_batch_seconds() { return *write_batch_seconds_; }
  MetricHistogram& forward_seconds() { return *forward_seconds_; }
  // `changed`: the answer carries a change (outcome "change"), else the
  // wait ran out (outcome "timeout").
  MetricHistogram& long_poll_wait_seconds(bool changed) {
    return changed ? *long_poll_change_seconds_ : *long_poll_timeout_seconds_;
  }
  // kTcp: "tcp"; anything else: "http" (kNone is never checked).
  MetricHistogram& check_seconds(CheckType type) {
    return type == CheckType::kTcp ? *check_tcp_seconds_ : *check_http_seconds_;
  }

  const MetricsRegistry& registry() const { return registry_; }

 private:
  MetricsRegistry registry_;
  std::array<MetricHistogram*, ApiCounters::kRoutes> request_seconds_{};
  MetricHistogram* write_request_write_seconds_ = nullptr;
  MetricHistogram* write_request_forward_seconds_ = nullptr;
  MetricHistogram* write_seconds_ = nullptr;
  MetricHistogram* write_batch_seconds_ = nullptr;
  MetricHistogram* forward_seconds_ = nullptr;
  MetricHistogram* long_poll_change_seconds_ = nullptr;
  MetricHistogram* long_poll_timeout_seconds_ = nullptr;
  MetricHistogram* check_http_seconds_ = nullptr;
  MetricHistogram* check_tcp_seconds_ = nullptr;
};

}  // namespace jcm
