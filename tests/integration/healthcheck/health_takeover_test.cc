// The instance that checks a cluster is killed: another instance takes the
// cluster over within session timeout + 2 intervals, and at no moment does
// any live instance report a healthy node as down.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "tests/integration/healthcheck/health_fixture.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class HealthTakeoverTest : public HealthClusterTest {};

TEST_F(HealthTakeoverTest, OwnerKilledAnotherTakesOverWithoutFalseDowns) {
  const std::vector<int> all = {0, 1, 2};
  for (int i = 0; i < kClusters; ++i) {
    ASSERT_TRUE(WaitUntil([&] { return AllSee(all, i, "NORMAL"); }, milliseconds(15000)))
        << ClusterName(i);
  }
  const std::string watched = ClusterName(0);
  int owner = -1;
  for (int inst = 0; inst < 3; ++inst) {
    std::vector<std::string> c = Checking(inst);
    if (std::find(c.begin(), c.end(), watched) != c.end()) owner = inst;
  }
  ASSERT_GE(owner, 0) << "nobody checks " << watched;
  std::vector<int> survivors;
  for (int inst = 0; inst < 3; ++inst) {
    if (inst != owner) survivors.push_back(inst);
  }

  auto start = std::chrono::steady_clock::now();
  cluster_->server(owner).Kill();
  const long long bound = options_.session_timeout_ms + 2 * kIntervalMs;
  int new_owner = -1;
  long long takeover_ms = -1;
  int false_downs = 0;
  std::string first_false_down;
  // Watch every cluster on both survivors until the takeover, then two
  // intervals more.
  while (MsSince(start) < bound + 3000) {
    for (int inst : survivors) {
      for (int i = 0; i < kClusters; ++i) {
        std::string st = NodeStatus(inst, i);
        if (st != "NORMAL") {
          if (false_downs++ == 0) {
            first_false_down = "instance " + std::to_string(inst) + " said " + ClusterName(i) +
                               " is '" + st + "' at " + std::to_string(MsSince(start)) + " ms";
          }
        }
      }
      if (new_owner < 0) {
        std::vector<std::string> c = Checking(inst);
        if (std::find(c.begin(), c.end(), watched) != c.end()) {
          new_owner = inst;
          takeover_ms = MsSince(start);
        }
      }
    }
    if (new_owner >= 0 && MsSince(start) > takeover_ms + 2 * kIntervalMs) break;
  }
  ASSERT_GE(new_owner, 0) << "no survivor took over " << watched;
  EXPECT_LE(takeover_ms, bound) << "takeover after " << takeover_ms << " ms";
  EXPECT_EQ(false_downs, 0) << first_false_down;

  // The new owner really checks: a stopped target is seen down.
  StopTarget(0);
  EXPECT_TRUE(WaitUntil([&] { return AllSee(survivors, 0, "DOWN"); },
                        milliseconds(kFall * kIntervalMs + 3000)));
}

}  // namespace
}  // namespace jcm::testing
