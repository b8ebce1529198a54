#include "api/metrics_api.h"

namespace jcm {

ApiMetrics& ApiMetrics::Instance() {
  static ApiMetrics* metrics = new ApiMetrics();  // never destroyed: used until exit
  return *metrics;
}

ApiMetrics::ApiMetrics() {
  // Every route registered up front, so Observe never registers (and never
  // takes the registry's lock) and a route with no traffic still shows a
  // zero series, which rate() and absent() handle better than no series.
  for (size_t r = 0; r < ApiCounters::kRoutes; ++r) {
    request_seconds_[r] = registry_.Histogram(
        "jcm_http_request_duration_seconds",
        "Time from a request read in full to its reply handed to the connection, by route.",
        {{"route", ToString(static_cast<ApiRoute>(r))}}, MetricHistogram::LatencyBounds());
  }
  write_seconds_ = registry_.Histogram(
      "jcm_write_duration_seconds",
      "Writes run on this instance as leader: from the mutation call to its ack, ZooKeeper "
      "write included.",
      {}, MetricHistogram::LatencyBounds());
  forward_seconds_ = registry_.Histogram(
      "jcm_forward_duration_seconds",
      "Writes this follower forwarded to the leader: the forward and the read-your-writes wait.",
      {}, MetricHistogram::LatencyBounds());
  long_poll_wait_seconds_ = registry_.Histogram("jcm_long_poll_wait_seconds",
                                                "Parked /sub long polls: from park to answer.", {},
                                                MetricHistogram::WaitBounds());
}

}  // namespace jcm
