// An instance that learned of a cluster from its own write (the leader) or
// from the leader's acknowledgement (a follower that forwarded the create)
// must still see later changes made elsewhere: through other instances, and
// straight in ZooKeeper (a restore, an operator's edit, a later leader). It
// needs a data watch on the cluster, which its own write never armed.
#include <gtest/gtest.h>

#include "storage/zk_client.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class WatchAfterWriteTest : public JcmClusterTest {};

TEST_F(WatchAfterWriteTest, CreatorsSeeChangesMadeElsewhere) {
  int leader = cluster_->WaitForLeader(milliseconds(5000));
  ASSERT_GE(leader, 0);
  int f1 = cluster_->AFollower(leader);
  int f2 = cluster_->AFollower(leader, {f1});
  ASSERT_GE(f2, 0);
  // Created through f1 (forwarded; f1 may apply the ack itself) and through
  // the leader.
  for (int creator : {f1, leader}) {
    const std::string name = "watched-" + std::to_string(creator);
    HttpReply put =
        HttpPostJson(cluster_->address(creator), "/c",
                     ClusterDoc(name, nlohmann::json::array({NodeDoc(NthIp(1), 8080)})));
    ASSERT_EQ(put.status, 200) << put.Describe();
    // Changes through the other follower reach the creator, every time.
    for (int i = 0; i < 5; ++i) {
      HttpReply add = HttpPostJson(cluster_->address(f2), "/c/node/" + name,
                                   nlohmann::json::array({NodeDoc(NthIp(10 + i), 8080)}));
      ASSERT_EQ(add.status, 200) << add.Describe();
      long long v = add.data().value("version", 0LL);
      EXPECT_TRUE(WaitUntil([&] { return cluster_->ClusterVersion(creator, name) >= v; },
                            milliseconds(3000)))
          << cluster_->address(creator) << " never saw version " << v << " of " << name
          << " (holds " << cluster_->ClusterVersion(creator, name) << ")";
    }
  }
  // An edit straight in ZooKeeper reaches every instance, the leader that
  // created the cluster included.
  ZkClient zk(ZkClient::Options{cluster_->zk().connect_string(), 5000}, [](const ZkEvent&) {});
  ASSERT_TRUE(zk.Start().ok());
  ASSERT_TRUE(zk.WaitConnected(10000));
  const std::string name = "watched-" + std::to_string(leader);
  nlohmann::json doc = ClusterDoc(name, nlohmann::json::array({NodeDoc(NthIp(99), 8080)}));
  ASSERT_TRUE(zk.Set(options_.zk_root + "/clusters/" + name, doc.dump(), -1, nullptr).ok());
  for (int i = 0; i < cluster_->size(); ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto c = cluster_->GetCluster(i, name);
          return c && SpecsOf(*c) == std::vector<std::string>{NodeSpec(NthIp(99), 8080)};
        },
        milliseconds(3000)))
        << cluster_->address(i) << (i == leader ? " (the creator)" : "")
        << " never saw the edit made in ZooKeeper";
  }
  zk.Close();
}

}  // namespace
}  // namespace jcm::testing
