// StatusReport: what the owner of a cluster writes to its status znode after
// a round, and StatusSink, where the health checker hands it.
//
// Thread-safety: StatusReport is a plain value. StatusSink::WriteStatuses is
// called from the health checker's own thread, one call at a time; an
// implementation must not block for long (each call delays the checks due
// meanwhile) and must not call back into the HealthChecker.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

struct NodeCheckState {
  // last_check_ms == kNoOpinion: the owner has not decided this node yet (it
  // has neither risen nor fallen there, and had no status to start from);
  // readers keep whatever status they last applied for it, or INVALID.
  static constexpr int64_t kNoOpinion = -1;
  NodeStatus status = NodeStatus::kInvalid;
  int64_t last_check_ms = 0;  // wall-clock ms of the last check, 0 = never
  bool operator==(const NodeCheckState&) const = default;
};

struct StatusReport {
  std::string cluster;
  std::string owner;                            // member id of the instance that checked
  uint64_t round = 0;                           // counts up from 1 per owner and cluster
  std::map<std::string, NodeCheckState> nodes;  // node spec -> state
  bool operator==(const StatusReport&) const = default;
};

class StatusSink {
 public:
  virtual ~StatusSink() = default;
  // Writes the report (to <root>/status/<cluster> in the server). A non-OK
  // result means "not written": the checker writes again after the next round
  // even if nothing changed.
  virtual Status WriteStatuses(const StatusReport& report) = 0;
};

}  // namespace jcm
