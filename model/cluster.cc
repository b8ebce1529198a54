#include "model/cluster.h"

#include <algorithm>
#include <charconv>

namespace jcm {

const char* ToString(Proto proto) { return proto == Proto::kHttp ? "HTTP" : "TCP"; }

const char* ToString(CheckType type) {
  switch (type) {
    case CheckType::kHttp:
      return "HTTP";
    case CheckType::kTcp:
      return "TCP";
    case CheckType::kNone:
      return "NONE";
  }
  return "NONE";
}

const char* ToString(NodeStatus status) {
  switch (status) {
    case NodeStatus::kInvalid:
      return "INVALID";
    case NodeStatus::kNormal:
      return "NORMAL";
    case NodeStatus::kAbnormal:
      return "ABNORMAL";
    case NodeStatus::kTimeout:
      return "TIMEOUT";
  }
  return "INVALID";
}

bool ParseProto(std::string_view text, Proto* out) {
  if (text == "HTTP") return *out = Proto::kHttp, true;
  if (text == "TCP") return *out = Proto::kTcp, true;
  return false;
}

bool ParseCheckType(std::string_view text, CheckType* out) {
  if (text == "HTTP") return *out = CheckType::kHttp, true;
  if (text == "TCP") return *out = CheckType::kTcp, true;
  if (text == "NONE") return *out = CheckType::kNone, true;
  return false;
}

bool ParseNodeStatus(std::string_view text, NodeStatus* out) {
  if (text == "INVALID") return *out = NodeStatus::kInvalid, true;
  if (text == "NORMAL") return *out = NodeStatus::kNormal, true;
  if (text == "ABNORMAL") return *out = NodeStatus::kAbnormal, true;
  if (text == "TIMEOUT") return *out = NodeStatus::kTimeout, true;
  return false;
}

std::string Node::Spec() const {
  std::string spec = ip;
  for (const ProtoPort& pp : protos) {
    spec += '|';
    spec += ToString(pp.proto);
    spec += ':';
    spec += std::to_string(pp.port);
  }
  return spec;
}

std::optional<uint16_t> Node::PortFor(Proto proto) const {
  for (const ProtoPort& pp : protos) {
    if (pp.proto == proto) return pp.port;
  }
  return std::nullopt;
}

bool Node::SameDefinition(const Node& other) const {
  return ip == other.ip && protos == other.protos && udata == other.udata &&
         online == other.online && weight == other.weight;
}

const Node* Cluster::FindNode(std::string_view spec) const {
  for (const Node& n : nodes) {
    if (n.Spec() == spec) return &n;
  }
  return nullptr;
}

Node* Cluster::FindNode(std::string_view spec) {
  // By position: the node's chunk may be shared, and is copied before it
  // is handed out for writing.
  const NodeList& all = nodes;
  size_t pos = 0;
  for (const Node& n : all) {
    if (n.Spec() == spec) return &nodes.Mutable(pos);
    ++pos;
  }
  return nullptr;
}

bool CanonicalSpec(std::string_view text, std::string* out) {
  size_t bar = text.find('|');
  if (bar == std::string_view::npos || bar == 0) return false;
  Node node;
  node.ip = std::string(text.substr(0, bar));
  std::string_view rest = text.substr(bar + 1);
  while (!rest.empty()) {
    size_t next = rest.find('|');
    std::string_view part = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    if (next != std::string_view::npos && rest.empty()) return false;  // trailing '|'
    size_t colon = part.find(':');
    if (colon == std::string_view::npos) return false;
    ProtoPort pp;
    if (!ParseProto(part.substr(0, colon), &pp.proto)) return false;
    std::string_view digits = part.substr(colon + 1);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || port == 0 || port > 65535)
      return false;
    pp.port = static_cast<uint16_t>(port);
    for (const ProtoPort& seen : node.protos) {
      if (seen.proto == pp.proto) return false;
    }
    node.protos.push_back(pp);
  }
  if (node.protos.empty()) return false;
  std::sort(node.protos.begin(), node.protos.end(),
            [](const ProtoPort& a, const ProtoPort& b) { return a.proto < b.proto; });
  *out = node.Spec();
  return true;
}

}  // namespace jcm
