// Issue 12 item 2, on real processes: three jcm-server instances probing
// from 127.0.43.1, .2 and .3 (--check-source-ip), a real ZooKeeper, a tokens
// file (so instances must authenticate to each other's POST /sys/probe),
// and one HTTP target shared by nine one-node clusters.
//
// 1. The target refuses instance 0's source address only. Over the window
//    (JCM_OPINION_WINDOW_MS, default 10 s; the 30 s in long mode) no
//    instance ever publishes a node down; instance 0 reports the nodes of
//    the clusters it checks suspect, in /sys/status and in the history.
// 2. The target then stops for everyone: every node is published down on
//    every instance within the fast re-check bound plus a probe round trip.
// Plus the route itself: no token -> 401; a malformed body -> 400 naming
// the field; an unknown node -> "unknown"; and local health: an instance
// paused for 1.5 s reports itself degraded (late loop) in /sys/status.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
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
constexpr char kToken[] = "opinion-test-write-token-0123456789";

std::string SourceOf(int inst) { return "127.0.43." + std::to_string(inst + 1); }
std::string Name(int i) { return "op-" + std::to_string(i); }

int WindowMs() {
  const char* v = std::getenv("JCM_OPINION_WINDOW_MS");
  return v && std::atoi(v) > 0 ? std::atoi(v) : 10000;
}

class HealthSecondOpinionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(zk_.Start(&error)) << error;
    const std::string tokens = dir_.path() + "/tokens";
    std::ofstream(tokens) << "write " << kToken << "\n";
    SetTestWriteToken(kToken);
    for (int inst = 0; inst < 3; ++inst) {
      JcmServerOptions o;
      o.zk_connect = zk_.connect_string();
      o.log_dir = dir_.path();
      o.extra_args = {"--health-interval-ms",  "1000", "--health-fall",     "2",
                      "--health-fastinter-ms", "250",  "--check-source-ip", SourceOf(inst),
                      "--tokens-file",         tokens};
      servers_.push_back(std::make_unique<JcmServerProcess>(o));
      ASSERT_TRUE(servers_.back()->Start(&error)) << error;
    }
  }
  void TearDown() override {
    SetTestWriteToken("");
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
  std::string NodeStatus(int inst, int i) const {
    HttpReply r = HttpGet(servers_[inst]->address(), "/c/" + Name(i), milliseconds(2000));
    if (r.status != 200 || !r.data().contains("nodes") || r.data()["nodes"].empty()) return "";
    return r.data()["nodes"][0].value("status", "");
  }
  static bool Down(const std::string& st) { return st == "ABNORMAL" || st == "TIMEOUT"; }

  // Every instance in every ring; the nine clusters created; owner[i] set.
  void CreateClusters() {
    ASSERT_TRUE(WaitUntil(
        [&] {
          for (int inst = 0; inst < 3; ++inst) {
            auto h = Health(inst);
            if (!h || h->value("ringMembers", std::vector<std::string>{}).size() != 3) return false;
          }
          return true;
        },
        milliseconds(15000)));
    target_ = targets_.Add("127.0.44.1");
    ASSERT_GE(target_, 0);
    nlohmann::json nodes =
        nlohmann::json::array({NodeDoc(targets_.ip(target_), targets_.port(target_))});
    spec_ = NodeSpec(targets_.ip(target_), targets_.port(target_));
    for (int i = 0; i < kClusters; ++i) {
      HttpReply last;
      ASSERT_TRUE(WaitUntil(
          [&] {
            last =
                HttpPostJson(servers_[i % 3]->address(), "/c", ClusterDoc(Name(i), nodes, "HTTP"));
            return last.status == 200;
          },
          milliseconds(15000)))
          << Name(i) << ": " << last.Describe();
    }
    owner_.assign(kClusters, -1);
    ASSERT_TRUE(WaitUntil(
        [&] {
          std::fill(owner_.begin(), owner_.end(), -1);
          for (int inst = 0; inst < 3; ++inst) {
            auto h = Health(inst);
            if (!h) return false;
            for (const std::string& n : h->value("checking", std::vector<std::string>{})) {
              for (int i = 0; i < kClusters; ++i) {
                if (n == Name(i)) owner_[i] = inst;
              }
            }
          }
          return std::count(owner_.begin(), owner_.end(), -1) == 0;
        },
        milliseconds(10000)));
    // Every node NORMAL everywhere before anything breaks.
    for (int i = 0; i < kClusters; ++i) {
      for (int inst = 0; inst < 3; ++inst) {
        ASSERT_TRUE(WaitUntil([&] { return NodeStatus(inst, i) == "NORMAL"; }, milliseconds(10000)))
            << Name(i) << " on " << inst << ": " << NodeStatus(inst, i);
      }
    }
  }

  TempDir dir_{"jcm-opinion"};
  ZkServer zk_;
  std::vector<std::unique_ptr<JcmServerProcess>> servers_;
  LoopbackHttpTargets targets_;
  int target_ = -1;
  std::string spec_;
  std::vector<int> owner_;
};

