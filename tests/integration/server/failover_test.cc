// Leader failover: after SIGKILL a new leader serves writes within the
// session timeout + 2 s; after SIGTERM (which deregisters at once) within
// 2 s. The old instance, started again, rejoins as a follower.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class FailoverTest : public JcmClusterTest {
 protected:
  FailoverTest() { options_.session_timeout_ms = 3000; }

  // From now, writes through the survivors (alternating) until one succeeds;
  // returns the milliseconds it took, or -1 after `limit`.
  long long MsUntilWritesServed(int gone, std::chrono::steady_clock::time_point since,
                                milliseconds limit) {
    int attempt = 0;
    bool ok = WaitUntil(
        [&] {
          int target = (attempt++ % 2 == 0) ? (gone + 1) % 3 : (gone + 2) % 3;
          HttpReply r = HttpPostJson(cluster_->address(target), "/c/node/fo",
                                     nlohmann::json::array({NodeDoc(NthIp(100 + attempt), 8080)}),
                                     milliseconds(2000));
          return r.status == 200 && r.code() == 0;
        },
        limit, milliseconds(20));
    return ok ? MsSince(since) : -1;
  }

  void CreateCluster() {
    int leader = cluster_->AgreedLeader();
    ASSERT_GE(leader, 0);
    HttpReply r = HttpPostJson(cluster_->address(leader), "/c",
                               ClusterDoc("fo", nlohmann::json::array({NodeDoc(NthIp(1), 8080)})));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
};

TEST_F(FailoverTest, LeaderSigkillNewLeaderServesWritesWithinSessionTimeoutPlus2s) {
  CreateCluster();
  int leader = cluster_->AgreedLeader();
  auto t0 = std::chrono::steady_clock::now();
  cluster_->server(leader).Kill();
  long long ms = MsUntilWritesServed(leader, t0, milliseconds(options_.session_timeout_ms + 8000));
  ASSERT_GE(ms, 0) << "no write served after the leader was killed";
  std::cerr << "writes served again " << ms << " ms after SIGKILL\n";
  EXPECT_LE(ms, options_.session_timeout_ms + 2000);
  int new_leader = cluster_->WaitForLeader(milliseconds(5000), {leader});
  EXPECT_GE(new_leader, 0);
  EXPECT_NE(new_leader, leader);

  // The killed instance comes back as a follower of the new leader.
  std::string error;
  ASSERT_TRUE(cluster_->server(leader).Start(&error)) << error;
  EXPECT_EQ(cluster_->WaitForLeader(milliseconds(10000)), new_leader);
  EXPECT_TRUE(WaitUntil(
      [&] {
        return cluster_->ClusterVersion(leader, "fo") == cluster_->ClusterVersion(new_leader, "fo");
      },
      milliseconds(5000)));
}

TEST_F(FailoverTest, LeaderSigtermNewLeaderServesWritesWithin2s) {
  CreateCluster();
  int leader = cluster_->AgreedLeader();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster_->server(leader).Signal(SIGTERM));
  long long ms = MsUntilWritesServed(leader, t0, milliseconds(options_.session_timeout_ms + 8000));
  ASSERT_GE(ms, 0) << "no write served after the leader was stopped";
  std::cerr << "writes served again " << ms << " ms after SIGTERM\n";
  EXPECT_LE(ms, 2000);
  // And it did exit cleanly, by itself.
  EXPECT_TRUE(cluster_->server(leader).Term(milliseconds(5000)))
      << "jcm-server did not exit after SIGTERM";
  int st = cluster_->server(leader).exit_status();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "exit status " << st;
}

}  // namespace
}  // namespace jcm::testing
