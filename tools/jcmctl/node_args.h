// Turning add-node's command-line arguments into a JCM node document.
//
// "HTTP:8080,TCP:9090" lists a node's ports. Protocol names are
// case-insensitive here (people type "http:80"); ports must be 1-65535 and a
// protocol may appear once. These are usage errors, caught before anything
// is sent. The IP is deliberately not checked here: the server validates it
// and its refusal names the field, as for any client.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/status.h"

namespace jcm::ctl {

// [{"port": 8080, "proto": "HTTP"}, ...] in the order given.
Result<nlohmann::json> ParseProtoPorts(std::string_view text);

// {"ip", "protos", "online": "ONLINE"[, "weight"][, "udata"]}.
nlohmann::json NodeDocument(const std::string& ip, const nlohmann::json& protos,
                            std::optional<int> weight, const std::string& udata);

}  // namespace jcm::ctl
