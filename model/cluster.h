// The data model shared by the server and the subscriber library: a cluster
// of identical nodes, each reachable on a port per protocol, each with an
// admin switch (online) and a health status written by the checkers.
//
// Field names and enum spellings follow JCM's documents so its clusters load
// unchanged; `weight` and the check settings are jcm extensions with defaults.
//
// Thread-safety: plain values. The server and the subscriber share them as
// std::shared_ptr<const Cluster> snapshots that are never mutated after
// publication. Copies of a Cluster share their nodes' chunks (NodeList).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "model/node_list.h"

namespace jcm {

enum class Proto { kHttp, kTcp };
enum class CheckType { kHttp, kTcp, kNone };
enum class NodeStatus { kInvalid, kNormal, kAbnormal, kTimeout };

// Upper-case names as JCM writes them ("HTTP", "NORMAL", ...).
const char* ToString(Proto proto);
const char* ToString(CheckType type);
const char* ToString(NodeStatus status);
// Exact, upper-case match only. Returns false for anything else.
bool ParseProto(std::string_view text, Proto* out);
bool ParseCheckType(std::string_view text, CheckType* out);
bool ParseNodeStatus(std::string_view text, NodeStatus* out);

struct ProtoPort {
  uint16_t port = 0;
  Proto proto = Proto::kHttp;
  bool operator==(const ProtoPort&) const = default;
};

inline constexpr int kDefaultWeight = 100;

// A valid node has one or two ports (one per proto), so they live inside the
// Node: copying a node (the server copies whole clusters per version) then
// allocates nothing for them. More than two (hostile input, before
// validation refuses it) spill to the heap as a vector would.
using ProtoPorts = boost::container::small_vector<ProtoPort, 2>;

struct Node {
  std::string ip;                            // IPv4 or IPv6 literal, as given
  ProtoPorts protos;                         // at most one per proto, HTTP before TCP
  std::string udata;                         // opaque to jcm
  bool online = true;                        // admin switch
  int weight = kDefaultWeight;               // 1..10000, for weighted allocators
  NodeStatus status = NodeStatus::kInvalid;  // written by the checkers
  int64_t last_check_ms = 0;                 // wall-clock ms of the last check, 0 = never
  // Runtime, set by the server: why this instance's check-target policy
  // refuses to probe the node ("refused by --check-deny 10.0.0.0/8"); empty
  // when it may be checked. Never stored; shown as "notChecked" in our API.
  std::string not_checked;

  // The node's key, e.g. "10.0.0.7|HTTP:8080|TCP:8081".
  std::string Spec() const;
  std::optional<uint16_t> PortFor(Proto proto) const;
  // Online and checked healthy: what an allocator may pick outside panic.
  bool Usable() const { return online && status == NodeStatus::kNormal; }

  // Definition equality: ignores status and last_check_ms (runtime state).
  bool SameDefinition(const Node& other) const;
};

// Per-cluster overrides of the server's check defaults; 0 / empty = default.
struct CheckSettings {
  int interval_ms = 0;
  int timeout_ms = 0;
  int rise = 0;
  int fall = 0;
  int fast_inter_ms = 0;      // fastInterMs: re-check delay while a node changes state
  std::vector<int> ok_codes;  // empty: any 2xx is healthy
  // secondOpinions: peers asked before a node is published down; 0 = off.
  // -1 (not 0) is "the server's default", since 0 is meaningful here.
  int second_opinions = -1;
  bool operator==(const CheckSettings&) const = default;
  bool IsDefault() const { return *this == CheckSettings{}; }
};

struct Cluster {
  std::string name;
  bool online = true;
  CheckType check_type = CheckType::kHttp;
  std::string check_file = "/";
  NodeList nodes;  // shared between versions in chunks (see node_list.h)
  CheckSettings check;
  // Assigned by the store: the cluster znode's mzxid. Same on every instance,
  // only grows. 0 = never stored.
  int64_t version = 0;

  // Runtime state, not part of the definition (never stored in the cluster
  // znode, never in JCM's form):
  // The zxid of the last status write applied to `nodes[].status`; 0 = none.
  int64_t status_version = 0;
  // Fewer than the panic share of online nodes are NORMAL: clients should
  // fall back to all online nodes.
  bool panic = false;

  // Returns the node with this spec, or nullptr. Linear: callers with many
  // lookups build their own index.
  const Node* FindNode(std::string_view spec) const;
  Node* FindNode(std::string_view spec);
};

// Parses "ip|PROTO:port[|PROTO:port]" and re-emits it in canonical order
// (HTTP before TCP), so "1.2.3.4|TCP:2|HTTP:1" names the same node as
// "1.2.3.4|HTTP:1|TCP:2". Returns false if the text is not a spec.
bool CanonicalSpec(std::string_view text, std::string* out);

}  // namespace jcm
