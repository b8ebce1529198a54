// Check targets (issue 9 item 5) against a real ZooKeeper and real
// jcm-server processes: link-local and unspecified nodes refused with a 400
// naming the node (on the leader and through a follower) with nothing
// written; --check-allow / --check-deny; and a stored cluster whose node a
// restarted instance now denies: kept, served, marked, and never probed (its
// target counts no request while a control target keeps being checked).
#include <sys/wait.h>

#include <thread>

#include <gtest/gtest.h>

#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

bool WaitFor(const std::function<bool()>& pred, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return pred();
}

nlohmann::json HttpCluster(const std::string& name, const std::string& ip, int port) {
  nlohmann::json doc = ClusterDoc(name, nlohmann::json::array({NodeDoc(ip, port)}), "HTTP");
  doc["checkFile"] = "/health";
  return doc;
}

class CheckTargetsTest : public JcmClusterTest {
 protected:
  CheckTargetsTest() {
    options_.instances = 2;
    // Long enough that a loaded machine does not time checks out.
    options_.extra_args = {"--health-interval-ms", "500"};
  }
};

TEST_F(CheckTargetsTest, RefusedTargetsAreA400AndNothingIsWritten) {
  int leader = cluster_->WaitForLeader(milliseconds(10000));
  ASSERT_GE(leader, 0);
  int follower = cluster_->AFollower(leader);
  ASSERT_EQ(HttpPostJson(cluster_->address(leader), "/c",
                         ClusterDoc("kept", nlohmann::json::array({NodeDoc(NthIp(1), 8080)})))
                .status,
            200);
  const long long kept_version = cluster_->ClusterVersion(leader, "kept");
  ASSERT_GT(kept_version, 0);
  struct Case {
    const char* ip;
    const char* why;
  };
  for (int via : {leader, follower}) {
    for (const Case& c :
         {Case{"169.254.169.254", "link-local 169.254.0.0/16"},
          Case{"::ffff:169.254.169.254", "link-local 169.254.0.0/16"},
          Case{"fe80::1", "link-local fe80::/10"}, Case{"0.0.0.0", "unspecified address 0.0.0.0"},
          Case{"::", "unspecified address ::"}}) {
      SCOPED_TRACE(std::string(c.ip) + (via == leader ? " via the leader" : " via a follower"));
      HttpReply put = HttpPostJson(
          cluster_->address(via), "/c",
          ClusterDoc("metadata",
                     nlohmann::json::array({NodeDoc("127.0.0.1", 80), NodeDoc(c.ip, 80)})));
      EXPECT_EQ(put.status, 400) << put.Describe();
      EXPECT_EQ(put.code(), -1) << put.Describe();
      EXPECT_NE(put.msg().find("nodes[1] '" + NodeSpec(c.ip, 80) + "'"), std::string::npos)
          << put.msg();
      EXPECT_NE(put.msg().find(c.why), std::string::npos) << put.msg();
      HttpReply add = HttpPostJson(cluster_->address(via), "/c/node/kept",
                                   nlohmann::json::array({NodeDoc(c.ip, 80)}));
      EXPECT_EQ(add.status, 400) << add.Describe();
      EXPECT_NE(add.msg().find(c.why), std::string::npos) << add.msg();
    }
  }
  // Nothing written: no cluster, the other one at its version, on both.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(cluster_->ClusterVersion(i, "metadata"), -1);
    EXPECT_EQ(cluster_->ClusterVersion(i, "kept"), kept_version);
  }
  // Loopback stays allowed.
  EXPECT_EQ(HttpPostJson(cluster_->address(follower), "/c/node/kept",
                         nlohmann::json::array({NodeDoc("127.0.0.1", 80)}))
                .status,
            200);
}

