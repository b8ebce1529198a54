// Validation of names, addresses and whole clusters. Every refusal names the
// field (as a JSON path such as "nodes[2].protos[0].port") and the value.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

// [A-Za-z0-9._-]{1,128}, and not "." or ".." (ZooKeeper path rules).
Status ValidateClusterName(std::string_view name);

// True iff `ip` is a literal IPv4 (dotted quad) or IPv6 address.
bool IsIpLiteral(std::string_view ip);

// Checks one node; `field` is its JSON path, e.g. "nodes[3]".
Status ValidateNode(const Node& node, const std::string& field);

// Checks a node list: each node, and no spec twice. `field` prefixes paths.
Status ValidateNodes(const std::vector<Node>& nodes, const std::string& field);
Status ValidateNodes(const NodeList& nodes, const std::string& field);

// Checks a whole cluster definition.
Status ValidateCluster(const Cluster& cluster);
// Everything ValidateCluster checks except the nodes themselves.
Status ValidateClusterFields(const Cluster& cluster);
// No spec twice (each node already valid).
Status CheckDuplicateSpecs(const std::vector<Node>& nodes, const std::string& field);
Status CheckDuplicateSpecs(const NodeList& nodes, const std::string& field);

// Quotes a value for an error message, shortening very long ones and
// escaping control characters (\x0a), so a message is one safe log line.
std::string QuoteForError(std::string_view value);

}  // namespace jcm
