// Table views of clusters for `jcmctl ls` and `jcmctl get`, from the JSON the
// API returns (jcm's full form). Pure functions of their input, so the
// layout is unit-tested without a server.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace jcm::ctl {

// Nodes of one cluster by health. Health columns count ONLINE nodes only;
// nodes switched offline are counted in `offline` whatever their status.
struct HealthCounts {
  int total = 0, normal = 0, abnormal = 0, timeout = 0, invalid = 0, offline = 0;
};
HealthCounts CountNodes(const nlohmann::json& cluster);

// `clusters`: GET /c's data (an array of clusters).
std::string RenderClusterList(const nlohmann::json& clusters, bool color);

// `cluster`: GET /c/{name}'s data. `now_ms` (unix ms) ages the last checks.
std::string RenderCluster(const nlohmann::json& cluster, int64_t now_ms, bool color);

// "never", "850ms ago", "12s ago", "5m ago", "3h ago", "2d ago".
std::string FormatAge(int64_t then_ms, int64_t now_ms);

}  // namespace jcm::ctl
