// ClusterService over the ZkApi seam with an in-memory ZooKeeper: a whole
// instance (layout, registration, load, election, writes) in one process,
// no ZooKeeper, in milliseconds.
#include <gtest/gtest.h>

#include "server/cluster_service.h"
#include "tests/unit/server/fake_zk.h"

namespace jcm {
namespace {

Node MakeNode(int i) {
  Node n;
  n.ip = "10.1.0." + std::to_string(i);
  n.protos.push_back({80, Proto::kHttp});
  return n;
}

class ClusterServiceFakeZkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto zk = std::make_unique<testing::FakeZk>();
    zk_ = zk.get();
    ClusterService::Options o;
    o.self_address = "127.0.0.1:1";
    service_ = std::make_unique<ClusterService>(o, std::move(zk));
    ASSERT_TRUE(service_->Start().ok());
  }

  testing::FakeZk* zk_ = nullptr;
  std::unique_ptr<ClusterService> service_;
};

TEST_F(ClusterServiceFakeZkTest, ASoleInstanceLoadsLeadsAndWrites) {
  EXPECT_TRUE(service_->Readiness().ok()) << service_->Readiness().ToString();
  ASSERT_TRUE(service_->Leader().self);
  Cluster c;
  c.name = "web";
  c.check_type = CheckType::kNone;
  c.nodes.push_back(MakeNode(1));
  Result<WriteAck> put = service_->PutCluster(c);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  Result<WriteAck> add = service_->AddNodes("web", {MakeNode(2)});
  ASSERT_TRUE(add.ok()) << add.status().ToString();
  EXPECT_GT(add->version, put->version);
  ClusterPtr held = service_->GetCluster("web");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->nodes.size(), 2u);
  EXPECT_EQ(held->version, add->version);
  // What ZooKeeper holds decodes to the same definition.
  ClusterStore store(zk_, "/jcm");
  Result<StoredCluster> stored = store.Load("web", false);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->cluster.nodes.size(), 2u);
  EXPECT_EQ(stored->cluster.version, add->version);
  nlohmann::json status = service_->SystemStatus();
  EXPECT_EQ(status["writes"]["ok"], 2);
  EXPECT_EQ(status["writes"]["batches"], 2);
  EXPECT_EQ(status["writes"]["mutationsBatched"], 2);
}

TEST_F(ClusterServiceFakeZkTest, ZooKeeperUnreachableRefusesWrites) {
  zk_->set_state(ZkState::kConnecting);
  Result<WriteAck> r = service_->AddNodes("web", {MakeNode(1)});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_FALSE(service_->Leader().known);
}

TEST(ClusterStoreFakeZkTest, NotNewerThanHeldIsNotDecoded) {
  testing::FakeZk zk;
  ClusterStore store(&zk, "/jcm");
  ASSERT_TRUE(store.EnsureLayout().ok());
  // Bytes that would not decode: only a decode could fail on them.
  ZkStat stat;
  ASSERT_TRUE(zk.Create(store.ClusterPath("web"), "", 0).ok());
  ASSERT_TRUE(zk.Set(store.ClusterPath("web"), "{not json", -1, &stat).ok());
  Result<StoredCluster> held = store.Load("web", false, stat.mzxid);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  EXPECT_TRUE(held->not_newer);
  EXPECT_EQ(held->cluster.version, stat.mzxid);
  EXPECT_EQ(held->znode_version, stat.version);
  Result<StoredCluster> older = store.Load("web", false, stat.mzxid - 1);
  EXPECT_FALSE(older.ok());  // newer than held: decoded, and unreadable
}

}  // namespace
}  // namespace jcm
