// Issue 12, mass failure: 500 nodes of 20 clusters stop at once (3
// instances, interval 1 s, fall 2, fastinter 250 ms, extra checks capped at
// 20/s per instance). Every node is published down on every instance within
// the bound, the extra checks stay under the cap, and once everything is
// down nothing more is written (status writes stay change-only). Second
// opinions are on (the default, 2 peers): every down verdict was confirmed
// by the other instances, in batches, within the same bound.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/healthcheck/loopback_http_targets.h"
#include "tests/support/http_json.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kClusters = 20;
constexpr int kNodes = 25;
constexpr int kCapPerSec = 20;

class HealthMassFailureTest : public JcmClusterTest {
 protected:
  HealthMassFailureTest() {
    options_.extra_args = {"--health-interval-ms",
                           "1000",
                           "--health-fall",
                           "2",
                           "--health-fastinter-ms",
                           "250",
                           "--health-fastinter-max-per-sec",
                           std::to_string(kCapPerSec)};
  }
  static std::string Name(int i) { return "mf-" + std::to_string(i); }
  // Number of nodes of cluster i instance `inst` shows as `want`
  // ("DOWN": ABNORMAL or TIMEOUT).
  int Count(int inst, int i, const std::string& want) const {
    std::optional<nlohmann::json> c = cluster_->GetCluster(inst, Name(i));
    if (!c) return 0;
    int n = 0;
    for (const auto& node : c->value("nodes", nlohmann::json::array())) {
      std::string st = node.value("status", "");
      n += want == "DOWN" ? (st == "ABNORMAL" || st == "TIMEOUT") : st == want;
    }
    return n;
  }
  bool All(const std::string& want) const {
    for (int inst = 0; inst < 3; ++inst) {
      for (int i = 0; i < kClusters; ++i) {
        if (Count(inst, i, want) != kNodes) return false;
      }
    }
    return true;
  }
  long long Health(int inst, const std::string& key) const {
    std::optional<nlohmann::json> s = cluster_->Status(inst);
    return s && s->contains("health") ? (*s)["health"].value(key, 0LL) : -1;
  }
  long long SumHealth(const std::string& key) const {
    long long n = 0;
    for (int inst = 0; inst < 3; ++inst) n += Health(inst, key);
    return n;
  }
  long long SumOpinions(const std::string& key) const {
    long long n = 0;
    for (int inst = 0; inst < 3; ++inst) {
      std::optional<nlohmann::json> s = cluster_->Status(inst);
      if (s && s->contains("health")) n += (*s)["health"]["secondOpinions"].value(key, 0LL);
    }
    return n;
  }

  LoopbackHttpTargets targets_;
};

TEST_F(HealthMassFailureTest, FiveHundredNodesStopAtOnce) {
  std::vector<int> t;
  nlohmann::json nodes = nlohmann::json::array();
  for (int j = 0; j < kNodes; ++j) {
    t.push_back(targets_.Add("127.0.34." + std::to_string(j + 1)));
    ASSERT_GE(t.back(), 0);
    nodes.push_back(NodeDoc(targets_.ip(t.back()), targets_.port(t.back())));
  }
  for (int i = 0; i < kClusters; ++i) {
    HttpReply r = HttpPostJson(cluster_->address(i % 3), "/c", ClusterDoc(Name(i), nodes, "HTTP"));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  ASSERT_TRUE(WaitUntil([&] { return All("NORMAL"); }, milliseconds(20000)));
  std::vector<long long> fast_before;
  for (int inst = 0; inst < 3; ++inst) fast_before.push_back(Health(inst, "fastChecks"));

  const auto start = std::chrono::steady_clock::now();
  for (int x : t) targets_.Stop(x);
  ASSERT_TRUE(WaitUntil([&] { return All("DOWN"); }, milliseconds(10000), milliseconds(20)))
      << "not every node down everywhere within 10 s";
  const long long took = MsSince(start);
  // Capped nodes fall on their ordinary checks: two intervals, plus the
  // peers' second opinion, the write and its propagation. The bound is for
  // an optimised build, and the times come in two modes: 2.09-2.13 s in most
  // runs, 2.9-3.9 s in some (seen in CI runs and once alone; the slow mode's
  // cause is not traced yet). An ASan/UBSan build (-O0) took 4.2 s once.
#if defined(__SANITIZE_ADDRESS__)
  constexpr long long kBoundMs = 6000;
#else
  constexpr long long kBoundMs = 4500;
#endif
  EXPECT_LE(took, kBoundMs) << "all 500 nodes down everywhere after " << took << " ms";
  std::cout << "all 500 nodes down everywhere after " << took << " ms\n";
  const double seconds = static_cast<double>(MsSince(start)) / 1000.0;
  long long fast_total = 0;
  for (int inst = 0; inst < 3; ++inst) {
    const long long fast = Health(inst, "fastChecks") - fast_before[inst];
    fast_total += fast;
    // A full bucket to start with, then the rate.
    EXPECT_LE(fast, kCapPerSec + static_cast<long long>(kCapPerSec * seconds) + 1)
        << "instance " << inst << " made " << fast << " extra checks in " << seconds << " s";
  }
  EXPECT_GT(fast_total, 0);
  EXPECT_GT(SumHealth("fastCapped"), 0) << "500 failing nodes should have hit a 20/s cap";
  // Each of the 500 NORMAL -> down verdicts asked the peers, and they
  // confirmed it; no question went unanswered or found nobody to ask.
  EXPECT_EQ(SumOpinions("confirmed"), kClusters * kNodes);
  EXPECT_EQ(SumOpinions("unanswered"), 0);
  EXPECT_EQ(SumOpinions("alone"), 0);
  EXPECT_EQ(SumOpinions("reachable"), 0);

  // Everything is down and stays down: nothing more to write.
  const long long writes = SumHealth("statusWrites");
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(SumHealth("statusWrites"), writes) << "status written with nothing changed";
  EXPECT_TRUE(All("DOWN"));
}

}  // namespace
}  // namespace jcm::testing
