// Decoding of the small request bodies and parameters of the cluster routes
// (the cluster and node documents themselves are model/cluster_codec.h's).
// Every refusal is an InvalidArgument that names the field and the value.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster_codec.h"
#include "model/status.h"

namespace jcm {

// `true`/`false`; where `allow_words`, also "ONLINE"/"OFFLINE" as JCM's
// documents spell the switch.
Status DecodeBool(const nlohmann::json& doc, const std::string& field, bool allow_words, bool* out);

// A node spec "ip|PROTO:port[|PROTO:port]" with a valid IP literal, returned
// in canonical order (HTTP before TCP).
Status DecodeSpec(const nlohmann::json& doc, const std::string& field, std::string* out);

// DELETE /c/node/{name}: a non-empty JSON array of distinct specs. `field`
// names the list in a refusal.
Status DecodeSpecList(const nlohmann::json& doc, std::vector<std::string>* out,
                      const std::string& field = "specs");

// POST /c/nodes/{name}: {"remove": [spec, ...], "add": [node, ...]}, either
// member optional (not both), each list non-empty and without duplicates
// when present; no other member.
Status DecodeNodeChanges(const nlohmann::json& doc, std::vector<std::string>* remove,
                         std::vector<Node>* add);

// POST /c/node/online/{name}: {"spec": "...", "online": true}.
Status DecodeNodeOnline(const nlohmann::json& doc, std::string* spec, bool* online);

// ?form= of the cluster reads: "" or "full" -> kFull, "jcm" -> kJcm.
Status DecodeClusterForm(const std::string& param, ClusterJsonForm* out);

}  // namespace jcm
