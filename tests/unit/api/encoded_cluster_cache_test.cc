// EncodedClusterCache: one encoding per snapshot, replaced when the snapshot
// under a name changes, texts equal to the codec's.
#include "api/encoded_cluster_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "api/http_reply.h"
#include "model/cluster_codec.h"

namespace jcm {
namespace {

ClusterPtr Snapshot(const std::string& name, int64_t version) {
  Cluster c;
  c.name = name;
  c.version = version;
  Node up;
  up.ip = "10.0.0.1";
  up.protos = {{80, Proto::kHttp}};
  up.status = NodeStatus::kNormal;
  Node down = up;
  down.ip = "10.0.0.2";
  down.status = NodeStatus::kTimeout;
  c.nodes = {up, down};
  return std::make_shared<const Cluster>(std::move(c));
}

TEST(EncodedClusterCache, TextsMatchTheCodec) {
  EncodedClusterCache cache;
  ClusterPtr c = Snapshot("web", 3);
  auto e = cache.Get(c);
  EXPECT_EQ(e->Full(), DumpJson(EncodeCluster(*c, ClusterJsonForm::kFull)));
  EXPECT_EQ(e->Jcm(), DumpJson(EncodeCluster(*c, ClusterJsonForm::kJcm)));
  EXPECT_EQ(e->Invalids(), R"(["10.0.0.2|HTTP:80"])");
}

TEST(EncodedClusterCache, SameSnapshotSharesNewSnapshotReplaces) {
  EncodedClusterCache cache;
  ClusterPtr v3 = Snapshot("web", 3);
  auto first = cache.Get(v3);
  EXPECT_EQ(cache.Get(v3), first);
  // Equal content but a different snapshot: a new entry, never stale text.
  ClusterPtr v4 = Snapshot("web", 4);
  auto second = cache.Get(v4);
  EXPECT_NE(second, first);
  EXPECT_NE(second->Full().find(R"("version":4)"), std::string::npos);
  EXPECT_EQ(cache.Get(v4), second);
}

TEST(EncodedClusterCache, BoundedByNames) {
  EncodedClusterCache cache(2);
  auto a = cache.Get(Snapshot("a", 1));
  cache.Get(Snapshot("b", 1));
  cache.Get(Snapshot("c", 1));  // over the bound: starts over
  EXPECT_NE(cache.Get(a->cluster()), a);
}

// The versions a delta can start from: the last kHistory encoded before
// the current one, found by exactly (version, status version).
TEST(EncodedClusterCache, RemembersTheLastVersionsItEncoded) {
  EncodedClusterCache cache;
  const int64_t count = static_cast<int64_t>(EncodedClusterCache::kHistory) + 3;
  std::vector<ClusterPtr> versions;
  for (int64_t v = 1; v <= count; ++v) {
    versions.push_back(Snapshot("web", v));
    cache.Get(versions.back());
  }
  EXPECT_EQ(cache.Find("web", count, 0), versions.back());  // the current one
  for (int64_t v = count - static_cast<int64_t>(EncodedClusterCache::kHistory); v < count; ++v) {
    EXPECT_EQ(cache.Find("web", v, 0), versions[static_cast<size_t>(v - 1)]) << v;
  }
  EXPECT_EQ(cache.Find("web", count - static_cast<int64_t>(EncodedClusterCache::kHistory) - 1, 0),
            nullptr);
  EXPECT_EQ(cache.Find("web", count, 1), nullptr);  // another status version
  EXPECT_EQ(cache.Find("other", count, 0), nullptr);
}

// A delta is built once per base and names what changed; past half the
// nodes it is not worth sending.
TEST(EncodedClusterCache, DeltaFromAnEarlierVersion) {
  EncodedClusterCache cache;
  ClusterPtr v3 = Snapshot("web", 3);
  Cluster next = *v3;  // shares the chunk, then copies it on write
  next.version = 4;
  next.nodes.Mutable(0).weight = 5;
  next.nodes.Mutable(1).status = NodeStatus::kNormal;
  auto v4 = std::make_shared<const Cluster>(std::move(next));
  auto e = cache.Get(v4);
  size_t nodes_read = 0;
  std::shared_ptr<const std::string> delta = e->DeltaFrom(v3, &nodes_read);
  // Both nodes changed: not smaller than the whole.
  EXPECT_EQ(delta, nullptr);
  EXPECT_EQ(nodes_read, 4u);  // the chunk of each version

  Cluster wide = *v3;
  for (int i = 3; i < 10; ++i) {
    Node n = wide.nodes[0];
    n.ip = "10.0.0." + std::to_string(i);
    wide.nodes.push_back(n);
  }
  auto w1 = std::make_shared<const Cluster>(wide);
  wide.version = 5;
  wide.nodes.Mutable(8).weight = 9;
  auto w2 = std::make_shared<const Cluster>(std::move(wide));
  auto e2 = cache.Get(w2);
  delta = e2->DeltaFrom(w1, &nodes_read);
  ASSERT_NE(delta, nullptr);
  EXPECT_EQ(nodes_read, 18u);
  EXPECT_EQ(e2->DeltaFrom(w1, &nodes_read), delta);  // built once
  EXPECT_EQ(nodes_read, 0u);
  auto unit = nlohmann::json::parse("{" + *delta + "}");
  EXPECT_EQ(unit["baseVersion"], 3);
  EXPECT_EQ(unit["removed"], nlohmann::json::array());
  ASSERT_EQ(unit["cluster"]["nodes"].size(), 1u);
  EXPECT_EQ(unit["cluster"]["nodes"][0]["ip"], "10.0.0.9");
  EXPECT_EQ(unit["cluster"]["nodes"][0]["weight"], 9);
  EXPECT_EQ(unit["cluster"]["version"], 5);
}

TEST(EncodedClusterCache, ConcurrentReadersGetOneText) {
  EncodedClusterCache cache;
  ClusterPtr c = Snapshot("web", 9);
  std::vector<const std::string*> seen(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { seen[i] = &cache.Get(c)->Full(); });
  }
  for (auto& t : threads) t.join();
  for (const std::string* s : seen) EXPECT_EQ(s, seen[0]);
}

}  // namespace
}  // namespace jcm
