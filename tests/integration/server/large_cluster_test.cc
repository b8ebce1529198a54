// One cluster of 20,000 nodes is stored and loaded (also by an instance
// started afterwards); a cluster too large for a znode is refused with 413
// and nothing changes.
#include <gtest/gtest.h>

#include <random>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class LargeClusterTest : public JcmClusterTest {
 protected:
  LargeClusterTest() { options_.session_timeout_ms = 3000; }
};

nlohmann::json ManyNodes(int count, int first) {
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < count; ++i) nodes.push_back(NodeDoc(NthIp(first + i), 8080));
  return nodes;
}

// Nodes whose udata is random letters: zlib cannot shrink them much, so
// `count` of them make a definition of about count * 4 KB even compressed.
nlohmann::json IncompressibleNodes(int count, int first) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> letter(0, 61);
  const char* alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    std::string udata(4000, 'x');
    for (auto& ch : udata) ch = alphabet[letter(rng)];
    nlohmann::json n = NodeDoc(NthIp(first + i), 8080);
    n["udata"] = udata;
    nodes.push_back(n);
  }
  return nodes;
}

TEST_F(LargeClusterTest, TwentyThousandNodesStoredAndLoaded) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  int f = cluster_->AFollower(leader);
  HttpReply r = HttpPostJson(cluster_->address(f), "/c", ClusterDoc("big", ManyNodes(20000, 1)),
                             milliseconds(30000));
  ASSERT_EQ(r.status, 200) << r.Describe();
  long long v = r.data().value("version", -1LL);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        WaitUntil([&] { return cluster_->ClusterVersion(i, "big") == v; }, milliseconds(10000)))
        << cluster_->address(i);
    auto c = cluster_->GetCluster(i, "big");
    ASSERT_TRUE(c.has_value());
    auto specs = SpecsOf(*c);
    EXPECT_EQ(specs.size(), 20000u) << cluster_->address(i);
    EXPECT_TRUE(std::binary_search(specs.begin(), specs.end(), NodeSpec(NthIp(19999), 8080)));
  }
  // A restarted instance loads it from ZooKeeper.
  std::string error;
  ASSERT_TRUE(cluster_->server(f).Restart(&error)) << error;
  ASSERT_TRUE(
      WaitUntil([&] { return cluster_->ClusterVersion(f, "big") == v; }, milliseconds(10000)));
  EXPECT_EQ(SpecsOf(*cluster_->GetCluster(f, "big")).size(), 20000u);
  // One more node is one more write of the whole (compressed) cluster.
  HttpReply add =
      HttpPostJson(cluster_->address(f), "/c/node/big",
                   nlohmann::json::array({NodeDoc(NthIp(30000), 8080)}), milliseconds(30000));
  ASSERT_EQ(add.status, 200) << add.Describe();
  EXPECT_EQ(SpecsOf(*cluster_->GetCluster(f, "big")).size(), 20001u);
}

TEST_F(LargeClusterTest, TooLargeForZookeeperIs413AndNothingChanges) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  int f = cluster_->AFollower(leader);
  HttpReply r = HttpPostJson(cluster_->address(f), "/c", ClusterDoc("fat", ManyNodes(10, 1)));
  ASSERT_EQ(r.status, 200) << r.Describe();
  long long v = r.data().value("version", -1LL);

  // ~2.4 MB of JSON, under the request body limit, ~1.8 MB compressed.
  nlohmann::json huge = IncompressibleNodes(600, 100);
  for (int target : {f, leader}) {
    const std::string a = cluster_->address(target);
    HttpReply put = HttpPostJson(a, "/c", ClusterDoc("fat", huge), milliseconds(30000));
    EXPECT_EQ(put.status, 413) << a << ": " << put.Describe();
    EXPECT_EQ(put.code(), -1);
    EXPECT_FALSE(put.msg().empty());
    HttpReply add = HttpPostJson(a, "/c/node/fat", huge, milliseconds(30000));
    EXPECT_EQ(add.status, 413) << a << ": " << add.Describe();
    HttpReply fresh = HttpPostJson(a, "/c", ClusterDoc("fat-new", huge), milliseconds(30000));
    EXPECT_EQ(fresh.status, 413) << a << ": " << fresh.Describe();
  }
  // Nothing changed, anywhere; the instances still take writes (ZooKeeper
  // did not drop their sessions).
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cluster_->ClusterVersion(i, "fat"), v) << cluster_->address(i);
    EXPECT_EQ(SpecsOf(*cluster_->GetCluster(i, "fat")).size(), 10u);
    EXPECT_EQ(HttpGet(cluster_->address(i), "/c/fat-new").status, 404);
  }
  HttpReply ok = HttpPostJson(cluster_->address(f), "/c/node/fat",
                              nlohmann::json::array({NodeDoc(NthIp(50), 8080)}));
  EXPECT_EQ(ok.status, 200) << ok.Describe();
}

}  // namespace
}  // namespace jcm::testing
