#include "api/metrics_api.h"

namespace jcm {

ApiMetrics::ApiMetrics() {
  for (size_t r = 0; r < ApiCounters::kRoutes; ++r) {
    request_seconds_[r] = registry_.Histogram(
        "jcm_http_request_duration_seconds",
        "Time from a request read in full to its reply handed to the connection, by route.",
        {{"route", ToString(static_cast<ApiRoute>(r))}}, MetricHistogram::LatencyBounds());
  }
  const char* kWriteRequest =
      "Write requests, received to answered, on the instance the client called: run here as "
      "leader (class write) or sent on to the leader (class forward).";
  write_request_write_seconds_ =
      registry_.Histogram("jcm_write_request_duration_seconds", kWriteRequest, {{"class", "write"}},
                          MetricHistogram::WriteBounds());
  write_request_forward_seconds_ =
      registry_.Histogram("jcm_write_request_duration_seconds", kWriteRequest,
                          {{"class", "forward"}}, MetricHistogram::WriteBounds());
  write_seconds_ = registry_.Histogram(
      "jcm_write_duration_seconds",
      "Writes run on this instance as leader: from the mutation call to its ack, the "
      "group-commit queue and the ZooKeeper write included.",
      {}, MetricHistogram::WriteBounds());
  write_batch_seconds_ = registry_.Histogram(
      "jcm_write_batch_duration_seconds",
      "The leader's ZooKeeper write of one group-commit batch of a cluster (each attempt).", {},
      MetricHistogram::WriteBounds());
  forward_seconds_ = registry_.Histogram(
      "jcm_forward_duration_seconds",
      "Writes this follower forwarded: the round trip to the leader, answer or failure.", {},
      MetricHistogram::WriteBounds());
  const char* kWait =
      "Parked /sub long polls, from park to answer: a change answered it (outcome change) or "
      "its wait ran out (outcome timeout).";
  long_poll_change_seconds_ = registry_.Histogram(
      "jcm_long_poll_wait_seconds", kWait, {{"outcome", "change"}}, MetricHistogram::WaitBounds());
  long_poll_timeout_seconds_ = registry_.Histogram(
      "jcm_long_poll_wait_seconds", kWait, {{"outcome", "timeout"}}, MetricHistogram::WaitBounds());
  const char* kCheck =
      "Health checks run by this instance, from the check's start (connect) to its verdict, by "
      "probe type.";
  check_http_seconds_ = registry_.Histogram("jcm_check_duration_seconds", kCheck,
                                            {{"type", "http"}}, MetricHistogram::CheckBounds());
  check_tcp_seconds_ = registry_.Histogram("jcm_check_duration_seconds", kCheck, {{"type", "tcp"}},
                                           MetricHistogram::CheckBounds());
}

}  // namespace jcm
