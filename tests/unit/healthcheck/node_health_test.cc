#include "healthcheck/node_health.h"

#include <gtest/gtest.h>

namespace jcm {
namespace {

constexpr auto S = CheckOutcome::kSuccess;
constexpr auto B = CheckOutcome::kBadAnswer;
constexpr auto T = CheckOutcome::kNoAnswer;

TEST(NodeHealth, NewNodeIsInvalidUntilItRises) {
  NodeHealth h;
  EXPECT_EQ(h.status(), NodeStatus::kInvalid);
  EXPECT_FALSE(h.Record(S, 3, 2, 100));
  EXPECT_FALSE(h.Record(S, 3, 2, 200));
  EXPECT_EQ(h.status(), NodeStatus::kInvalid);
  EXPECT_TRUE(h.Record(S, 3, 2, 300));
  EXPECT_EQ(h.status(), NodeStatus::kNormal);
  EXPECT_EQ(h.last_check_ms(), 300);
}

TEST(NodeHealth, NewNodeFailingFallsToAbnormal) {
  NodeHealth h;
  h.Record(B, 1, 2, 1);
  EXPECT_EQ(h.status(), NodeStatus::kInvalid);
  h.Record(B, 1, 2, 2);
  EXPECT_EQ(h.status(), NodeStatus::kAbnormal);
}

TEST(NodeHealth, FallNeedsConsecutiveFailures) {
  NodeHealth h(NodeStatus::kNormal);
  h.Record(B, 1, 3, 1);
  h.Record(B, 1, 3, 2);
  h.Record(S, 1, 3, 3);  // breaks the streak
  h.Record(B, 1, 3, 4);
  h.Record(B, 1, 3, 5);
  EXPECT_EQ(h.status(), NodeStatus::kNormal);
  EXPECT_TRUE(h.Record(B, 1, 3, 6));
  EXPECT_EQ(h.status(), NodeStatus::kAbnormal);
}

TEST(NodeHealth, TimeoutVersusBadAnswerLatestKindDecides) {
  NodeHealth h(NodeStatus::kNormal);
  h.Record(B, 1, 2, 1);
  h.Record(T, 1, 2, 2);
  EXPECT_EQ(h.status(), NodeStatus::kTimeout);
  EXPECT_TRUE(h.Record(B, 1, 2, 3));
  EXPECT_EQ(h.status(), NodeStatus::kAbnormal);
  h.Record(T, 1, 2, 4);
  EXPECT_EQ(h.status(), NodeStatus::kTimeout);
}

TEST(NodeHealth, RiseNeedsConsecutiveSuccesses) {
  NodeHealth h(NodeStatus::kTimeout);
  h.Record(S, 2, 2, 1);
  h.Record(T, 2, 2, 2);
  h.Record(S, 2, 2, 3);
  EXPECT_EQ(h.status(), NodeStatus::kTimeout);
  h.Record(S, 2, 2, 4);
  EXPECT_EQ(h.status(), NodeStatus::kNormal);
}

TEST(NodeHealth, FlappingNodeKeepsItsStatus) {
  NodeHealth up(NodeStatus::kNormal);
  NodeHealth down(NodeStatus::kAbnormal);
  for (int i = 0; i < 20; ++i) {
    CheckOutcome o = i % 2 ? S : B;
    EXPECT_FALSE(up.Record(o, 2, 2, i));
    EXPECT_FALSE(down.Record(o, 2, 2, i));
  }
  EXPECT_EQ(up.status(), NodeStatus::kNormal);
  EXPECT_EQ(down.status(), NodeStatus::kAbnormal);
}

TEST(NodeHealth, RiseAndFallOfOneReactAtOnce) {
  NodeHealth h;
  EXPECT_TRUE(h.Record(S, 1, 1, 1));
  EXPECT_TRUE(h.Record(T, 1, 1, 2));
  EXPECT_EQ(h.status(), NodeStatus::kTimeout);
  EXPECT_TRUE(h.Record(S, 0, 0, 3));  // clamped to 1
  EXPECT_EQ(h.status(), NodeStatus::kNormal);
}

TEST(NodeHealth, OfflineIsInvalidAndStartsOver) {
  NodeHealth h(NodeStatus::kNormal);
  h.Record(B, 1, 3, 1);
  EXPECT_TRUE(h.SetOffline());
  EXPECT_EQ(h.status(), NodeStatus::kInvalid);
  EXPECT_FALSE(h.SetOffline());
  // Back online: the failure before going offline is forgotten.
  h.Record(S, 2, 3, 2);
  EXPECT_EQ(h.status(), NodeStatus::kInvalid);
  h.Record(S, 2, 3, 3);
  EXPECT_EQ(h.status(), NodeStatus::kNormal);
}

TEST(NodeHealth, SeededStatusNeedsAFullFallToChange) {
  // After a takeover the new owner starts from the old owner's view.
  NodeHealth h(NodeStatus::kNormal, 42);
  EXPECT_EQ(h.last_check_ms(), 42);
  EXPECT_FALSE(h.Record(T, 1, 2, 50));
  EXPECT_EQ(h.status(), NodeStatus::kNormal);
}

TEST(NodeHealth, UncheckedIsNormal) {
  NodeHealth h;
  EXPECT_TRUE(h.SetUnchecked(7));
  EXPECT_EQ(h.status(), NodeStatus::kNormal);
  EXPECT_EQ(h.last_check_ms(), 7);
}

}  // namespace
}  // namespace jcm
