#include "api/api_counters.h"

namespace jcm {

const char* ToString(ApiRoute route) {
  switch (route) {
    case ApiRoute::kHealthz:
      return "healthz";
    case ApiRoute::kReadyz:
      return "readyz";
    case ApiRoute::kListClusters:
      return "listClusters";
    case ApiRoute::kGetCluster:
      return "getCluster";
    case ApiRoute::kPutCluster:
      return "putCluster";
    case ApiRoute::kDeleteCluster:
      return "deleteCluster";
    case ApiRoute::kClusterOnline:
      return "clusterOnline";
    case ApiRoute::kAddNodes:
      return "addNodes";
    case ApiRoute::kRemoveNodes:
      return "removeNodes";
    case ApiRoute::kChangeNodes:
      return "changeNodes";
    case ApiRoute::kNodeOnline:
      return "nodeOnline";
    case ApiRoute::kSysStatus:
      return "sysStatus";
    case ApiRoute::kNsCache:
      return "nsCache";
    case ApiRoute::kSub:
      return "sub";
    case ApiRoute::kUi:
      return "ui";
    case ApiRoute::kMetrics:
      return "metrics";
    case ApiRoute::kHistory:
      return "history";
    case ApiRoute::kProbe:
      return "probe";
    case ApiRoute::kNoRoute:
    case ApiRoute::kCount:
      break;
  }
  return "noRoute";
}

void ApiCounters::CountReply(ApiRoute route, int http_status) {
  size_t cls = http_status >= 500 ? 2 : http_status >= 400 ? 1 : 0;
  std::atomic<uint64_t>& total = cls == 2 ? replies_5xx : cls == 1 ? replies_4xx : replies_2xx;
  total.fetch_add(1, std::memory_order_relaxed);
  size_t r = static_cast<size_t>(route);
  if (r < kRoutes) by_route[r][cls].fetch_add(1, std::memory_order_relaxed);
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
  nlohmann::json routes = nlohmann::json::object();
  for (size_t r = 0; r < kRoutes; ++r) {
    uint64_t ok = get(by_route[r][0]), c4 = get(by_route[r][1]), c5 = get(by_route[r][2]);
    if (ok + c4 + c5 == 0) continue;
    routes[ToString(static_cast<ApiRoute>(r))] = {{"2xx", ok}, {"4xx", c4}, {"5xx", c5}};
  }
  return {
      {"requests", get(requests)},
      {"routes", std::move(routes)},
      {"replies",
       {{"2xx", get(replies_2xx)}, {"4xx", get(replies_4xx)}, {"5xx", get(replies_5xx)}}},
      {"errors", std::move(errors)},
      {"forwarded", get(forwarded)},
      {"forwardFailures", get(forward_failures)},
      {"forwardsMerged", get(forwards_merged)},
      {"forwardsMergedWrites", get(forwards_merged_writes)},
      {"forwardMergeFallbacks", get(forward_merge_fallbacks)},
      {"forwardsMergedMixed", get(forwards_merged_mixed)},
      {"readYourWritesTimeouts", get(read_your_writes_timeouts)},
      {"writesHeld", get(writes_held)},
      {"subRequests", get(sub_requests)},
      {"subCachedReplies", get(sub_cached_replies)},
      {"subDeltaUnits", get(sub_delta_units)},
      {"subDeltaFullUnits", get(sub_delta_full_units)},
      {"subDeltaNodesRead", get(sub_delta_nodes_read)},
      {"longPolls", get(long_polls)},
      {"longPollsRefused", get(long_polls_refused)},
      {"longPollsParked", get(long_polls_parked)},
  };
}

}  // namespace jcm
