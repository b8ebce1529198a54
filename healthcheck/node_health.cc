#include "healthcheck/node_health.h"

#include <algorithm>

namespace jcm {

const char* ToString(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kSuccess:
      return "success";
    case CheckOutcome::kBadAnswer:
      return "bad-answer";
    case CheckOutcome::kNoAnswer:
      return "no-answer";
  }
  return "unknown";
}

NodeHealth::NodeHealth(NodeStatus initial, int64_t last_check_ms)
    : status_(initial), decided_(initial != NodeStatus::kInvalid), last_check_ms_(last_check_ms) {}

bool NodeHealth::Record(CheckOutcome outcome, int rise, int fall, int64_t now_ms) {
  rise = std::max(rise, 1);
  fall = std::max(fall, 1);
  last_check_ms_ = now_ms;
  const NodeStatus before = status_;
  if (outcome == CheckOutcome::kSuccess) {
    failures_ = 0;
    if (successes_ < rise) ++successes_;
    if (successes_ >= rise) {
      status_ = NodeStatus::kNormal;
      decided_ = true;
    }
  } else {
    successes_ = 0;
    if (failures_ < fall) ++failures_;
    if (failures_ >= fall) {
      status_ = outcome == CheckOutcome::kNoAnswer ? NodeStatus::kTimeout : NodeStatus::kAbnormal;
      decided_ = true;
    }
  }
  return status_ != before;
}

bool NodeHealth::SetOffline() {
  const NodeStatus before = status_;
  status_ = NodeStatus::kInvalid;
  decided_ = true;  // offline is INVALID by definition, not for lack of checks
  successes_ = 0;
  failures_ = 0;
  return status_ != before;
}

bool NodeHealth::SetUnchecked(int64_t now_ms) {
  const NodeStatus before = status_;
  status_ = NodeStatus::kNormal;
  decided_ = true;
  successes_ = 0;
  failures_ = 0;
  last_check_ms_ = now_ms;
  return status_ != before;
}

}  // namespace jcm
