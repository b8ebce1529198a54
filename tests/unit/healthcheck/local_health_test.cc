// LocalHealth (issue 12 item 3) on a hand-moved clock.
#include "healthcheck/local_health.h"

#include <gtest/gtest.h>

namespace jcm {
namespace {

LocalHealthOptions Opts() {
  LocalHealthOptions o;
  o.window_ms = 5000;
  o.min_clusters = 5;
  o.failing_share = 0.5;
  o.late_ms = 250;
  o.recover_ms = 10000;
  return o;
}

// 20 clusters checked at `now`; the first `failing` of them fail.
void CheckAll(LocalHealth* h, int failing, int64_t now) {
  for (uint32_t i = 0; i < 20; ++i) h->OnCheck(i, static_cast<int>(i) < failing, now);
}

TEST(LocalHealthTest, FailuresInFewClustersAreAnOutageNotUs) {
  LocalHealth h(Opts());
  CheckAll(&h, 4, 0);  // below min_clusters
  h.Evaluate(0, true);
  EXPECT_FALSE(h.degraded());
  EXPECT_EQ(h.failing_clusters(), 4);
  EXPECT_EQ(h.checked_clusters(), 20);
  CheckAll(&h, 9, 1000);  // 9 of 20: below half
  h.Evaluate(1000, true);
  EXPECT_FALSE(h.degraded());
}

TEST(LocalHealthTest, FailuresAcrossManyClustersDegradeUntilQuietForRecoverMs) {
  LocalHealth h(Opts());
  CheckAll(&h, 12, 0);
  EXPECT_TRUE(h.Evaluate(0, true));
  EXPECT_TRUE(h.degraded());
  EXPECT_EQ(h.reason(), LocalHealth::Reason::kWideFailures);
  EXPECT_EQ(h.episodes(), 1u);
  // All well from 1 s on; the failures leave the window at 5 s; degraded
  // until 10 s after the last evaluation that saw them.
  int64_t t = 1000;
  for (; t <= 20000; t += 250) {
    CheckAll(&h, 0, t);
    h.Evaluate(t);
    if (!h.degraded()) break;
  }
  EXPECT_GE(t, 4750 + 10000);
  EXPECT_LE(t, 5000 + 10000 + 250);
  EXPECT_EQ(h.reason(), LocalHealth::Reason::kNone);
}

TEST(LocalHealthTest, ALateLoopDegrades) {
  LocalHealth h(Opts());
  CheckAll(&h, 0, 0);
  h.OnLate(100, 0);  // under late_ms: noise
  h.Evaluate(0, true);
  EXPECT_FALSE(h.degraded());
  h.OnLate(400, 100);
  h.Evaluate(100, true);
  EXPECT_TRUE(h.degraded());
  EXPECT_EQ(h.reason(), LocalHealth::Reason::kLateLoop);
}

TEST(LocalHealthTest, EvaluatesAtMostEveryQuarterSecondAndForgetsFreedSlots) {
  LocalHealth h(Opts());
  h.Evaluate(0, true);
  CheckAll(&h, 20, 10);
  EXPECT_FALSE(h.Evaluate(100));  // too soon: not re-evaluated
  EXPECT_FALSE(h.degraded());
  EXPECT_TRUE(h.Evaluate(LocalHealth::kEvaluateMs));
  EXPECT_TRUE(h.degraded());
  for (uint32_t i = 0; i < 20; ++i) h.Forget(i);
  h.Evaluate(1000, true);
  EXPECT_EQ(h.checked_clusters(), 0);
}

}  // namespace
}  // namespace jcm
