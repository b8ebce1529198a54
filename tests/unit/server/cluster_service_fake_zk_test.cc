// ClusterService over the ZkApi seam with an in-memory ZooKeeper: a whole
// instance (layout, registration, load, election, writes) in one process,
// no ZooKeeper, in milliseconds.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/http_reply.h"
#include "server/cluster_service.h"
#include "storage/cluster_buckets.h"
#include "tests/unit/server/fake_zk.h"

namespace jcm {
namespace {

Node MakeNode(int i) {
  Node n;
  n.ip = "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
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

// The writer's own write, read back by its watch before the writer has
// published it, is not decoded again (the writer publishes it), inline
// form as bucketed; another instance's store decodes it.
TEST(ClusterStoreFakeZkTest, OwnWriteReadBackIsNotDecodedAgain) {
  testing::FakeZk zk;
  ClusterStore writer(&zk, "/jcm");
  ASSERT_TRUE(writer.EnsureLayout().ok());
  Result<std::string> fence = zk.Create("/jcm/servers/member-a-", "", ZkApi::kSequential);
  ASSERT_TRUE(fence.ok());
  Cluster c;
  c.name = "web";
  c.check_type = CheckType::kNone;
  c.nodes.push_back(MakeNode(1));
  Result<StoredCluster> v1 = writer.Save(c, -1, fence.value());
  ASSERT_TRUE(v1.ok());
  c.nodes.push_back(MakeNode(2));
  Result<StoredCluster> v2 = writer.Save(c, v1->znode_version, fence.value());
  ASSERT_TRUE(v2.ok());
  ASSERT_FALSE(ClusterBuckets::IsHeader(zk.Get("/jcm/clusters/web", nullptr, false).value()));
  Result<StoredCluster> own = writer.Load("web", false, v1->cluster.version);
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(own->not_newer);
  EXPECT_EQ(own->cluster.version, v2->cluster.version);
  ClusterStore other(&zk, "/jcm");
  Result<StoredCluster> theirs = other.Load("web", false, v1->cluster.version);
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(theirs->not_newer);
  EXPECT_EQ(theirs->cluster.nodes.size(), 2u);

  // The writer stores v3 after the watch's read of v2 left ZooKeeper and
  // before it is looked at: v2 is older than the writer's own last write,
  // not decoded either.
  int64_t v3_version = 0;
  zk.after_get = [&](const std::string&) {
    if (v3_version != 0) return;  // the writer's own reads, if any
    v3_version = -1;
    c.nodes.push_back(MakeNode(3));
    Result<StoredCluster> v3 = writer.Save(c, v2->znode_version, fence.value());
    ASSERT_TRUE(v3.ok());
    v3_version = v3->cluster.version;
  };
  Result<StoredCluster> older = writer.Load("web", false, v1->cluster.version);
  zk.after_get = nullptr;
  ASSERT_TRUE(older.ok());
  ASSERT_GT(v3_version, 0);
  EXPECT_TRUE(older->not_newer);
  EXPECT_EQ(older->cluster.version, v2->cluster.version);
  // Another store still decodes what it reads.
  theirs = other.Load("web", false, v2->cluster.version);
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(theirs->not_newer);
  EXPECT_EQ(theirs->cluster.version, v3_version);
}

}  // namespace
}  // namespace jcm

namespace jcm {
namespace {

constexpr std::chrono::milliseconds kNoWait{0};

// A leader on an in-memory ZooKeeper, and a follower that never connects
// (it never loads or leads: only acks bring it forward), holding the
// leader's cluster "web" of nodes 1..n at the start.
class AckFollowerTest : public ::testing::Test {
 protected:
  AckFollowerTest() {
    auto zk = std::make_unique<testing::FakeZk>();
    leader_zk_ = zk.get();
    ClusterService::Options o;
    o.self_address = "127.0.0.1:1";
    leader_ = std::make_unique<ClusterService>(o, std::move(zk));
    auto fzk = std::make_unique<testing::FakeZk>();
    fzk->connect_on_start = false;
    o.self_address = "127.0.0.1:2";
    follower_ = std::make_unique<ClusterService>(o, std::move(fzk));
    store_ = std::make_unique<ClusterStore>(leader_zk_, "/jcm");
  }
  // Creates "web" with nodes 1..n on the leader and gives the follower
  // that version; returns it as stored.
  Result<StoredCluster> StartAtBase(int n) {
    Status s = leader_->Start();
    if (!s.ok()) return s;
    Cluster c;
    c.name = "web";
    c.check_type = CheckType::kNone;
    for (int i = 1; i <= n; ++i) c.nodes.push_back(MakeNode(i));
    Result<WriteAck> put = leader_->PutCluster(c);
    if (!put.ok()) return put.status();
    Result<StoredCluster> base = store_->Load("web", false);
    if (base.ok() &&
        !follower_->registry()->ApplyDefinition(base->cluster, base->znode_version, base->czxid)) {
      return Status::Internal("the follower refused the base");
    }
    return base;
  }

