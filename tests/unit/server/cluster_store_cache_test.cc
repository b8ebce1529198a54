// ClusterStore's decode cache on a fake ZooKeeper: each Load of a newer
// version decodes exactly what was stored, from the previous version's
// nodes; an unreadable version or a deletion leaves nothing stale behind.
#include <gtest/gtest.h>

#include "model/cluster_codec.h"
#include "storage/cluster_store.h"
#include "tests/unit/server/fake_zk.h"

namespace jcm {
namespace {

Node MakeNode(int i) {
  Node n;
  n.ip = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  n.protos.push_back({8080, Proto::kHttp});
  return n;
}

std::vector<std::string> Specs(const Cluster& c) {
  std::vector<std::string> out;
  for (const Node& n : c.nodes) out.push_back(n.Spec());
  return out;
}

class ClusterStoreCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.EnsureLayout().ok());
    Result<std::string> fence = zk_.Create("/jcm/servers/member-a-", "", ZkApi::kSequential);
    ASSERT_TRUE(fence.ok());
    fence_ = fence.value();
  }
  testing::FakeZk zk_;
  ClusterStore store_{&zk_, "/jcm"};
  // Writes what store_ reads: a store does not decode its own writes
  // again (their writer publishes them).
  ClusterStore writer_{&zk_, "/jcm"};
  std::string fence_;
};

TEST_F(ClusterStoreCacheTest, NewerVersionsDecodeAsStoredFromTheCache) {
  Cluster c;
  c.name = "big";
  c.check_type = CheckType::kNone;
  // Inline (the bucketed form is cluster_store_buckets_test's): ~60 KB of
  // JSON, compressed.
  for (int i = 0; i < 700; ++i) c.nodes.push_back(MakeNode(i));
  Result<StoredCluster> saved = writer_.Save(c, -1, fence_);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  Result<StoredCluster> loaded = store_.Load("big", false);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(Specs(loaded->cluster), Specs(c));
  EXPECT_EQ(store_.CachedNodes("big"), 700u);

  // Three more versions: removals in the middle, a changed node, additions.
  int32_t znode_version = saved->znode_version;
  for (int round = 0; round < 3; ++round) {
    // (601 before the first removal is 600 after it.)
    c.nodes.RemoveSorted({static_cast<size_t>(100 + round * 7), 601});
    c.nodes.Mutable(10 + round).weight = 3 + round;
    c.nodes.push_back(MakeNode(5000 + round));
    saved = writer_.Save(c, znode_version, fence_);
    ASSERT_TRUE(saved.ok()) << saved.status().ToString();
    znode_version = saved->znode_version;
    loaded = store_.Load("big", false, loaded->cluster.version);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ASSERT_FALSE(loaded->not_newer);
    EXPECT_EQ(loaded->cluster.version, saved->cluster.version);
    EXPECT_EQ(EncodeCluster(loaded->cluster, ClusterJsonForm::kStored),
              EncodeCluster(c, ClusterJsonForm::kStored))
        << "round " << round;
    EXPECT_EQ(store_.CachedNodes("big"), c.nodes.size());
  }

  // Not newer: nothing decoded, the cache as it was.
  Result<StoredCluster> again = store_.Load("big", false, loaded->cluster.version);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->not_newer);
}

TEST_F(ClusterStoreCacheTest, UnreadableVersionAndDeletionLeaveNothingStale) {
  Cluster c;
  c.name = "web";
  for (int i = 0; i < 50; ++i) c.nodes.push_back(MakeNode(i));
  Result<StoredCluster> saved = store_.Save(c, -1, fence_);
  ASSERT_TRUE(saved.ok());
  ASSERT_TRUE(store_.Load("web", false).ok());
  ASSERT_EQ(store_.CachedNodes("web"), 50u);

  // Someone writes garbage straight into ZooKeeper.
  ZkStat stat;
  ASSERT_TRUE(
      zk_.Set(store_.ClusterPath("web"), "{\"name\":\"web\",\"nodes\":[1,", -1, &stat).ok());
  Result<StoredCluster> bad = store_.Load("web", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(ClusterStore::IsUnreadable(bad.status())) << bad.status().ToString();
  EXPECT_EQ(store_.CachedNodes("web"), 0u);

  // A good version after it decodes in full and right.
  c.nodes.RemoveSorted({c.nodes.size() - 1});
  saved = store_.Save(c, stat.version, fence_);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  Result<StoredCluster> good = store_.Load("web", false);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(Specs(good->cluster), Specs(c));
  EXPECT_EQ(store_.CachedNodes("web"), 49u);

  ASSERT_TRUE(store_.Remove("web", saved->znode_version, fence_).ok());
  EXPECT_EQ(store_.CachedNodes("web"), 0u);
  EXPECT_TRUE(store_.Load("web", false).status().IsNotFound());
}

}  // namespace
}  // namespace jcm
