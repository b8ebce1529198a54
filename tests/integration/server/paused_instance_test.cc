// An instance paused (SIGSTOP) for longer than the session timeout and then
// resumed: it rejoins as a follower, and nothing it does on the strength of
// its old leadership lands. The paused instance is the leader — the
// dangerous case: when it wakes up it still believes it leads, and a write
// already queued on its socket must not overwrite what the new leader wrote
// meanwhile.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class PausedInstanceTest : public JcmClusterTest {
 protected:
  PausedInstanceTest() { options_.session_timeout_ms = 2500; }
};

std::set<std::string> SpecSet(const nlohmann::json& c) {
  auto v = SpecsOf(c);
  return {v.begin(), v.end()};
}

TEST_F(PausedInstanceTest, PausedLeaderRejoinsAsFollowerAndItsStaleWritesNeverLand) {
  int old_leader = cluster_->AgreedLeader();
  ASSERT_GE(old_leader, 0);
  HttpReply r =
      HttpPostJson(cluster_->address(old_leader), "/c",
                   ClusterDoc("paused", nlohmann::json::array({NodeDoc(NthIp(1), 8080)})));
  ASSERT_EQ(r.status, 200) << r.Describe();
  long long v1 = r.data().value("version", -1LL);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        WaitUntil([&] { return cluster_->ClusterVersion(i, "paused") == v1; }, milliseconds(5000)));
  }

  ASSERT_TRUE(cluster_->server(old_leader).Pause());
  int new_leader =
      cluster_->WaitForLeader(milliseconds(options_.session_timeout_ms + 10000), {old_leader});
  ASSERT_GE(new_leader, 0) << "no new leader while the old one is paused";
  ASSERT_NE(new_leader, old_leader);
  // Make sure the pause outlived the session: the old session has expired.
  std::this_thread::sleep_for(milliseconds(500));

  // The new leader changes the cluster: adds B, replaces nothing else.
  HttpReply b = HttpPostJson(cluster_->address(new_leader), "/c/node/paused",
                             nlohmann::json::array({NodeDoc(NthIp(2), 8080)}));
  ASSERT_EQ(b.status, 200) << b.Describe();
  long long v2 = b.data().value("version", -1LL);
  ASSERT_GT(v2, v1);
  // And replaces the cluster's check path, so a stale full-definition write
  // would show.
  nlohmann::json doc = ClusterDoc(
      "paused", nlohmann::json::array({NodeDoc(NthIp(1), 8080), NodeDoc(NthIp(2), 8080)}));
  doc["checkFile"] = "/new-health";
  HttpReply put = HttpPostJson(cluster_->address(new_leader), "/c", doc);
  ASSERT_EQ(put.status, 200) << put.Describe();
  long long v3 = put.data().value("version", -1LL);

  // Writes queued on the paused old leader's socket: an addition built on
  // its stale model, and a whole stale definition (old check path, no B).
  HttpReply stale_add, stale_put;
  std::thread add_thread([&] {
    stale_add = HttpPostJson(cluster_->address(old_leader), "/c/node/paused",
                             nlohmann::json::array({NodeDoc(NthIp(3), 8080)}), milliseconds(20000));
  });
  std::thread put_thread([&] {
    stale_put =
        HttpPostJson(cluster_->address(old_leader), "/c/node/online/paused",
                     {{"spec", NodeSpec(NthIp(1), 8080)}, {"online", false}}, milliseconds(20000));
  });
  std::this_thread::sleep_for(milliseconds(300));  // both requests are queued
  ASSERT_TRUE(cluster_->server(old_leader).Resume());
  add_thread.join();
  put_thread.join();

  // It rejoins as a follower of the new leader.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto st = cluster_->Status(old_leader);
        return st && !(*st).value("isLeader", true) && (*st)["leader"].is_string() &&
               (*st)["leader"].get<std::string>() == cluster_->address(new_leader);
      },
      milliseconds(15000)))
      << "old leader did not rejoin as a follower";
  EXPECT_EQ(cluster_->WaitForLeader(milliseconds(5000)), new_leader);

  // Whatever the stale requests answered, B and the new check path survive.
  // A request acknowledged with success must be visible too (it was applied
  // by the real leader, after B).
  long long final_version = -1;
  ASSERT_TRUE(WaitUntil(
      [&] {
        final_version = cluster_->ClusterVersion(new_leader, "paused");
        for (int i = 0; i < 3; ++i) {
          if (cluster_->ClusterVersion(i, "paused") != final_version) return false;
        }
        return true;
      },
      milliseconds(10000)))
      << "instances disagree on the version";
  EXPECT_GE(final_version, v3);
  for (int i = 0; i < 3; ++i) {
    auto c = cluster_->GetCluster(i, "paused");
    ASSERT_TRUE(c.has_value());
    std::set<std::string> have = SpecSet(*c);
    EXPECT_TRUE(have.count(NodeSpec(NthIp(2), 8080)))
        << cluster_->address(i) << ": the new leader's write was overwritten: " << c->dump();
    EXPECT_EQ((*c).value("checkFile", ""), "/new-health")
        << cluster_->address(i) << ": a stale definition landed";
    if (stale_add.status == 200) {
      EXPECT_TRUE(have.count(NodeSpec(NthIp(3), 8080)))
          << "acknowledged addition missing: " << stale_add.Describe();
    } else {
      EXPECT_TRUE(stale_add.status == 0 || stale_add.status >= 400) << stale_add.Describe();
    }
  }
  std::cerr << "stale addition answered " << stale_add.Describe() << "\nstale node switch answered "
            << stale_put.Describe() << "\n";
}

}  // namespace
}  // namespace jcm::testing
