#include "model/validation.h"

#include <arpa/inet.h>

#include <unordered_set>

#include "model/limits.h"

namespace jcm {

std::string QuoteForError(std::string_view value) {
  constexpr size_t kShown = 64;
  // Control characters are shown escaped: these messages go into logs, and
  // a hostile value must not be able to forge a log line.
  auto append_escaped = [](std::string* out, std::string_view v) {
    for (char c : v) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        *out += "\\x";
        *out += kHex[u >> 4];
        *out += kHex[u & 15];
      } else {
        *out += c;
      }
    }
  };
  std::string out = "'";
  if (value.size() <= kShown) {
    append_escaped(&out, value);
  } else {
    // Cut on a UTF-8 boundary: half a character would make the message
    // invalid UTF-8, which JSON encoders refuse.
    size_t cut = kShown;
    while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
    append_escaped(&out, value.substr(0, cut));
    out += "...' (" + std::to_string(value.size()) + " characters";
    return out + ")";
  }
  return out + "'";
}

Status ValidateClusterName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("name: must not be empty");
  if (name.size() > limits::kMaxClusterNameLength) {
    return Status::InvalidArgument("name: " + QuoteForError(name) + " is longer than " +
                                   std::to_string(limits::kMaxClusterNameLength) + " characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("name: " + QuoteForError(name) +
                                     " may only hold letters, digits, '.', '_' and '-'");
    }
  }
  if (name == "." || name == "..") {
    return Status::InvalidArgument("name: " + QuoteForError(name) + " is reserved");
  }
  return Status::Ok();
}

