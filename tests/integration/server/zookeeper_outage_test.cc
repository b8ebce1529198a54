// ZooKeeper stopped: writes answer 503 quickly, reads still answer from
// memory. ZooKeeper back on the same port and data: the instances recover
// without a restart (leader agreed, writes through a follower succeed,
// every instance sees them).
#include <gtest/gtest.h>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class ZookeeperOutageTest : public JcmClusterTest {
 protected:
  ZookeeperOutageTest() { options_.session_timeout_ms = 3000; }
};

TEST_F(ZookeeperOutageTest, WritesFailFastReadsAnswerThenRecoverWithoutRestart) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  HttpReply created =
      HttpPostJson(cluster_->address(cluster_->AFollower(leader)), "/c",
                   ClusterDoc("zk-out", nlohmann::json::array({NodeDoc(NthIp(1), 8080)})));
  ASSERT_EQ(created.status, 200) << created.Describe();
  long long v = created.data().value("version", -1LL);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        WaitUntil([&] { return cluster_->ClusterVersion(i, "zk-out") == v; }, milliseconds(5000)));
  }
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) pids.push_back(cluster_->server(i).pid());

  cluster_->zk().Stop();
  // Each instance notices the lost connection (the socket closes at once).
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto st = cluster_->Status(i);
          return st && (*st).value("zookeeper", "") != "CONNECTED";
        },
        milliseconds(3000)))
        << cluster_->address(i) << " still says CONNECTED";
  }
  for (int i = 0; i < 3; ++i) {
    const std::string a = cluster_->address(i);
    auto t0 = std::chrono::steady_clock::now();
    HttpReply w = HttpPostJson(
        a, "/c/node/zk-out", nlohmann::json::array({NodeDoc(NthIp(2), 8080)}), milliseconds(10000));
    long long ms = MsSince(t0);
    EXPECT_EQ(w.status, 503) << a << ": " << w.Describe();
    EXPECT_EQ(w.code(), -1) << w.Describe();
    EXPECT_FALSE(w.msg().empty());
    EXPECT_LT(ms, 1000) << a << " took " << ms << " ms to refuse a write";
    // Other mutations too.
    EXPECT_EQ(HttpPost(a, "/c/online/zk-out", "false", milliseconds(10000)).status, 503);
    EXPECT_EQ(HttpDelete(a, "/c/zk-out", "", milliseconds(10000)).status, 503);

    // Reads answer from memory, unchanged.
    EXPECT_EQ(cluster_->ClusterVersion(i, "zk-out"), v) << a;
    auto c = cluster_->GetCluster(i, "zk-out");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(SpecsOf(*c).size(), 1u);
    EXPECT_EQ(HttpGet(a, "/c/list").status, 200);
    EXPECT_EQ(HttpGet(a, "/healthz").status, 200);
  }
  // Down longer than the session timeout, so sessions may have expired by
  // the time ZooKeeper returns. From then on the view may be stale (issue
  // 8): reads and /sub answer 503 naming the reason, never 404 or
  // RESP_REMOVE, and /readyz says not ready; /healthz stays up.
  std::this_thread::sleep_for(milliseconds(options_.session_timeout_ms + 500));
  for (int i = 0; i < 3; ++i) {
    const std::string a = cluster_->address(i);
    HttpReply read = HttpGet(a, "/c/zk-out");
    EXPECT_EQ(read.status, 503) << a << ": " << read.Describe();
    EXPECT_NE(read.msg().find("not ready"), std::string::npos) << read.Describe();
    HttpReply sub = HttpPost(a, "/sub", R"({"units":[{"name":"zk-out","version":0}]})");
    EXPECT_EQ(sub.status, 503) << a << ": " << sub.Describe();
    EXPECT_EQ(HttpGet(a, "/readyz").status, 503);
    EXPECT_EQ(HttpGet(a, "/healthz").status, 200);
  }

  std::string error;
  ASSERT_TRUE(cluster_->zk().Start(&error)) << error;
  auto back = std::chrono::steady_clock::now();
  int new_leader = cluster_->WaitForLeader(milliseconds(20000));
  ASSERT_GE(new_leader, 0) << "no agreed leader after ZooKeeper came back";
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto st = cluster_->Status(i);
          return st && (*st).value("zookeeper", "") == "CONNECTED";
        },
        milliseconds(10000)))
        << cluster_->address(i);
  }
  int follower = cluster_->AFollower(new_leader);
  HttpReply w;
  ASSERT_TRUE(WaitUntil(
      [&] {
        w = HttpPostJson(cluster_->address(follower), "/c/node/zk-out",
                         nlohmann::json::array({NodeDoc(NthIp(3), 8080)}));
        return w.status == 200;
      },
      milliseconds(15000)))
      << w.Describe();
  std::cerr << "writes through a follower succeed " << MsSince(back)
            << " ms after ZooKeeper returned\n";
  long long v2 = w.data().value("version", -1LL);
  EXPECT_GT(v2, v);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(
        WaitUntil([&] { return cluster_->ClusterVersion(i, "zk-out") == v2; }, milliseconds(5000)))
        << cluster_->address(i);
    auto c = cluster_->GetCluster(i, "zk-out");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(SpecsOf(*c),
              (std::vector<std::string>{NodeSpec(NthIp(1), 8080), NodeSpec(NthIp(3), 8080)}))
        << "the refused write must not have landed";
    // Recovered, not restarted: the same processes.
    EXPECT_EQ(cluster_->server(i).pid(), pids[static_cast<size_t>(i)]);
    EXPECT_TRUE(cluster_->server(i).running());
  }
  // Exactly three members again (re-registered after any expiry, no ghosts).
  auto st = cluster_->Status(new_leader);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto s = cluster_->Status(new_leader);
        return s && (*s)["members"].size() == 3;
      },
      milliseconds(10000)))
      << (*st).dump();
}

}  // namespace
}  // namespace jcm::testing
