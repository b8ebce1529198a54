#include "api/api_counters.h"

namespace jcm {

void ApiCounters::CountReply(int http_status) {
  if (http_status >= 500) {
    replies_5xx.fetch_add(1, std::memory_order_relaxed);
  } else if (http_status >= 400) {
    replies_4xx.fetch_add(1, std::memory_order_relaxed);
  } else {
    replies_2xx.fetch_add(1, std::memory_order_relaxed);
  }
}

void ApiCounters::CountError(Status::Code code) {
  size_t i = static_cast<size_t>(code);
  if (i < kCodes) errors_by_code[i].fetch_add(1, std::memory_order_relaxed);
}

nlohmann::json ApiCounters::ToJson() const {
  auto get = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  nlohmann::json errors = nlohmann::json::object();
  for (size_t i = 1; i < kCodes; ++i) {
    errors[Status::CodeName(static_cast<Status::Code>(i))] = get(errors_by_code[i]);
  }
  return {
      {"requests", get(requests)},
      {"replies",
       {{"2xx", get(replies_2xx)}, {"4xx", get(replies_4xx)}, {"5xx", get(replies_5xx)}}},
      {"errors", std::move(errors)},
      {"forwarded", get(forwarded)},
      {"forwardFailures", get(forward_failures)},
      {"readYourWritesTimeouts", get(read_your_writes_timeouts)},
      {"subRequests", get(sub_requests)},
      {"longPolls", get(long_polls)},
      {"longPollsRefused", get(long_polls_refused)},
      {"longPollsParked", get(long_polls_parked)},
  };
}

}  // namespace jcm