bool IsIpLiteral(std::string_view ip) {
  if (ip.empty() || ip.size() > 45) return false;
  std::string text(ip);
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

Status ValidateNode(const Node& node, const std::string& field) {
  if (!IsIpLiteral(node.ip)) {
    return Status::InvalidArgument(field + ".ip: " + QuoteForError(node.ip) +
                                   " is not an IPv4 or IPv6 literal");
  }
  if (node.protos.empty()) {
    return Status::InvalidArgument(field + ".protos: a node needs at least one {port, proto}");
  }
  bool seen[2] = {false, false};
  for (size_t i = 0; i < node.protos.size(); ++i) {
    const ProtoPort& pp = node.protos[i];
    std::string pfield = field + ".protos[" + std::to_string(i) + "]";
    if (pp.port == 0) return Status::InvalidArgument(pfield + ".port: 0 is out of range 1-65535");
    int idx = pp.proto == Proto::kHttp ? 0 : 1;
    if (seen[idx]) {
      return Status::InvalidArgument(pfield + ".proto: '" + std::string(ToString(pp.proto)) +
                                     "' appears twice; at most one port per proto");
    }
    seen[idx] = true;
  }
  if (node.weight < limits::kMinWeight || node.weight > limits::kMaxWeight) {
    return Status::InvalidArgument(field + ".weight: " + std::to_string(node.weight) +
                                   " is out of range " + std::to_string(limits::kMinWeight) + "-" +
                                   std::to_string(limits::kMaxWeight));
  }
  if (node.udata.size() > limits::kMaxUdataLength) {
    return Status::InvalidArgument(field + ".udata: " + std::to_string(node.udata.size()) +
                                   " characters is longer than " +
                                   std::to_string(limits::kMaxUdataLength));
  }
  return Status::Ok();
}

namespace {

// Both node containers: a request's vector and a cluster's NodeList.
template <typename Nodes>
Status CheckDuplicateSpecsIn(const Nodes& nodes, const std::string& field) {
  std::unordered_set<std::string> specs;
  specs.reserve(nodes.size());
  size_t i = 0;
  for (const Node& n : nodes) {
    std::string spec = n.Spec();
    if (!specs.insert(spec).second) {
      return Status::InvalidArgument(field + "[" + std::to_string(i) + "]: duplicate spec '" +
                                     spec + "'");
    }
    ++i;
  }
  return Status::Ok();
}

template <typename Nodes>
Status ValidateNodesIn(const Nodes& nodes, const std::string& field) {
  if (nodes.size() > limits::kMaxNodesPerCluster) {
    return Status::InvalidArgument(field + ": " + std::to_string(nodes.size()) +
                                   " nodes is more than " +
                                   std::to_string(limits::kMaxNodesPerCluster));
  }
  size_t i = 0;
  for (const Node& n : nodes) {
    Status s = ValidateNode(n, field + "[" + std::to_string(i++) + "]");
    if (!s.ok()) return s;
  }
  return CheckDuplicateSpecsIn(nodes, field);
}

}  // namespace

Status CheckDuplicateSpecs(const std::vector<Node>& nodes, const std::string& field) {
  return CheckDuplicateSpecsIn(nodes, field);
}

Status CheckDuplicateSpecs(const NodeList& nodes, const std::string& field) {
  return CheckDuplicateSpecsIn(nodes, field);
}

Status ValidateNodes(const std::vector<Node>& nodes, const std::string& field) {
  return ValidateNodesIn(nodes, field);
}

Status ValidateNodes(const NodeList& nodes, const std::string& field) {
  return ValidateNodesIn(nodes, field);
}

Status ValidateCluster(const Cluster& cluster) {
  Status s = ValidateClusterFields(cluster);
  if (!s.ok()) return s;
  return ValidateNodes(cluster.nodes, "nodes");
}

Status ValidateClusterFields(const Cluster& cluster) {
  Status s = ValidateClusterName(cluster.name);
  if (!s.ok()) return s;
  if (cluster.check_type == CheckType::kHttp) {
    if (cluster.check_file.empty() || cluster.check_file[0] != '/') {
      return Status::InvalidArgument("checkFile: " + QuoteForError(cluster.check_file) +
                                     " must be a path starting with '/'");
    }
  }
  if (cluster.check_file.size() > limits::kMaxCheckFileLength) {
    return Status::InvalidArgument("checkFile: longer than " +
                                   std::to_string(limits::kMaxCheckFileLength) + " characters");
  }
  for (char c : cluster.check_file) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Status::InvalidArgument("checkFile: " + QuoteForError(cluster.check_file) +
                                     " holds a space or control character");
    }
  }
  const CheckSettings& cs = cluster.check;
  if (cs.interval_ms != 0 &&
      (cs.interval_ms < limits::kMinIntervalMs || cs.interval_ms > limits::kMaxIntervalMs)) {
    return Status::InvalidArgument("intervalMs: " + std::to_string(cs.interval_ms) +
                                   " is out of range " + std::to_string(limits::kMinIntervalMs) +
                                   "-" + std::to_string(limits::kMaxIntervalMs));
  }
  if (cs.timeout_ms < 0 ||
      (cs.timeout_ms != 0 && cs.interval_ms != 0 && cs.timeout_ms >= cs.interval_ms)) {
    return Status::InvalidArgument("timeoutMs: " + std::to_string(cs.timeout_ms) +
                                   " must be positive and below intervalMs");
  }
  if (cs.fast_inter_ms != 0 &&
      (cs.fast_inter_ms < limits::kMinIntervalMs || cs.fast_inter_ms > limits::kMaxIntervalMs ||
       (cs.interval_ms != 0 && cs.fast_inter_ms > cs.interval_ms))) {
    return Status::InvalidArgument("fastInterMs: " + std::to_string(cs.fast_inter_ms) +
                                   " is out of range " + std::to_string(limits::kMinIntervalMs) +
                                   "-intervalMs");
  }
  if (cs.second_opinions < -1 || cs.second_opinions > limits::kMaxSecondOpinions) {
    return Status::InvalidArgument("secondOpinions: " + std::to_string(cs.second_opinions) +
                                   " is out of range 0-" +
                                   std::to_string(limits::kMaxSecondOpinions));
  }
  if (cs.rise < 0 || cs.rise > limits::kMaxRiseFall) {
    return Status::InvalidArgument("rise: " + std::to_string(cs.rise) + " is out of range 1-" +
                                   std::to_string(limits::kMaxRiseFall));
  }
  if (cs.fall < 0 || cs.fall > limits::kMaxRiseFall) {
    return Status::InvalidArgument("fall: " + std::to_string(cs.fall) + " is out of range 1-" +
                                   std::to_string(limits::kMaxRiseFall));
  }
  for (size_t i = 0; i < cs.ok_codes.size(); ++i) {
    if (cs.ok_codes[i] < limits::kMinHttpStatusCode ||
        cs.ok_codes[i] > limits::kMaxHttpStatusCode) {
      return Status::InvalidArgument("okCodes[" + std::to_string(i) +
                                     "]: " + std::to_string(cs.ok_codes[i]) +
                                     " is not an HTTP status code");
    }
  }
  if (cluster.nodes.size() > limits::kMaxNodesPerCluster) {
    return Status::InvalidArgument("nodes: " + std::to_string(cluster.nodes.size()) +
                                   " nodes is more than " +
                                   std::to_string(limits::kMaxNodesPerCluster));
  }
  return Status::Ok();
}

}  // namespace jcm
