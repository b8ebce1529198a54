// --max-clusters and --max-nodes (issue 9 item 6) on a real instance: a
// write past a cap is a 413 naming the flag and the limit, and nothing is
// written; writes that do not grow a cluster pass; room made is usable.
#include <gtest/gtest.h>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

nlohmann::json Nodes(int from, int count) {
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = from; i < from + count; ++i) nodes.push_back(NodeDoc(NthIp(i), 8080));
  return nodes;
}

class CapsTest : public JcmClusterTest {
 protected:
  CapsTest() {
    options_.instances = 2;
    options_.extra_args = {"--max-clusters", "2", "--max-nodes", "5"};
  }
};

TEST_F(CapsTest, WritesPastTheCapsAre413AndWriteNothing) {
  int leader = cluster_->WaitForLeader(std::chrono::milliseconds(10000));
  ASSERT_GE(leader, 0);
  const std::string a = cluster_->address(cluster_->AFollower(leader));
  ASSERT_EQ(HttpPostJson(a, "/c", ClusterDoc("one", Nodes(1, 3))).status, 200);
  ASSERT_EQ(HttpPostJson(a, "/c", ClusterDoc("two", Nodes(10, 1))).status, 200);

  HttpReply third = HttpPostJson(a, "/c", ClusterDoc("three", Nodes(20, 1)));
  EXPECT_EQ(third.status, 413) << third.Describe();
  EXPECT_EQ(third.code(), -1);
  EXPECT_NE(third.msg().find("--max-clusters 2"), std::string::npos) << third.msg();
  EXPECT_EQ(cluster_->ClusterVersion(leader, "three"), -1);

  const long long one = cluster_->ClusterVersion(leader, "one");
  HttpReply grow = HttpPostJson(a, "/c/node/one", Nodes(30, 2));  // 4 + 2 > 5
  EXPECT_EQ(grow.status, 413) << grow.Describe();
  EXPECT_NE(grow.msg().find("6 nodes, over the limit (--max-nodes 5)"), std::string::npos)
      << grow.msg();
  HttpReply put = HttpPostJson(a, "/c", ClusterDoc("one", Nodes(1, 5)));  // 5 + 1 > 5
  EXPECT_EQ(put.status, 413) << put.Describe();
  EXPECT_EQ(cluster_->ClusterVersion(leader, "one"), one);

  // Re-adding nodes it has, or a PUT of the same size, does not grow it.
  EXPECT_EQ(HttpPostJson(a, "/c/node/one", Nodes(1, 2)).status, 200);
  EXPECT_EQ(HttpPostJson(a, "/c", ClusterDoc("one", Nodes(2, 3))).status, 200);
  // Up to the cap exactly.
  EXPECT_EQ(HttpPostJson(a, "/c/node/one", Nodes(40, 1)).status, 200);
  // Room made by a delete is usable.
  ASSERT_EQ(HttpDelete(a, "/c/two").status, 200);
  EXPECT_EQ(HttpPostJson(a, "/c", ClusterDoc("three", Nodes(20, 1))).status, 200);
  auto st = cluster_->Status(leader);
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)["limits"]["clusters"], 2);
  EXPECT_EQ((*st)["limits"]["nodes"], 5);
  EXPECT_EQ((*st)["limits"]["maxNodes"], 5);
}

}  // namespace
}  // namespace jcm::testing
