#include "healthcheck/local_health.h"

namespace jcm {

void LocalHealth::OnCheck(uint32_t slot, bool failed, int64_t now) {
  if (slot >= seen_.size()) seen_.resize(slot + 1);
  seen_[slot].checked = now;
  if (failed) seen_[slot].failed = now;
}

void LocalHealth::Forget(uint32_t slot) {
  if (slot < seen_.size()) seen_[slot] = Seen{};
}

void LocalHealth::OnLate(int64_t late_ms, int64_t now) {
  if (late_ms >= options_.late_ms) last_late_ = now;
}

bool LocalHealth::Evaluate(int64_t now, bool force) {
  if (!force && evaluated_ >= 0 && now - evaluated_ < kEvaluateMs) return false;
  evaluated_ = now;
  const int64_t since = now - options_.window_ms;
  int checked = 0, failing = 0;
  for (const Seen& s : seen_) {
    if (s.checked < 0 || s.checked < since) continue;
    ++checked;
    if (s.failed >= 0 && s.failed >= since) ++failing;
  }
  checked_clusters_ = checked;
  failing_clusters_ = failing;
  Reason sign = Reason::kNone;
  if (last_late_ >= 0 && last_late_ >= since) {
    sign = Reason::kLateLoop;
  } else if (failing >= options_.min_clusters &&
             static_cast<double>(failing) >=
                 options_.failing_share * static_cast<double>(checked)) {
    sign = Reason::kWideFailures;
  }
  const bool was = degraded_;
  if (sign != Reason::kNone) {
    last_sign_ = now;
    if (!degraded_) ++episodes_;
    degraded_ = true;
    reason_ = sign;
  } else if (degraded_ && now - last_sign_ >= options_.recover_ms) {
    degraded_ = false;
    reason_ = Reason::kNone;
  }
  return was != degraded_;
}

const char* ToString(LocalHealth::Reason reason) {
  switch (reason) {
    case LocalHealth::Reason::kWideFailures:
      return "failures-across-clusters";
    case LocalHealth::Reason::kLateLoop:
      return "late-loop";
    case LocalHealth::Reason::kNone:
      break;
  }
  return "none";
}

}  // namespace jcm