  // Adds node `i` on the leader and returns the write's ack as a follower
  // receives it (through the reply's JSON).
  WriteAck AddForwarded(int i) {
    Result<WriteAck> add = leader_->AddNodes("web", {MakeNode(i)});
    WriteAck forwarded;
    EXPECT_TRUE(add.ok()) << add.status().ToString();
    if (add.ok()) {
      EXPECT_TRUE(ParseWriteAck(WriteAckJson(add.value()), &forwarded));
    }
    return forwarded;
  }

  testing::FakeZk* leader_zk_ = nullptr;
  std::unique_ptr<ClusterService> leader_;
  std::unique_ptr<ClusterService> follower_;
  std::unique_ptr<ClusterStore> store_;  // the leader's ZooKeeper, read
};

// Read-your-writes from the ack: a follower holding exactly the base
// applies the leader's delta (through the ack's JSON, as forwarded) and
// ends with the leader's definition at the leader's version.
TEST_F(AckFollowerTest, AFollowerAtTheBaseAppliesTheLeadersDelta) {
  ClusterService& leader = *leader_;
  ClusterService& follower = *follower_;
  ClusterStore& store = *store_;
  Result<StoredCluster> base = StartAtBase(3);
  ASSERT_TRUE(base.ok()) << base.status().ToString();

  Result<WriteAck> add = leader.AddNodes("web", {MakeNode(9)});
  ASSERT_TRUE(add.ok());
  ASSERT_NE(add->delta, nullptr);
  EXPECT_EQ(add->delta->base_version, base->cluster.version);
  WriteAck forwarded;
  ASSERT_TRUE(ParseWriteAck(WriteAckJson(add.value()), &forwarded));
  ASSERT_NE(forwarded.delta, nullptr);
  ASSERT_TRUE(follower.ApplyAck(forwarded, kNoWait));
  ClusterPtr held = follower.GetCluster("web");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->version, add->version);
  Result<StoredCluster> stored = store.Load("web", false);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(held->nodes.size(), stored->cluster.nodes.size());
  for (size_t i = 0; i < held->nodes.size(); ++i) {
    EXPECT_TRUE(held->nodes[i].SameDefinition(stored->cluster.nodes[i])) << i;
  }
  EXPECT_TRUE(follower.WaitUntilApplied(forwarded, std::chrono::milliseconds(0)));

  // Two writes later the follower is not at the base of the second and,
  // not waiting for it, leaves the delta to the watch: nothing changes.
  ASSERT_TRUE(leader.RemoveNodes("web", {MakeNode(1).Spec()}).ok());
  Result<WriteAck> off = leader.SetNodeOnline("web", MakeNode(2).Spec(), false);
  ASSERT_TRUE(off.ok());
  ASSERT_TRUE(ParseWriteAck(WriteAckJson(off.value()), &forwarded));
  EXPECT_FALSE(follower.ApplyAck(forwarded, kNoWait));
  EXPECT_EQ(follower.GetCluster("web")->version, add->version);
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["applied"], 1);
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["leftToWatch"], 1);
  // The leader never applies an ack to itself.
  EXPECT_FALSE(leader.ApplyAck(off.value(), kNoWait));
}

