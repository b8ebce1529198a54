// Issue 8 item 6: a health owner SIGTERMed and restarted with the same
// --advertise must not mark healthy nodes down. With rise 3 the restarted
// owner needs three rounds before it may call a node NORMAL; until then it
// has no opinion, and the other instances keep showing NORMAL. The other
// instances' views are polled throughout, from a thread of their own, while
// the owner stops and starts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
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

constexpr int kClusters = 12;
constexpr int kNodes = 3;
constexpr int kIntervalMs = 500;
constexpr int kRise = 3;

class HealthRestartTest : public JcmClusterTest {
 protected:
  HealthRestartTest() {
    options_.extra_args = {"--health-interval-ms", std::to_string(kIntervalMs),
                           "--health-rise",        std::to_string(kRise),
                           "--health-fall",        "2"};
  }
  static std::string Name(int i) { return "rs-" + std::to_string(i); }
  std::vector<std::string> Statuses(int inst, const std::string& name) const {
    std::vector<std::string> out;
    std::optional<nlohmann::json> c = cluster_->GetCluster(inst, name);
    if (!c) return out;
    for (const auto& n : c->value("nodes", nlohmann::json::array())) {
      out.push_back(n.value("status", ""));
    }
    return out;
  }
  bool AllNormal(int inst, const std::string& name) const {
    std::vector<std::string> s = Statuses(inst, name);
    return s.size() == kNodes &&
           std::all_of(s.begin(), s.end(), [](const std::string& st) { return st == "NORMAL"; });
  }
  bool Checks(int inst, const std::string& name) const {
    std::optional<nlohmann::json> s = cluster_->Status(inst);
    if (!s || !s->contains("health")) return false;
    auto v = (*s)["health"].value("checking", std::vector<std::string>{});
    return std::find(v.begin(), v.end(), name) != v.end();
  }

  LoopbackHttpTargets targets_;
};

TEST_F(HealthRestartTest, RestartedOwnerFlipsNoHealthyNode) {
  std::vector<int> t;
  nlohmann::json nodes = nlohmann::json::array();
  for (int j = 0; j < kNodes; ++j) {
    t.push_back(targets_.Add("127.0.32." + std::to_string(j + 1)));
    ASSERT_GE(t.back(), 0);
    nodes.push_back(NodeDoc(targets_.ip(t.back()), targets_.port(t.back())));
  }
  for (int i = 0; i < kClusters; ++i) {
    HttpReply r = HttpPostJson(cluster_->address(i % 3), "/c", ClusterDoc(Name(i), nodes, "HTTP"));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  for (int inst = 0; inst < 3; ++inst) {
    for (int i = 0; i < kClusters; ++i) {
      ASSERT_TRUE(WaitUntil([&] { return AllNormal(inst, Name(i)); }, milliseconds(15000)))
          << Name(i) << " on instance " << inst;
    }
  }
  int owner = -1;
  for (int inst = 0; inst < 3 && owner < 0; ++inst) {
    if (Checks(inst, Name(0))) owner = inst;
  }
  ASSERT_GE(owner, 0);
  std::vector<int> others;
  for (int inst = 0; inst < 3; ++inst) {
    if (inst != owner) others.push_back(inst);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> sweeps{0};
  std::mutex mu;
  std::string first_flip;
  int flips = 0;
  const auto start = std::chrono::steady_clock::now();
  std::thread watcher([&] {
    while (!stop) {
      for (int inst : others) {
        for (int i = 0; i < kClusters; ++i) {
          for (const std::string& st : Statuses(inst, Name(i))) {
            if (st == "NORMAL") continue;
            std::lock_guard lock(mu);
            if (flips++ == 0) {
              first_flip = "instance " + std::to_string(inst) + " showed a node of " + Name(i) +
                           " as '" + st + "' " + std::to_string(MsSince(start)) +
                           " ms after the SIGTERM";
            }
          }
        }
      }
      ++sweeps;
    }
  });

  std::string error;
  const bool restarted = cluster_->server(owner).Restart(&error);  // SIGTERM, then start
  bool checks_again =
      restarted && WaitUntil([&] { return Checks(owner, Name(0)); }, milliseconds(15000));
  // The restarted owner needs `rise` rounds to decide; watch well past that.
  const auto back = std::chrono::steady_clock::now();
  while (MsSince(back) < (kRise + 3) * kIntervalMs) std::this_thread::sleep_for(milliseconds(50));
  stop = true;
  watcher.join();
  ASSERT_TRUE(restarted) << error;
  ASSERT_TRUE(checks_again) << "the restarted owner never took " << Name(0) << " back";
  EXPECT_GT(sweeps.load(), 10);
  EXPECT_EQ(flips, 0) << first_flip;

  // The restarted owner really checks: a stopped node is seen down everywhere.
  targets_.Stop(t[0]);
  for (int inst = 0; inst < 3; ++inst) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          std::vector<std::string> s = Statuses(inst, Name(0));
          return std::count_if(s.begin(), s.end(), [](const std::string& st) {
                   return st == "ABNORMAL" || st == "TIMEOUT";
                 }) == 1;
        },
        milliseconds(5000)))
        << "instance " << inst;
  }
}

}  // namespace
}  // namespace jcm::testing
