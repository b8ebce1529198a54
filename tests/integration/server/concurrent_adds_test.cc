// 300 node additions to one cluster, sent concurrently and spread over all
// three instances: none is lost. Then the same while the leader is SIGKILLed
// midway: every acknowledged addition is present, and every other one was
// answered with an error (never a silent success that did not land).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kAdds = 300;
constexpr int kThreads = 6;

enum class Outcome { kPending, kAcked, kFailed, kBadReply };

struct Results {
  std::vector<Outcome> outcome = std::vector<Outcome>(kAdds, Outcome::kPending);
  std::vector<std::string> detail = std::vector<std::string>(kAdds);
  std::atomic<int> acked{0};
  std::atomic<bool> leader_killed{false};
  std::atomic<int> acked_after_kill{0};  // sent after the kill, or forwarded
};

class ConcurrentAddsTest : public JcmClusterTest {
 protected:
  ConcurrentAddsTest() { options_.session_timeout_ms = 2500; }

  // Sends the kAdds additions from kThreads threads, request i to instance
  // i % 3 (skipping none: a dead instance answers with an error), pausing
  // `pace` between a thread's requests.
  void SendAll(const std::string& name, Results* results, milliseconds pace) {
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        (void)t;
        while (true) {
          int i = next++;
          if (i >= kAdds) break;
          HttpReply r = HttpPostJson(cluster_->address(i % cluster_->size()), "/c/node/" + name,
                                     nlohmann::json::array({NodeDoc(NthIp(1000 + i), 8080)}),
                                     milliseconds(20000));
          Outcome o;
          if (r.status == 200 && r.code() == 0 && r.data().value("version", 0LL) > 0) {
            o = Outcome::kAcked;
            ++results->acked;
            if (results->leader_killed) ++results->acked_after_kill;
          } else if (r.status == 0 || r.status >= 400) {
            o = Outcome::kFailed;  // an error the caller sees
          } else {
            o = Outcome::kBadReply;  // e.g. 200 with code -1: ambiguous
          }
          results->outcome[static_cast<size_t>(i)] = o;
          results->detail[static_cast<size_t>(i)] = r.Describe();
          if (pace.count() > 0) std::this_thread::sleep_for(pace);
        }
      });
    }
    for (auto& th : threads) th.join();
  }

  void CreateSeeded(const std::string& name) {
    int leader = cluster_->AgreedLeader();
    ASSERT_GE(leader, 0);
    HttpReply r = HttpPostJson(cluster_->address(leader), "/c",
                               ClusterDoc(name, nlohmann::json::array({NodeDoc(NthIp(1), 8080)})));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
};

TEST_F(ConcurrentAddsTest, ThreeHundredConcurrentAdditionsOverAllInstancesAllPresent) {
  CreateSeeded("many");
  Results results;
  SendAll("many", &results, milliseconds(0));
  for (int i = 0; i < kAdds; ++i) {
    EXPECT_EQ(results.outcome[static_cast<size_t>(i)], Outcome::kAcked)
        << "addition " << i << " via " << cluster_->address(i % 3) << ": "
        << results.detail[static_cast<size_t>(i)];
  }
  // Every instance converges on the same version holding all 301 nodes.
  long long v0 = -1;
  ASSERT_TRUE(WaitUntil(
      [&] {
        v0 = cluster_->ClusterVersion(0, "many");
        return v0 > 0 && cluster_->ClusterVersion(1, "many") == v0 &&
               cluster_->ClusterVersion(2, "many") == v0;
      },
      milliseconds(5000)));
  for (int s = 0; s < cluster_->size(); ++s) {
    auto c = cluster_->GetCluster(s, "many");
    ASSERT_TRUE(c.has_value());
    std::vector<std::string> specs = SpecsOf(*c);
    std::set<std::string> have(specs.begin(), specs.end());
    EXPECT_EQ(have.size(), static_cast<size_t>(kAdds + 1)) << cluster_->address(s);
    for (int i = 0; i < kAdds; ++i) {
      EXPECT_TRUE(have.count(NodeSpec(NthIp(1000 + i), 8080)))
          << "lost addition " << i << " on " << cluster_->address(s);
    }
  }
}

