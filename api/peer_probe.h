// POST /sys/probe: another jcm instance asks this one to check nodes once,
// from here, before it publishes them down (a "second opinion", issue 12).
//
//   request  {"probes": [{"cluster": "<name>", "node": "<spec>"}, ...]}
//   answer   {"self": "<this instance>",
//             "results": [{"cluster", "node", "outcome", "reachable"}, ...]}
//
// in the request's order. `outcome` is "success", "bad-answer" (refused,
// reset, wrong HTTP code), "no-answer" (timeout) or "unknown" (no such
// cluster or node here, the node is not checked, or this instance is busy
// or stopping); `reachable` is true for "success" only.
//
// The node is named, not described: this instance looks the cluster up in
// its own registry and checks the node exactly as its owner would (the
// cluster's check type, port, path, ok codes, timeout), from its own
// --check-source-ip. So the route cannot be used to make the server
// connect anywhere a registered node is not. It is a write route for
// authentication: with a tokens file naming write tokens it needs one
// (instances send the first write token of their own tokens file, see
// server/opinion_client.h).
//
// Thread-safety: the parse and format functions are pure.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/status.h"

namespace jcm {

struct PeerProbe {
  std::string cluster;
  std::string node;  // Node::Spec()
};

// Checks the probes; calls `done` exactly once, from any thread, with one
// outcome per probe (strings as above).
using PeerProbeFn = std::function<void(std::vector<PeerProbe> probes,
                                       std::function<void(std::vector<std::string>)> done)>;

inline constexpr size_t kMaxPeerProbes = 512;  // per request

// InvalidArgument naming the field and the value for a malformed body.
Status ParsePeerProbes(std::string_view body, std::vector<PeerProbe>* out);
nlohmann::json PeerProbeAnswer(const std::string& self, const std::vector<PeerProbe>& probes,
                               const std::vector<std::string>& outcomes);

}  // namespace jcm
