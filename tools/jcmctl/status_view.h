// The view of `jcmctl status`: the deployment as one instance sees it
// (leader, members, ZooKeeper) plus each member's share of health checking,
// read from that member's own /sys/status ("health.checking").
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace jcm::ctl {

// `status`: /sys/status data of the instance that answered.
// `member_status`: by member address, that member's /sys/status data, or
// null when it did not answer (its share is then shown as unknown).
std::string RenderStatus(const nlohmann::json& status,
                         const std::map<std::string, nlohmann::json>& member_status, bool color);

// The JSON form: `status` with "checkerShare": [{"address", "id",
// "checking", "share"}] added (share null when unknown).
nlohmann::json StatusJson(const nlohmann::json& status,
                          const std::map<std::string, nlohmann::json>& member_status);

}  // namespace jcm::ctl