TEST_F(HealthSecondOpinionTest, OwnersBrokenPathMakesItSuspectNotDownThenARealStopIsDown) {
  CreateClusters();
  // The instance whose path breaks: the one checking the most clusters (the
  // ring places names by the instances' random ports, so a fixed instance
  // may check none of them).
  int b = 0;
  for (int inst = 1; inst < 3; ++inst) {
    if (std::count(owner_.begin(), owner_.end(), inst) >
        std::count(owner_.begin(), owner_.end(), b)) {
      b = inst;
    }
  }
  const long broken = std::count(owner_.begin(), owner_.end(), b);
  ASSERT_GT(broken, 0);
  const int peer1 = (b + 1) % 3, peer2 = (b + 2) % 3;

  targets_.RefuseSource(SourceOf(b));
  // Refusal is decided on accept: close the kept-alive connections so that
  // instance b must connect again.
  targets_.Stop(target_);
  ASSERT_TRUE(targets_.Start(target_));
  // Instance b fails its checks, asks the others, is told the node answers.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto h = Health(b);
        return h && h->value("suspects", std::vector<std::string>{}).size() ==
                        static_cast<size_t>(broken);
      },
      milliseconds(10000)))
      << Health(b)->dump();
  const auto start = std::chrono::steady_clock::now();
  const int window = WindowMs();
  while (MsSince(start) < window) {
    for (int i = 0; i < kClusters; ++i) {
      for (int inst = 0; inst < 3; ++inst) {
        const std::string st = NodeStatus(inst, i);
        ASSERT_EQ(st, "NORMAL") << Name(i) << " (checked by " << owner_[i] << ") on instance "
                                << inst << " after " << MsSince(start) << " ms";
      }
    }
  }
  const nlohmann::json hb = *Health(b);
  EXPECT_GE(hb["secondOpinions"]["reachable"].get<long>(), broken) << hb.dump();
  EXPECT_EQ(hb["secondOpinions"]["confirmed"].get<long>(), 0) << hb.dump();
  EXPECT_EQ(hb["secondOpinions"]["client"]["requestFailures"].get<long>(), 0) << hb.dump();
  EXPECT_GT(Health(peer1)->at("secondOpinions")["peerProbes"].get<long>() +
                Health(peer2)->at("secondOpinions")["peerProbes"].get<long>(),
            0);
  for (int i = 0; i < kClusters; ++i) {
    if (owner_[i] != b) continue;
    HttpReply r =
        HttpGet(servers_[static_cast<size_t>(b)]->address(), "/c/" + Name(i) + "/history");
    ASSERT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.data()["suspects"], nlohmann::json::array({spec_})) << r.data().dump();
    bool second_opinion = false;
    for (const auto& t : r.data()["nodes"][spec_])
      second_opinion |= t["reason"] == "second opinion";
    EXPECT_TRUE(second_opinion) << r.data().dump();
  }

  // Now it stops for everyone.
  targets_.Stop(target_);
  const auto stop = std::chrono::steady_clock::now();
  long long took = -1;
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < kClusters; ++i) {
          for (int inst = 0; inst < 3; ++inst) {
            if (!Down(NodeStatus(inst, i))) return false;
          }
        }
        took = MsSince(stop);
        return true;
      },
      milliseconds(10000), milliseconds(20)));
  // Fall 2 at fastinter 250 ms after the first failed check (at most an
  // interval away) is 1.25 s; plus a probe round trip (refused at once on
  // loopback); loose for a shared machine.
  EXPECT_LE(took, 3000) << "stop to down everywhere: " << took << " ms";
  std::cout << "stop to down on every instance: " << took << " ms\n";
  // Down is no longer suspect (the list is refreshed every second).
  std::optional<nlohmann::json> h;
  EXPECT_TRUE(WaitUntil(
      [&] {
        h = Health(b);
        return h && h->value("suspects", std::vector<std::string>{}).empty();
      },
      milliseconds(3000)))
      << h->dump();
  EXPECT_GT((*h)["secondOpinions"]["confirmed"].get<long>(), 0) << h->dump();
}

