// Each cluster is checked by exactly one instance; statuses reach every
// instance; a stopped target is seen down within fall x interval + 1 s and up
// again within rise x interval + 1 s; nothing is written while nothing
// changes.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "tests/integration/healthcheck/health_fixture.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class HealthOwnershipTest : public HealthClusterTest {};

TEST_F(HealthOwnershipTest, EachClusterCheckedOnceAndStatusesEverywhere) {
  const std::vector<int> all = {0, 1, 2};
  for (int i = 0; i < kClusters; ++i) {
    ASSERT_TRUE(WaitUntil([&] { return AllSee(all, i, "NORMAL"); }, milliseconds(15000)))
        << ClusterName(i) << " never NORMAL everywhere; instance 0 says " << NodeStatus(0, i);
  }
  std::map<std::string, int> owners;
  for (int inst = 0; inst < 3; ++inst) {
    for (const std::string& name : Checking(inst)) owners[name] += 1;
  }
  for (int i = 0; i < kClusters; ++i) {
    EXPECT_EQ(owners[ClusterName(i)], 1) << ClusterName(i) << " checked by that many instances";
  }
  // With three members and 30 names, every member should own some.
  for (int inst = 0; inst < 3; ++inst) EXPECT_FALSE(Checking(inst).empty()) << inst;
}

TEST_F(HealthOwnershipTest, NoWritesWhileNothingChanges) {
  const std::vector<int> all = {0, 1, 2};
  for (int i = 0; i < kClusters; ++i) {
    ASSERT_TRUE(WaitUntil([&] { return AllSee(all, i, "NORMAL"); }, milliseconds(15000)));
  }
  auto versions = [&] {
    std::vector<long long> v;
    for (int i = 0; i < kClusters; ++i) {
      std::optional<nlohmann::json> c = cluster_->GetCluster(1, ClusterName(i));
      v.push_back(c ? c->value("statusVersion", -1LL) : -1LL);
    }
    return v;
  };
  auto writes = [&] {
    long long total = 0;
    for (int inst = 0; inst < 3; ++inst) {
      std::optional<nlohmann::json> s = cluster_->Status(inst);
      if (s) total += (*s)["health"].value("statusWrites", 0LL);
    }
    return total;
  };
  std::vector<long long> before = versions();
  long long writes_before = writes();
  // Several full rounds of checks: real processes, so real time passes.
  std::this_thread::sleep_for(milliseconds(4 * kIntervalMs));
  EXPECT_EQ(versions(), before) << "a status znode was written with nothing changed";
  EXPECT_EQ(writes(), writes_before);
  for (int i = 0; i < kClusters; ++i) EXPECT_GT(before[i], 0) << ClusterName(i);
}

TEST_F(HealthOwnershipTest, StoppedTargetSeenDownThenUpOnEveryInstance) {
  const std::vector<int> all = {0, 1, 2};
  for (int i : {0, 1}) {
    ASSERT_TRUE(WaitUntil([&] { return AllSee(all, i, "NORMAL"); }, milliseconds(15000)));
  }
  for (int i : {0, 1}) {  // one HTTP cluster, one TCP cluster
    SCOPED_TRACE(ClusterName(i));
    auto start = std::chrono::steady_clock::now();
    StopTarget(i);
    const long long down_bound = kFall * kIntervalMs + 1000;
    ASSERT_TRUE(WaitUntil([&] { return AllSee(all, i, "DOWN"); }, milliseconds(down_bound + 3000),
                          milliseconds(20)));
    long long down_ms = MsSince(start);
    EXPECT_LE(down_ms, down_bound) << "down seen everywhere after " << down_ms << " ms";

    start = std::chrono::steady_clock::now();
    StartTarget(i);
    const long long up_bound = kRise * kIntervalMs + 1000;
    ASSERT_TRUE(WaitUntil([&] { return AllSee(all, i, "NORMAL"); }, milliseconds(up_bound + 3000),
                          milliseconds(20)));
    long long up_ms = MsSince(start);
    EXPECT_LE(up_ms, up_bound) << "up seen everywhere after " << up_ms << " ms";
  }
}

}  // namespace
}  // namespace jcm::testing
