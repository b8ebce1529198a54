// Issue 12 item 4: --check-source-ip. Three jcm-server instances probe from
// 127.0.41.1, .2 and .3; the one target (a LoopbackHttpTargets listener
// shared by nine one-node clusters) refuses connections from 127.0.41.1
// only. The clusters instance 0 checks are published down, on every
// instance; those the others check stay NORMAL everywhere.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/healthcheck/loopback_http_targets.h"
#include "tests/support/http_json.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/jcm_server_process.h"
#include "tests/support/test_env.h"
#include "tests/support/zk_server.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kClusters = 9;

std::string SourceOf(int inst) { return "127.0.41." + std::to_string(inst + 1); }
std::string Name(int i) { return "src-" + std::to_string(i); }

class HealthSourceIpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(zk_.Start(&error)) << error;
    for (int inst = 0; inst < 3; ++inst) {
      JcmServerOptions o;
      o.zk_connect = zk_.connect_string();
      o.log_dir = dir_.path();
      // Second opinions off: this test shows one instance's verdict alone
      // (health_second_opinion_test shows what the others' opinions change).
      o.extra_args = {"--health-interval-ms", "500",          "--health-fall",     "2",
                      "--check-source-ip",    SourceOf(inst), "--second-opinions", "0"};
      servers_.push_back(std::make_unique<JcmServerProcess>(o));
      ASSERT_TRUE(servers_.back()->Start(&error)) << error;
    }
  }
  void TearDown() override {
    if (HasFailure()) {
      for (auto& s : servers_) std::cerr << "===== " << s->address() << "\n" << s->log() << "\n";
    }
    for (auto& s : servers_) s->Kill();
  }
  std::optional<nlohmann::json> Health(int inst) const {
    HttpReply r = HttpGet(servers_[inst]->address(), "/sys/status", milliseconds(1000));
    if (r.status != 200 || !r.data().contains("health")) return std::nullopt;
    return r.data()["health"];
  }
  std::vector<std::string> Checking(int inst) const {
    auto h = Health(inst);
    return h ? h->value("checking", std::vector<std::string>{}) : std::vector<std::string>{};
  }
  std::string NodeStatus(int inst, int i) const {
    HttpReply r = HttpGet(servers_[inst]->address(), "/c/" + Name(i), milliseconds(2000));
    if (r.status != 200 || !r.data().contains("nodes") || r.data()["nodes"].empty()) return "";
    return r.data()["nodes"][0].value("status", "");
  }

  TempDir dir_{"jcm-src"};
  ZkServer zk_;
  std::vector<std::unique_ptr<JcmServerProcess>> servers_;
  LoopbackHttpTargets targets_;
};

TEST_F(HealthSourceIpTest, OnlyTheInstanceWhosePathIsBrokenSeesTheNodeDown) {
  // Everyone in everyone's ring first, so ownership does not move later.
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int inst = 0; inst < 3; ++inst) {
          auto h = Health(inst);
          if (!h || h->value("ringMembers", std::vector<std::string>{}).size() != 3) return false;
        }
        return true;
      },
      milliseconds(15000)));
  const int t = targets_.Add("127.0.42.1");
  ASSERT_GE(t, 0);
  targets_.RefuseSource(SourceOf(0));
  nlohmann::json nodes = nlohmann::json::array({NodeDoc(targets_.ip(t), targets_.port(t))});
  for (int i = 0; i < kClusters; ++i) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          return HttpPostJson(servers_[i % 3]->address(), "/c", ClusterDoc(Name(i), nodes, "HTTP"))
                     .status == 200;
        },
        milliseconds(15000)))
        << Name(i);
  }
  std::vector<int> owner(kClusters, -1);
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::fill(owner.begin(), owner.end(), -1);
        for (int inst = 0; inst < 3; ++inst) {
          for (const std::string& n : Checking(inst)) {
            for (int i = 0; i < kClusters; ++i) {
              if (n == Name(i)) owner[i] = inst;
            }
          }
        }
        return std::count(owner.begin(), owner.end(), -1) == 0;
      },
      milliseconds(10000)));
  const long broken = std::count(owner.begin(), owner.end(), 0);
  ASSERT_GT(broken, 0) << "instance 0 checks none of the clusters";
  ASSERT_LT(broken, kClusters) << "instance 0 checks all of the clusters";

  auto expected = [&](int i) { return owner[i] == 0 ? std::string("DOWN") : "NORMAL"; };
  auto matches = [&](int inst, int i) {
    std::string st = NodeStatus(inst, i);
    return owner[i] == 0 ? (st == "ABNORMAL" || st == "TIMEOUT") : st == "NORMAL";
  };
  for (int i = 0; i < kClusters; ++i) {
    for (int inst = 0; inst < 3; ++inst) {
      EXPECT_TRUE(WaitUntil([&] { return matches(inst, i); }, milliseconds(10000)))
          << Name(i) << " (checked by " << owner[i] << ") on instance " << inst << " is '"
          << NodeStatus(inst, i) << "', expected " << expected(i);
    }
  }
  // And it stays so for several intervals.
  const auto start = std::chrono::steady_clock::now();
  while (MsSince(start) < 2000) {
    for (int i = 0; i < kClusters; ++i) {
      for (int inst = 0; inst < 3; ++inst) {
        ASSERT_TRUE(matches(inst, i)) << Name(i) << " on instance " << inst << " is '"
                                      << NodeStatus(inst, i) << "', expected " << expected(i);
      }
    }
  }
  EXPECT_GT(targets_.refused(), 0);
  EXPECT_GT(targets_.answered(), 0);
}

}  // namespace
}  // namespace jcm::testing
