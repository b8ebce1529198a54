// CheckTargetPolicy: which node addresses this instance's health checker may
// probe. A node's address is a caller's choice and every check is an
// outbound connection made on that caller's behalf, so some targets are
// refused (issue 9 item 5):
//
// - always: link-local (169.254.0.0/16, fe80::/10: cloud metadata services
//   live there) and unspecified (0.0.0.0, ::: the local host on Linux);
// - --check-deny CIDR[,CIDR...]: more refused networks;
// - --check-allow CIDR[,CIDR...]: when given, only these networks are
//   allowed (the refusals above still apply inside them).
//
// An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is judged as the IPv4
// address it connects to. Loopback and private networks are allowed unless
// denied.
//
// Writes refuse nodes the policy refuses (a 400 naming the node), but only
// new ones: a node already stored under a policy that allowed it is kept,
// served, and not checked (Refusal() marks it, the checker skips it).
//
// Thread-safety: immutable after Create(); const methods from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

class CheckTargetPolicy {
 public:
  // The built-in refusals only.
  CheckTargetPolicy();
  // Parses the flags' values ("" = not given). An InvalidArgument names the
  // flag and the entry that is not a CIDR (or an address).
  static Result<CheckTargetPolicy> Create(std::string_view allow, std::string_view deny);

  // Empty when `ip` may be checked; otherwise why not, e.g.
  // "refused: link-local 169.254.0.0/16", "refused by --check-deny 10.0.0.0/8",
  // "refused: outside --check-allow". An unparsable `ip` is refused too.
  std::string Refusal(std::string_view ip) const;

  // InvalidArgument for the first node of `nodes` that is refused and not
  // `stored` (already held under that spec), naming it and its index
  // ("nodes[2] '169.254.169.254|HTTP:80': ..."). `field` prefixes the index.
  Status CheckNewNodes(const std::vector<Node>& nodes, const std::string& field,
                       const std::function<bool(const Node&)>& stored) const;

  // Node::not_checked for `node` of `cluster`: Refusal(node.ip), or empty
  // for a cluster with checkType NONE (never probed: nothing is marked).
  // ClusterRegistry marks every definition with it (SetNodeMarker).
  std::string MarkOf(const Cluster& cluster, const Node& node) const;

  // The networks, as given (for /sys/status and logs).
  std::vector<std::string> AllowText() const;
  std::vector<std::string> DenyText() const;

 private:
  struct Net {
    bool v6 = false;
    std::array<uint8_t, 16> addr{};
    int prefix = 0;
    std::string text;    // as written, e.g. "10.0.0.0/8"
    std::string reason;  // the refusal message for a match
  };
  static Status ParseNet(std::string_view text, const char* flag, Net* out);
  static bool Contains(const Net& net, bool v6, const std::array<uint8_t, 16>& addr);

  std::vector<Net> deny_;  // the built-in ones first
  std::vector<Net> allow_;
};

// `cluster` without the nodes MarkOf() refused (the same pointer when none
// is); adds how many it left out to *refused.
std::shared_ptr<const Cluster> WithoutRefusedNodes(std::shared_ptr<const Cluster> cluster,
                                                   size_t* refused);

}  // namespace jcm
