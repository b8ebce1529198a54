// A checkType NONE cluster has nothing to check, so no instance writes a
// status report for it (issue 10: at 20,000 nodes that O(nodes) rewrite per
// definition change was 17 % of all CPU), yet every online node of it is
// served NORMAL everywhere, before and after a change. An HTTP cluster
// created after it in the same deployment gets its status znode: the
// control that the checkers run and write here.
#include <gtest/gtest.h>

#include "storage/zk_client.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class NoneStatusTest : public JcmClusterTest {};

std::vector<std::string> Statuses(const nlohmann::json& cluster) {
  std::vector<std::string> out;
  for (const auto& n : cluster["nodes"]) out.push_back(n.value("status", ""));
  return out;
}

TEST_F(NoneStatusTest, NoStatusZnodeForNoneClustersWhichServeNormal) {
  int leader = cluster_->WaitForLeader(milliseconds(5000));
  ASSERT_GE(leader, 0);
  // A short interval: a checker given this cluster would end a round, and
  // write its report, within 100 ms; the HTTP cluster's first round takes
  // the default interval.
  nlohmann::json plain = ClusterDoc(
      "plain", nlohmann::json::array({NodeDoc(NthIp(1), 8080), NodeDoc(NthIp(2), 8080)}), "NONE");
  plain["intervalMs"] = 100;
  HttpReply put = HttpPostJson(cluster_->address(leader), "/c", plain);
  ASSERT_EQ(put.status, 200) << put.Describe();
  // Port 1 on loopback: refused at once, so the first round ends at once.
  put = HttpPostJson(cluster_->address(leader), "/c",
                     ClusterDoc("checked", nlohmann::json::array({NodeDoc(NthIp(3), 1)}), "HTTP"));
  ASSERT_EQ(put.status, 200) << put.Describe();
  HttpReply add = HttpPostJson(cluster_->address(leader), "/c/node/plain",
                               nlohmann::json::array({NodeDoc(NthIp(4), 8080)}));
  ASSERT_EQ(add.status, 200) << add.Describe();

  ZkClient zk(ZkClient::Options{cluster_->zk().connect_string(), 5000}, [](const ZkEvent&) {});
  ASSERT_TRUE(zk.Start().ok());
  ASSERT_TRUE(zk.WaitConnected(10000));
  const std::string status_dir = options_.zk_root + "/status/";
  ASSERT_TRUE(WaitUntil([&] { return zk.Exists(status_dir + "checked", nullptr, false).ok(); },
                        milliseconds(10000)))
      << "the HTTP cluster's owner never wrote its statuses\n"
      << cluster_->AllLogs();
  for (int i = 0; i < cluster_->size(); ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto c = cluster_->GetCluster(i, "plain");
          return c && Statuses(*c) == std::vector<std::string>{"NORMAL", "NORMAL", "NORMAL"};
        },
        milliseconds(3000)))
        << cluster_->address(i) << " does not serve every node of the NONE cluster NORMAL";
  }
  Status none = zk.Exists(status_dir + "plain", nullptr, false);
  EXPECT_TRUE(none.IsNotFound()) << "a status znode was written for a NONE cluster: "
                                 << none.ToString();
}

}  // namespace
}  // namespace jcm::testing
