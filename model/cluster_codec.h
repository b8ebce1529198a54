// JSON codec for clusters and nodes, in JCM's document format.
//
// Decoding is strict about types and validates the result (see validation.h),
// so a decoded Cluster is always valid. Unknown fields are ignored on input,
// as JCM's documents may carry fields of their own.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

enum class ClusterJsonForm {
  // Everything: definition, extensions, statuses, version. For our API.
  kFull,
  // Only the fields JCM's Java model has, so its strict mapper accepts it.
  kJcm,
  // The definition only (no version, status, lastCheck). What is stored in
  // the cluster znode; runtime state lives elsewhere.
  kStored,
};

// "field: expected <want>, got <type> '<value>'" as an InvalidArgument. The
// value is shown by JsonTextPrefix: bounded, whatever its size or depth.
Status JsonTypeError(const std::string& field, const nlohmann::json& value, const char* want);

// The first `max` characters of `value`'s JSON text ("..." appended when cut),
// built without recursion in O(max) time, however large or deep `value` is.
std::string JsonTextPrefix(const nlohmann::json& value, size_t max);

// InvalidArgument "body: nested deeper than <max_depth>" if `text` opens more
// than `max_depth` arrays/objects inside one another. One linear pass.
Status CheckJsonDepth(std::string_view text, int max_depth);

// Parses text from a caller, a znode or a file. Never throws: malformed JSON
// is an InvalidArgument that says where, a number beyond a double (1e400) an
// InvalidArgument too, nesting beyond limits::kMaxJsonDepth is refused
// before parsing.
Status ParseJsonText(std::string_view text, nlohmann::json* out);

// Decodes and validates a cluster document.
Status DecodeCluster(const nlohmann::json& doc, Cluster* out);

// Decodes and validates a JSON array of node documents (POST /c/node/{name}).
// Refuses an empty list and duplicate specs.
Status DecodeNodeList(const nlohmann::json& doc, std::vector<Node>* out,
                      const std::string& field = "nodes");

// Decodes one node document; `field` is its path for error messages.
Status DecodeNode(const nlohmann::json& doc, const std::string& field, Node* out);

nlohmann::json EncodeCluster(const Cluster& cluster, ClusterJsonForm form);
nlohmann::json EncodeNode(const Node& node, ClusterJsonForm form);

}  // namespace jcm
