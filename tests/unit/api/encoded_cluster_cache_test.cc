// EncodedClusterCache: one encoding per snapshot, replaced when the snapshot
// under a name changes, texts equal to the codec's.
#include "api/encoded_cluster_cache.h"

#include <gtest/gtest.h>

#include <thread>

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