TEST_F(CheckTargetsTest, StoredNodeNowDeniedIsServedMarkedAndNeverProbed) {
  // Two checked clusters, each with a node on its own loopback target.
  int port = FreeLoopbackPort("127.0.0.1");
  int control_port = FreeLoopbackPort("127.0.0.2");
  HttpTarget target("127.0.0.1", port, "/health");
  HttpTarget control("127.0.0.2", control_port, "/health");
  ASSERT_TRUE(target.Start());
  ASSERT_TRUE(control.Start());
  const std::string a0 = cluster_->address(0);
  ASSERT_EQ(HttpPostJson(a0, "/c", HttpCluster("denied", "127.0.0.1", port)).status, 200);
  ASSERT_EQ(HttpPostJson(a0, "/c", HttpCluster("control", "127.0.0.2", control_port)).status, 200);
  ASSERT_TRUE(WaitFor([&] { return target.hits() > 0 && control.hits() > 0; }, milliseconds(10000)))
      << cluster_->AllLogs();

  // Every instance stops; one comes back denying the first target.
  for (int i = 0; i < cluster_->size(); ++i) ASSERT_TRUE(cluster_->server(i).Term());
  JcmServerOptions o;
  o.zk_connect = cluster_->zk().connect_string();
  o.log_dir = cluster_->dir();
  o.extra_args = {"--health-interval-ms", "200",           "--check-deny",
                  "127.0.0.1/32",         "--check-allow", "127.0.0.0/8"};
  JcmServerProcess restarted(o);
  std::string error;
  ASSERT_TRUE(restarted.Start(&error)) << error;
  const std::string a = restarted.address();
  const int hits_before = target.hits();
  const int control_before = control.hits();

  // The control target is checked again and again; the denied one never.
  ASSERT_TRUE(WaitFor([&] { return control.hits() >= control_before + 10; }, milliseconds(15000)))
      << restarted.log();
  EXPECT_EQ(target.hits(), hits_before);

  // Kept and served, its node marked.
  HttpReply got = HttpGet(a, "/c/denied");
  ASSERT_EQ(got.status, 200) << got.Describe();
  ASSERT_EQ(got.data()["nodes"].size(), 1u);
  EXPECT_EQ(got.data()["nodes"][0]["notChecked"], "refused by --check-deny 127.0.0.1/32")
      << got.Describe();
  HttpReply control_view = HttpGet(a, "/c/control");
  ASSERT_EQ(control_view.status, 200);
  EXPECT_FALSE(control_view.data()["nodes"][0].contains("notChecked"));
  HttpReply st = HttpGet(a, "/sys/status");
  ASSERT_EQ(st.status, 200);
  EXPECT_EQ(st.data()["health"]["nodesNotChecked"], 1) << st.Describe();
  EXPECT_EQ(st.data()["checkTargets"]["allow"], nlohmann::json::array({"127.0.0.0/8"}));

  // Writes: the stored node stays writable (a PUT repeating it), a new one
  // in the denied network or outside the allowed ones is refused.
  nlohmann::json repeat = HttpCluster("denied", "127.0.0.1", port);
  repeat["nodes"][0]["weight"] = 200;
  EXPECT_EQ(HttpPostJson(a, "/c", repeat).status, 200);
  HttpReply denied =
      HttpPostJson(a, "/c/node/control", nlohmann::json::array({NodeDoc("127.0.0.1", port + 1)}));
  EXPECT_EQ(denied.status, 400);
  EXPECT_NE(denied.msg().find("refused by --check-deny 127.0.0.1/32"), std::string::npos)
      << denied.msg();
  HttpReply outside =
      HttpPostJson(a, "/c/node/control", nlohmann::json::array({NodeDoc("10.0.0.1", 80)}));
  EXPECT_EQ(outside.status, 400);
  EXPECT_NE(outside.msg().find("nodes[0] '10.0.0.1|HTTP:80'"), std::string::npos) << outside.msg();
  EXPECT_NE(outside.msg().find("outside --check-allow"), std::string::npos) << outside.msg();
  EXPECT_EQ(HttpGet(a, "/c/control").data()["nodes"].size(), 1u);
  // Still never probed after all that.
  EXPECT_EQ(target.hits(), hits_before);
}

TEST(CheckTargetsFlagsTest, BadCidrStopsTheServerWithTheFlagNamed) {
  JcmServerOptions o;
  o.zk_connect = "127.0.0.1:1";
  TempDir dir;
  o.log_dir = dir.path();
  o.extra_args = {"--check-deny", "10.0.0.0/8,300.1.1.1/8"};
  JcmServerProcess server(o);
  std::string error;
  ASSERT_TRUE(server.Launch(&error)) << error;
  ASSERT_TRUE(WaitFor([&] { return !server.running(); }, milliseconds(10000)));
  EXPECT_TRUE(WIFEXITED(server.exit_status()) && WEXITSTATUS(server.exit_status()) == 2);
  EXPECT_NE(server.log().find("--check-deny: '300.1.1.1/8' is not a CIDR"), std::string::npos)
      << server.log();
}

}  // namespace
}  // namespace jcm::testing