// Acks of consecutive batches race on a follower: the ack of the second
// may arrive before the first is applied. It waits for its base and then
// applies from the ack too, instead of leaving the write to the watch.
TEST_F(AckFollowerTest, AnAckAheadOfItsBaseWaitsForTheEarlierAck) {
  ClusterService& follower = *follower_;
  Result<StoredCluster> base = StartAtBase(1);
  ASSERT_TRUE(base.ok()) << base.status().ToString();

  const WriteAck first_ack = AddForwarded(2);
  const WriteAck second_ack = AddForwarded(3);
  ASSERT_NE(first_ack.delta, nullptr);
  ASSERT_NE(second_ack.delta, nullptr);

  bool second_applied = false;
  std::thread late(
      [&] { second_applied = follower.ApplyAck(second_ack, std::chrono::milliseconds(10000)); });
  // Apply the first only once the second is waiting for it.
  for (int i = 0; i < 5000 && follower.SystemStatus()["forwardedAcks"]["waitedForBase"] == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["waitedForBase"], 1);
  EXPECT_TRUE(follower.ApplyAck(first_ack, kNoWait));
  late.join();
  EXPECT_TRUE(second_applied);
  ClusterPtr held = follower.GetCluster("web");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->version, second_ack.version);
  EXPECT_EQ(held->nodes.size(), 3u);
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["applied"], 2);
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["leftToWatch"], 0);

  // Waiting ends at its deadline when the base never comes: left to the
  // watch, nothing applied.
  AddForwarded(4);  // never applied here
  const WriteAck third_ack = AddForwarded(5);
  ASSERT_NE(third_ack.delta, nullptr);
  EXPECT_FALSE(follower.ApplyAck(third_ack, std::chrono::milliseconds(20)));
  EXPECT_EQ(follower.GetCluster("web")->version, second_ack.version);
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["leftToWatch"], 1);
}

// A large base the watch brought has no spec index: applying an ack onto
// it would hash every node's spec first. The follower leaves that write to
// its watch (whose reload of a bucketed cluster one write behind reads the
// header only); up to 4,096 nodes it applies the ack as before.
TEST_F(AckFollowerTest, AnAckOntoALargeBaseWithoutAnIndexIsLeftToTheWatch) {
  ClusterService& follower = *follower_;
  Result<StoredCluster> base = StartAtBase(5000);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  const WriteAck forwarded = AddForwarded(6000);
  ASSERT_NE(forwarded.delta, nullptr);
  EXPECT_FALSE(follower.ApplyAck(forwarded, kNoWait));
  EXPECT_EQ(follower.GetCluster("web")->version, base->cluster.version);
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["leftWithoutIndex"], 1);
  EXPECT_EQ(follower.SystemStatus()["forwardedAcks"]["applied"], 0);
}

TEST_F(AckFollowerTest, AnAckOntoABaseOfUpTo4096NodesWithoutAnIndexIsApplied) {
  Result<StoredCluster> base = StartAtBase(4096);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  const WriteAck forwarded = AddForwarded(6000);
  ASSERT_NE(forwarded.delta, nullptr);
  EXPECT_TRUE(follower_->ApplyAck(forwarded, kNoWait));
  EXPECT_EQ(follower_->GetCluster("web")->version, forwarded.version);
  EXPECT_EQ(follower_->SystemStatus()["forwardedAcks"]["leftWithoutIndex"], 0);
}

TEST(ApplyAckTest, AReplacementCarriesNoDelta) {
  ClusterService::Options o;
  o.self_address = "127.0.0.1:1";
  ClusterService leader(o, std::make_unique<testing::FakeZk>());
  ASSERT_TRUE(leader.Start().ok());
  Cluster c;
  c.name = "web";
  c.nodes.push_back(MakeNode(1));
  Result<WriteAck> created = leader.PutCluster(c);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->delta, nullptr);
  Result<WriteAck> replaced = leader.PutCluster(c);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->delta, nullptr);
  nlohmann::json j = WriteAckJson(replaced.value());
  EXPECT_FALSE(j.contains("applied"));
}

}  // namespace
}  // namespace jcm
