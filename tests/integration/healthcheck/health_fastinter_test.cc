// Issue 12 item 1: fast re-check. Interval 1 s, fall 2, fastinter 250 ms:
// after the first failed check the node is checked again 250 ms later
// instead of a whole interval later, so a stopped target is published down
// on every instance within about interval + fastinter (the bench
// target is p99 1.6 s; this test asserts each trial within 2.5 s and the
// median within 1.3 s, which checks a whole interval apart cannot make).
#include <gtest/gtest.h>

#include <algorithm>
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

constexpr int kTrials = 10;

class HealthFastinterTest : public JcmClusterTest {
 protected:
  HealthFastinterTest() {
    options_.extra_args = {"--health-interval-ms", "1000", "--health-fall",         "2",
                           "--health-rise",        "1",    "--health-fastinter-ms", "250"};
  }
  static std::string Name(int i) { return "fi-" + std::to_string(i); }
  std::string NodeStatus(int inst, int i) const {
    std::optional<nlohmann::json> c = cluster_->GetCluster(inst, Name(i));
    if (!c || !c->contains("nodes") || (*c)["nodes"].empty()) return "";
    return (*c)["nodes"][0].value("status", "");
  }
  long long FastChecks() const { return SumHealth("fastChecks"); }
  // Sum over the instances of /sys/status health.<key> (or .history.<key>).
  long long SumHealth(const std::string& key, bool history = false) const {
    long long n = 0;
    for (int inst = 0; inst < 3; ++inst) {
      std::optional<nlohmann::json> s = cluster_->Status(inst);
      if (!s || !s->contains("health")) continue;
      const nlohmann::json& h = (*s)["health"];
      if (!history) {
        n += h.value(key, 0LL);
      } else if (h.contains("history")) {
        n += h["history"].value(key, 0LL);
      }
    }
    return n;
  }

  LoopbackHttpTargets targets_;
};

TEST_F(HealthFastinterTest, StoppedTargetPublishedDownEverywhereWithinTheBound) {
  std::vector<int> t;
  for (int i = 0; i < kTrials; ++i) {
    t.push_back(targets_.Add("127.0.33." + std::to_string(i + 1)));
    ASSERT_GE(t.back(), 0);
    nlohmann::json nodes =
        nlohmann::json::array({NodeDoc(targets_.ip(t.back()), targets_.port(t.back()))});
    HttpReply r = HttpPostJson(cluster_->address(i % 3), "/c", ClusterDoc(Name(i), nodes, "HTTP"));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  for (int i = 0; i < kTrials; ++i) {
    for (int inst = 0; inst < 3; ++inst) {
      ASSERT_TRUE(WaitUntil([&] { return NodeStatus(inst, i) == "NORMAL"; }, milliseconds(10000)))
          << Name(i) << " on " << inst;
    }
  }
  const long long fast_before = FastChecks();
  const long long recorded_before = SumHealth("recorded", /*history=*/true);
  std::vector<long long> took;
  for (int i = 0; i < kTrials; ++i) {
    const auto start = std::chrono::steady_clock::now();
    targets_.Stop(t[i]);
    ASSERT_TRUE(WaitUntil(
        [&] {
          for (int inst = 0; inst < 3; ++inst) {
            std::string st = NodeStatus(inst, i);
            if (st != "ABNORMAL" && st != "TIMEOUT") return false;
          }
          return true;
        },
        milliseconds(6000), milliseconds(5)))
        << Name(i) << " not down everywhere within 6 s";
    took.push_back(MsSince(start));
  }
  std::string all;
  for (long long ms : took) all += std::to_string(ms) + " ";
  for (long long ms : took) EXPECT_LE(ms, 2500) << "stop-to-down everywhere (ms): " << all;
  std::vector<long long> sorted = took;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_LE(sorted[kTrials / 2], 1300) << "median; all (ms): " << all;
  EXPECT_GE(FastChecks() - fast_before, kTrials) << "one extra check per stopped target at least";
  // Each NORMAL -> down is in its owner's transition history.
  EXPECT_EQ(SumHealth("recorded", /*history=*/true) - recorded_before, kTrials);
  std::cerr << "stop-to-down everywhere (ms): " << all << "\n";
}

}  // namespace
}  // namespace jcm::testing
