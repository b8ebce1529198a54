// OpinionSource: where the CheckEngine gets a second opinion before it
// publishes a NORMAL node down (issue 12 item 2). The engine asks; the
// source asks other live instances to probe the node once and delivers the
// verdict later, through HealthChecker::DeliverOpinion (so the engine's
// thread never waits on the network).
//
// Thread-safety: Ask is called on the checker thread and must not block
// (queue the work elsewhere). Verdicts may be delivered from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace jcm {

struct OpinionRequest {
  uint64_t id = 0;      // echoed in the verdict
  std::string cluster;  // the peers look the node up in their own registry
  std::string spec;     // Node::Spec() of the node
  int peers = 2;        // how many other instances to ask
  int timeout_ms = 0;   // no verdict within this: taken as "none reached it"
};

enum class OpinionVerdict {
  kReachable,    // at least one peer's probe succeeded
  kUnreachable,  // every peer that answered failed to reach it
  kNoAnswer,     // no peer answered (treated as unreachable)
};

class OpinionSource {
 public:
  virtual ~OpinionSource() = default;
  // Returns false when there is nobody to ask (this instance is alone, or
  // its queue is full): the engine then decides alone, as without opinions.
  virtual bool Ask(const OpinionRequest& request) = 0;
};

const char* ToString(OpinionVerdict verdict);

}  // namespace jcm
