// Issue 8 item 7: a ZooKeeper stall must not turn into false downs. Three
// jcm-server instances check 1,000 healthy HTTP nodes (50 clusters of 20,
// served by one LoopbackHttpTargets thread on 20 loopback addresses) with
// fall 1, so a single check that times out because the checker was stuck
// would publish a node down. ZooKeeper is SIGSTOPped for 3 s while some
// "victim" targets (at least one per instance) stop, so every owner has a
// status write to make during the stall. No healthy node may ever be seen
// down on any instance, and the victims' downs must get through once
// ZooKeeper is back.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/healthcheck/loopback_http_targets.h"
#include "tests/support/http_json.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kLoadClusters = 50;
constexpr int kNodesPerCluster = 20;
// Enough that every instance owns one whatever ports the ring hashes: with
// 12, one instance in about 40 runs owned none (3 x (2/3)^12); with 24,
// about one in 5,000.
constexpr int kVictims = 24;
constexpr int kIntervalMs = 500;

class HealthZkStallTest : public JcmClusterTest {
 protected:
  HealthZkStallTest() {
    options_.session_timeout_ms = 6000;
    options_.extra_args = {"--health-interval-ms", std::to_string(kIntervalMs),
                           "--health-rise",        "1",
                           "--health-fall",        "1"};
  }

  static std::string LoadName(int i) { return "zs-load-" + std::to_string(i); }
  static std::string VictimName(int i) { return "zs-victim-" + std::to_string(i); }

  // Statuses of a cluster's nodes on instance `inst` (empty if unknown).
  std::vector<std::string> Statuses(int inst, const std::string& name) const {
    std::vector<std::string> out;
    std::optional<nlohmann::json> c = cluster_->GetCluster(inst, name);
    if (!c) return out;
    for (const auto& n : c->value("nodes", nlohmann::json::array())) {
      out.push_back(n.value("status", ""));
    }
    return out;
  }
  bool AllNormal(int inst, const std::string& name, size_t nodes) const {
    std::vector<std::string> s = Statuses(inst, name);
    if (s.size() != nodes) return false;
    for (const std::string& st : s) {
      if (st != "NORMAL") return false;
    }
    return true;
  }
  std::vector<std::string> Checking(int inst) const {
    std::optional<nlohmann::json> s = cluster_->Status(inst);
    if (!s || !s->contains("health")) return {};
    return (*s)["health"].value("checking", std::vector<std::string>{});
  }

  LoopbackHttpTargets targets_;
};

TEST_F(HealthZkStallTest, ZooKeeperPausedThreeSecondsPublishesNoFalseDown) {
  std::vector<int> load;
  for (int j = 0; j < kNodesPerCluster; ++j) {
    int t = targets_.Add("127.0.30." + std::to_string(j + 1));
    ASSERT_GE(t, 0);
    load.push_back(t);
  }
  nlohmann::json load_nodes = nlohmann::json::array();
  for (int t : load) load_nodes.push_back(NodeDoc(targets_.ip(t), targets_.port(t)));
  for (int i = 0; i < kLoadClusters; ++i) {
    HttpReply r =
        HttpPostJson(cluster_->address(i % 3), "/c", ClusterDoc(LoadName(i), load_nodes, "HTTP"));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  std::vector<int> victims;
  for (int i = 0; i < kVictims; ++i) {
    int t = targets_.Add("127.0.31." + std::to_string(i + 1));
    ASSERT_GE(t, 0);
    victims.push_back(t);
    nlohmann::json nodes = nlohmann::json::array({NodeDoc(targets_.ip(t), targets_.port(t))});
    HttpReply r =
        HttpPostJson(cluster_->address(i % 3), "/c", ClusterDoc(VictimName(i), nodes, "HTTP"));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  for (int inst = 0; inst < 3; ++inst) {
    for (int i = 0; i < kLoadClusters; ++i) {
      ASSERT_TRUE(WaitUntil([&] { return AllNormal(inst, LoadName(i), kNodesPerCluster); },
                            milliseconds(20000)))
          << LoadName(i) << " never all NORMAL on instance " << inst;
    }
    for (int i = 0; i < kVictims; ++i) {
      ASSERT_TRUE(WaitUntil([&] { return AllNormal(inst, VictimName(i), 1); }, milliseconds(5000)));
    }
  }
  // Every instance owns a victim, so every one has a write to make.
  for (int inst = 0; inst < 3; ++inst) {
    int owned = 0;
    for (const std::string& name : Checking(inst)) owned += name.rfind("zs-victim-", 0) == 0;
    ASSERT_GT(owned, 0) << "instance " << inst << " checks no victim cluster";
  }

  std::string first_false_down;
  int false_downs = 0;
  auto sweep = [&](long long at_ms) {
    for (int inst = 0; inst < 3; ++inst) {
      for (int i = 0; i < kLoadClusters; ++i) {
        std::vector<std::string> s = Statuses(inst, LoadName(i));
        for (const std::string& st : s) {
          if (st == "NORMAL") continue;
          if (false_downs++ == 0) {
            first_false_down = "instance " + std::to_string(inst) + " showed a node of " +
                               LoadName(i) + " as '" + st + "' at " + std::to_string(at_ms) +
                               " ms after the pause";
          }
        }
      }
    }
  };

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster_->zk().Pause());
  for (int t : victims) targets_.Stop(t);
  while (MsSince(start) < 3000) sweep(MsSince(start));
  ASSERT_TRUE(cluster_->zk().Resume());
  // The writes held during the stall go out now; watch them land.
  while (MsSince(start) < 3000 + 6 * kIntervalMs) sweep(MsSince(start));

  EXPECT_EQ(false_downs, 0) << first_false_down;
  // The checkers kept working through the stall: the victims' downs arrive.
  for (int inst = 0; inst < 3; ++inst) {
    for (int i = 0; i < kVictims; ++i) {
      EXPECT_TRUE(WaitUntil(
          [&] {
            std::vector<std::string> s = Statuses(inst, VictimName(i));
            return s.size() == 1 && (s[0] == "ABNORMAL" || s[0] == "TIMEOUT");
          },
          milliseconds(10000)))
          << VictimName(i) << " never seen down on instance " << inst;
    }
  }
  // One more sweep after everything settled.
  sweep(MsSince(start));
  EXPECT_EQ(false_downs, 0) << first_false_down;
}

}  // namespace
}  // namespace jcm::testing
