// Issue 8 item 10: a second jcm-server advertising an address that a live
// member already uses refuses to run (clear message, non-zero exit); the
// first keeps leading and serving.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "tests/support/child_process.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class DuplicateAdvertiseTest : public JcmClusterTest {
 protected:
  DuplicateAdvertiseTest() {
    options_.instances = 1;
    options_.session_timeout_ms = 2000;
  }
};

TEST_F(DuplicateAdvertiseTest, SecondInstanceWithSameAdvertiseRefusesToStart) {
  ASSERT_EQ(cluster_->WaitForLeader(milliseconds(10000)), 0);
  int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  ChildProcess twin;
  std::string log = cluster_->dir() + "/twin.log";
  std::string error;
  ASSERT_TRUE(twin.Start(
      {BinDir() + "/jcm-server", "--zk", cluster_->zk().connect_string(), "--zk-root",
       options_.zk_root, "--listen", "127.0.0.1:" + std::to_string(port), "--advertise",
       cluster_->address(0), "--session-timeout-ms", std::to_string(options_.session_timeout_ms)},
      log, {}, &error))
      << error;
  int status = 0;
  // It waits out one session timeout (a killed predecessor's znode would go).
  ASSERT_TRUE(twin.Wait(milliseconds(options_.session_timeout_ms + 10000), &status))
      << "the twin kept running:\n"
      << ReadFileOrEmpty(log);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_NE(WEXITSTATUS(status), 0);
  std::string text = ReadFileOrEmpty(log);
  EXPECT_NE(text.find("is already a live member"), std::string::npos) << text;
  EXPECT_NE(text.find(cluster_->address(0)), std::string::npos) << text;

  // The original never noticed: still the leader, still taking writes.
  EXPECT_EQ(cluster_->AgreedLeader(), 0);
  HttpReply r = HttpPostJson(cluster_->address(0), "/c",
                             ClusterDoc("dup", nlohmann::json::array({NodeDoc(NthIp(1), 8080)})));
  EXPECT_EQ(r.status, 200) << r.Describe();
  auto st = cluster_->Status(0);
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["members"].size(), 1u);
}

// A restart after SIGKILL is not a duplicate: the dead session's znode
// expires and the instance comes back.
TEST_F(DuplicateAdvertiseTest, RestartAfterKillIsNotRefused) {
  ASSERT_EQ(cluster_->WaitForLeader(milliseconds(10000)), 0);
  std::string error;
  ASSERT_TRUE(cluster_->server(0).Restart(&error, /*hard=*/true)) << error;
  EXPECT_EQ(cluster_->WaitForLeader(milliseconds(options_.session_timeout_ms + 10000)), 0);
  EXPECT_TRUE(cluster_->server(0).running());
}

}  // namespace
}  // namespace jcm::testing