// Additions and removals of one cluster at once through one follower: its
// forwarder sends those that queue together as one change (POST
// /c/nodes/{name}, removals first) to the real leader. Every write is
// acknowledged, a reader of the follower sees each addition right after
// its ack, and every instance ends with exactly the additions and without
// the removed nodes.
TEST_F(ConcurrentAddsTest, AdditionsAndRemovalsThroughAFollowerAllLand) {
  constexpr int kEach = 120;
  constexpr int kWriters = 8;  // half add, half remove
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  nlohmann::json seed = nlohmann::json::array({NodeDoc(NthIp(1), 8080)});
  for (int i = 0; i < kEach; ++i) seed.push_back(NodeDoc(NthIp(2000 + i), 8080));
  HttpReply created = HttpPostJson(cluster_->address(leader), "/c", ClusterDoc("mixed", seed));
  ASSERT_EQ(created.status, 200) << created.Describe();
  const int follower = (leader + 1) % cluster_->size();
  const std::string via = cluster_->address(follower);
  ASSERT_TRUE(WaitUntil([&] { return cluster_->ClusterVersion(follower, "mixed") > 0; },
                        milliseconds(5000)));

  std::atomic<int> next_add{0}, next_remove{0}, acked{0}, unseen{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      const bool adder = t % 2 == 0;
      while (true) {
        const int i = adder ? next_add++ : next_remove++;
        if (i >= kEach) break;
        HttpReply r =
            adder ? HttpPostJson(via, "/c/node/mixed",
                                 nlohmann::json::array({NodeDoc(NthIp(3000 + i), 8080)}),
                                 milliseconds(20000))
                  : HttpDelete(via, "/c/node/mixed",
                               nlohmann::json::array({NodeSpec(NthIp(2000 + i), 8080)}).dump(),
                               milliseconds(20000));
        if (r.status != 200 || r.code() != 0) {
          std::lock_guard lock(mu);
          failures.push_back(r.Describe());
          continue;
        }
        ++acked;
        if (!adder) continue;
        // Read-your-writes on the instance that took the write: nobody
        // removes what this thread added.
        auto c = cluster_->GetCluster(follower, "mixed");
        std::vector<std::string> specs = c ? SpecsOf(*c) : std::vector<std::string>{};
        if (std::find(specs.begin(), specs.end(), NodeSpec(NthIp(3000 + i), 8080)) == specs.end()) {
          ++unseen;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_EQ(acked.load(), 2 * kEach);
  EXPECT_EQ(unseen.load(), 0) << "additions not visible on the follower right after their ack";

  std::set<std::string> want{NodeSpec(NthIp(1), 8080)};
  for (int i = 0; i < kEach; ++i) want.insert(NodeSpec(NthIp(3000 + i), 8080));
  for (int s = 0; s < cluster_->size(); ++s) {
    std::set<std::string> have;
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto c = cluster_->GetCluster(s, "mixed");
          if (!c) return false;
          std::vector<std::string> specs = SpecsOf(*c);
          have = std::set<std::string>(specs.begin(), specs.end());
          return have == want;
        },
        milliseconds(5000)))
        << cluster_->address(s) << " holds " << have.size() << " nodes, not the " << want.size()
        << " expected";
  }
  // The follower merged additions with removals at least once (eight
  // writers and a ZooKeeper write per request make queues certain).
  auto st = cluster_->Status(follower);
  ASSERT_TRUE(st.has_value());
  EXPECT_GT((*st)["api"].value("forwardsMergedMixed", 0LL), 0) << (*st)["api"].dump();
  EXPECT_EQ((*st)["api"].value("forwardMergeFallbacks", -1LL), 0) << (*st)["api"].dump();
}

TEST_F(ConcurrentAddsTest, LeaderKilledMidwayAcknowledgedAdditionsAllPresentOthersErrored) {
  CreateSeeded("many");
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  Results results;
  std::atomic<bool> killed{false};
  std::thread killer([&] {
    // Midway: once a third of the additions were acknowledged.
    WaitUntil([&] { return results.acked >= kAdds / 3; }, milliseconds(30000), milliseconds(5));
    cluster_->server(leader).Kill();
    results.leader_killed = true;
    killed = true;
  });
  // Paced so the sending spans the failover (session timeout 2.5 s, ~5 s of
  // sending after the kill): some additions land on the old leader, some
  // fail, some on the new leader.
  SendAll("many", &results, milliseconds(150));
  killer.join();
  ASSERT_TRUE(killed);

  int acked = 0, failed = 0;
  for (int i = 0; i < kAdds; ++i) {
    Outcome o = results.outcome[static_cast<size_t>(i)];
    EXPECT_NE(o, Outcome::kBadReply)
        << "addition " << i
        << ": neither success nor error: " << results.detail[static_cast<size_t>(i)];
    EXPECT_NE(o, Outcome::kPending) << "addition " << i;
    if (o == Outcome::kAcked) ++acked;
    if (o == Outcome::kFailed) ++failed;
  }
  EXPECT_GE(acked, kAdds / 3);
  std::cerr << "acknowledged " << acked << " (" << results.acked_after_kill
            << " after the kill), failed with an error " << failed << "\n";
  // The sending outlasts the failover, so the new leader took some of them.
  EXPECT_GT(results.acked_after_kill, 0);

  int new_leader = cluster_->WaitForLeader(milliseconds(10000), {leader});
  ASSERT_GE(new_leader, 0) << "no new leader among the survivors";
  ASSERT_NE(new_leader, leader);
  std::vector<int> survivors;
  for (int s = 0; s < cluster_->size(); ++s) {
    if (s != leader) survivors.push_back(s);
  }
  long long v = -1;
  ASSERT_TRUE(WaitUntil(
      [&] {
        v = cluster_->ClusterVersion(survivors[0], "many");
        return v > 0 && cluster_->ClusterVersion(survivors[1], "many") == v;
      },
      milliseconds(5000)))
      << "survivors disagree on the version";
  for (int s : survivors) {
    auto c = cluster_->GetCluster(s, "many");
    ASSERT_TRUE(c.has_value());
    std::vector<std::string> specs = SpecsOf(*c);
    std::set<std::string> have(specs.begin(), specs.end());
    EXPECT_TRUE(have.count(NodeSpec(NthIp(1), 8080))) << "seed node lost";
    for (int i = 0; i < kAdds; ++i) {
      if (results.outcome[static_cast<size_t>(i)] != Outcome::kAcked) continue;
      EXPECT_TRUE(have.count(NodeSpec(NthIp(1000 + i), 8080)))
          << "acknowledged addition " << i << " (via " << cluster_->address(i % 3)
          << ") missing on " << cluster_->address(s) << "; reply was "
          << results.detail[static_cast<size_t>(i)];
    }
    // Nothing appears that nobody sent.
    EXPECT_LE(have.size(), static_cast<size_t>(kAdds + 1));
  }
  // The survivors take writes again.
  HttpReply r = HttpPostJson(cluster_->address(survivors[0]), "/c/node/many",
                             nlohmann::json::array({NodeDoc(NthIp(5000), 8080)}));
  EXPECT_EQ(r.status, 200) << r.Describe();
}

}  // namespace
}  // namespace jcm::testing
