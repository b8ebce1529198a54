// What `jcmctl watch` reports: the difference between two views of a
// cluster's nodes, as one NodeChange per node that was added, removed, went
// down or came up, or was switched offline or online.
//
// A node is usable when ONLINE and NORMAL (what clients pick). "down" and
// "up" are changes of usability of an online node; switching a node offline
// says "offline" (not also "down"), switching it online says "online" and,
// if it is already NORMAL, "up".
//
// Thread-safety: pure functions over plain values.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace jcm::ctl {

struct NodeState {
  bool online = true;
  std::string status = "INVALID";  // NORMAL, ABNORMAL, TIMEOUT, INVALID
  bool usable() const { return online && status == "NORMAL"; }
  bool operator==(const NodeState&) const = default;
};

// By spec ("ip|HTTP:port|TCP:port").
using NodeStates = std::map<std::string, NodeState>;

// The nodes of a cluster document in jcm's full form (GET /c/{name}, or
// RESP_UPDATE's cluster). Nodes without a usable ip are skipped.
NodeStates StatesOfCluster(const nlohmann::json& cluster);

// RESP_STATUS carries only the specs that are not usable: every other node
// becomes NORMAL; an online node in `invalids` that was NORMAL becomes
// "DOWN" (the reply does not say whether ABNORMAL or TIMEOUT).
NodeStates ApplyInvalids(const NodeStates& held, const std::set<std::string>& invalids);

// RESP_DELTA (docs/subscribe-protocol.md): the `removed` specs go, the
// nodes of `changed` (the unit's cluster, holding only new or changed
// nodes) are set. `removed` must be an array of strings; anything else in
// it is skipped.
NodeStates ApplyDelta(const NodeStates& held, const nlohmann::json& removed,
                      const nlohmann::json& changed);

struct NodeChange {
  enum class Kind { kAdded, kRemoved, kDown, kUp, kOffline, kOnline };
  Kind kind;
  std::string spec;
  std::string status;  // the node's status after the change ("" when removed)
  bool operator==(const NodeChange&) const = default;
};

const char* KindName(NodeChange::Kind kind);

// Removed first, then added, then the others; by spec within each group.
std::vector<NodeChange> DiffNodes(const NodeStates& before, const NodeStates& after);

// "2026-12-01T00:30:12.345Z" for milliseconds since the epoch (UTC).
std::string FormatTimestamp(int64_t unix_ms);

// One line of watch output, without '\n':
// "<time>  <cluster>  <kind>  <spec>  <status>"; or, as JSON,
// {"time", "cluster", "change", "spec", "status"}.
std::string FormatChangeLine(int64_t unix_ms, const std::string& cluster, const NodeChange& c);
nlohmann::json ChangeJson(int64_t unix_ms, const std::string& cluster, const NodeChange& c);

}  // namespace jcm::ctl