TEST_F(HealthSecondOpinionTest, ProbeRouteNeedsAWriteTokenAndNamesTheNode) {
  CreateClusters();
  const std::string addr = servers_[1]->address();
  const nlohmann::json body = {
      {"probes", {{{"cluster", Name(0)}, {"node", spec_}}, {{"cluster", Name(0)}, {"node", "x"}}}}};
  SetTestWriteToken("");
  EXPECT_EQ(HttpPostJson(addr, "/sys/probe", body).status, 401);
  SetTestWriteToken(kToken);
  HttpReply r = HttpPostJson(addr, "/sys/probe", body);
  ASSERT_EQ(r.status, 200) << r.Describe();
  ASSERT_EQ(r.data()["results"].size(), 2u) << r.data().dump();
  EXPECT_EQ(r.data()["results"][0]["outcome"], "success");
  EXPECT_EQ(r.data()["results"][0]["reachable"], true);
  EXPECT_EQ(r.data()["results"][1]["outcome"], "unknown");
  r = HttpPostJson(addr, "/sys/probe", nlohmann::json{{"probes", {{{"cluster", Name(0)}}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.msg().find("probes[0].node"), std::string::npos) << r.Describe();

  // Local health on a real process: an instance stopped for 1.5 s finds
  // its loop ran late, doubts itself and says so in /sys/status; the nodes
  // it checks stay NORMAL everywhere.
  auto degraded = [&](int inst) {
    auto h = Health(inst);
    return h && (*h)["localHealth"].value("degraded", false);
  };
  ASSERT_FALSE(degraded(2)) << Health(2)->dump();
  ASSERT_TRUE(servers_[2]->Pause());
  // Longer than the longest idle wait of its loop (1 s), so it cannot
  // pass unnoticed inside one.
  std::this_thread::sleep_for(milliseconds(1500));
  ASSERT_TRUE(servers_[2]->Resume());
  std::optional<nlohmann::json> h;
  ASSERT_TRUE(WaitUntil(
      [&] {
        h = Health(2);
        return h && (*h)["localHealth"].value("degraded", false);
      },
      milliseconds(3000)))
      << (h ? h->dump() : "no status");
  EXPECT_EQ((*h)["localHealth"]["reason"], "late-loop") << h->dump();
  EXPECT_GE((*h)["localHealth"]["episodes"].get<long>(), 1) << h->dump();
  for (int i = 0; i < kClusters; ++i) {
    for (int inst = 0; inst < 3; ++inst) EXPECT_EQ(NodeStatus(inst, i), "NORMAL") << Name(i);
  }
}

}  // namespace
}  // namespace jcm::testing
