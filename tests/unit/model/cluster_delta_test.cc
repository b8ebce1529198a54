// ClusterDelta: the diff a server sends names exactly what changed, reads
// only the chunks two versions do not share, and applying it to the base
// gives the next version node for node.
#include "model/cluster_delta.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "model/node_list.h"

namespace jcm {
namespace {

Node NodeAt(int i) {
  Node n;
  n.ip = "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
  n.protos.push_back({8080, Proto::kHttp});
  n.status = NodeStatus::kNormal;
  return n;
}

Cluster ClusterOf(int count) {
  Cluster c;
  c.name = "c1";
  c.version = 10;
  c.status_version = 20;
  for (int i = 0; i < count; ++i) c.nodes.push_back(NodeAt(i));
  return c;
}

// spec -> node, for comparing clusters whatever their node order.
std::map<std::string, Node> BySpec(const Cluster& c) {
  std::map<std::string, Node> out;
  for (const Node& n : c.nodes) out.emplace(n.Spec(), n);
  return out;
}

void ExpectSameNodes(const Cluster& a, const Cluster& b) {
  auto x = BySpec(a), y = BySpec(b);
  ASSERT_EQ(x.size(), y.size());
  ASSERT_EQ(a.nodes.size(), x.size()) << "a spec twice";
  for (const auto& [spec, node] : x) {
    auto it = y.find(spec);
    ASSERT_NE(it, y.end()) << spec;
    EXPECT_TRUE(SameServedNode(node, it->second)) << spec;
  }
}

// What a subscriber receives: the next version's fields with only the set
// nodes, and the removed specs.
Cluster DeltaFields(const Cluster& next, const ClusterDiff& diff) {
  Cluster fields = next;
  fields.nodes.clear();
  for (const Node* n : diff.set) fields.nodes.push_back(*n);
  return fields;
}

// Diffs `base` -> `next` and applies the delta to `held` (what a
// subscriber holds of `base`); expects the result to be `next`, node for
// node. Failures are recorded; the caller checks HasFailure().
Cluster ApplyDiff(const Cluster& held, const Cluster& base, const Cluster& next,
                  ClusterDiff* diff) {
  *diff = DiffClusters(base, next);
  Cluster applied;
  EXPECT_TRUE(ApplyClusterDelta(held, DeltaFields(next, *diff), diff->removed, &applied).ok());
  ExpectSameNodes(applied, next);
  return applied;
}

size_t FindPos(const Cluster& c, const std::string& spec) {
  size_t i = 0;
  for (const Node& n : c.nodes) {
    if (n.Spec() == spec) return i;
    ++i;
  }
  return c.nodes.size();
}

TEST(ClusterDelta, NamesExactlyWhatAWriteChangedReadingOnlyItsChunks) {
  const Cluster base = ClusterOf(20 * NodeList::kChunkNodes);
  Cluster next = base;  // shares every chunk
  next.version = 11;
  next.status_version = 21;
  next.panic = true;
  next.nodes.Mutable(FindPos(next, NodeAt(5).Spec())).status = NodeStatus::kTimeout;
  next.nodes.Mutable(FindPos(next, NodeAt(700).Spec())).weight = 7;
  next.nodes.Mutable(FindPos(next, NodeAt(701).Spec())).last_check_ms = 99;  // still "seen"
  next.nodes.RemoveSorted({FindPos(next, NodeAt(1000).Spec())});
  next.nodes.push_back(NodeAt(900000));

  ClusterDiff diff = DiffClusters(base, next);
  std::vector<std::string> set;
  for (const Node* n : diff.set) set.push_back(n->Spec());
  std::sort(set.begin(), set.end());
  std::vector<std::string> want_set = {NodeAt(5).Spec(), NodeAt(700).Spec(), NodeAt(701).Spec(),
                                       NodeAt(900000).Spec()};
  std::sort(want_set.begin(), want_set.end());
  EXPECT_EQ(set, want_set);
  EXPECT_EQ(diff.removed, std::vector<std::string>{NodeAt(1000).Spec()});
  // Five chunks touched on each side at most, of twenty.
  EXPECT_LE(diff.nodes_read, 10u * NodeList::kChunkNodes);
  EXPECT_GT(diff.nodes_read, 0u);

  Cluster applied;
  ASSERT_TRUE(ApplyClusterDelta(base, DeltaFields(next, diff), diff.removed, &applied).ok());
  ExpectSameNodes(applied, next);
  EXPECT_EQ(applied.version, 11);
  EXPECT_EQ(applied.status_version, 21);
  EXPECT_TRUE(applied.panic);
  EXPECT_EQ(applied.name, "c1");
}

TEST(ClusterDelta, TwoUnrelatedCopiesDiffTheSameByReadingEverything) {
  const Cluster base = ClusterOf(1000);
  Cluster next = ClusterOf(1000);  // equal nodes, no chunk shared
  next.nodes.Mutable(17).online = false;
  ClusterDiff diff = DiffClusters(base, next);
  ASSERT_EQ(diff.set.size(), 1u);
  EXPECT_EQ(diff.set[0]->Spec(), NodeAt(17).Spec());
  EXPECT_TRUE(diff.removed.empty());
  EXPECT_EQ(diff.nodes_read, 2000u);
}

TEST(ClusterDelta, IdenticalVersionsDiffToNothingWithoutReading) {
  const Cluster base = ClusterOf(5000);
  Cluster next = base;
  next.version = 11;
  ClusterDiff diff = DiffClusters(base, next);
  EXPECT_TRUE(diff.set.empty());
  EXPECT_TRUE(diff.removed.empty());
  EXPECT_EQ(diff.nodes_read, 0u);
}

TEST(ClusterDelta, ApplyingSharesTheChunksItDoesNotTouch) {
  const Cluster base = ClusterOf(8 * NodeList::kChunkNodes);
  Cluster fields = base;
  fields.nodes.clear();
  Node changed = NodeAt(1);
  changed.status = NodeStatus::kAbnormal;
  fields.nodes.push_back(changed);
  Cluster out;
  ASSERT_TRUE(ApplyClusterDelta(base, fields, {}, &out).ok());
  ASSERT_EQ(out.nodes.chunk_count(), base.nodes.chunk_count());
  EXPECT_NE(&out.nodes.chunk(0), &base.nodes.chunk(0));  // copied on write
  for (size_t k = 1; k < base.nodes.chunk_count(); ++k) {
    EXPECT_EQ(&out.nodes.chunk(k), &base.nodes.chunk(k)) << k;
  }
  EXPECT_EQ(out.nodes[1].status, NodeStatus::kAbnormal);
  EXPECT_EQ(base.nodes[1].status, NodeStatus::kNormal);  // the held version is not touched
}

TEST(ClusterDelta, RefusesADeltaThatDoesNotFitTheHeldVersionAndChangesNothing) {
  const Cluster base = ClusterOf(10);
  Cluster out = ClusterOf(3);
  out.name = "untouched";
  Cluster fields = base;
  fields.nodes.clear();

  Status s = ApplyClusterDelta(base, fields, {NodeAt(50).Spec()}, &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find(NodeAt(50).Spec()), std::string::npos) << s.message();

  s = ApplyClusterDelta(base, fields, {NodeAt(1).Spec(), NodeAt(1).Spec()}, &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);

  fields.nodes.push_back(NodeAt(2));
  s = ApplyClusterDelta(base, fields, {NodeAt(2).Spec()}, &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find(NodeAt(2).Spec()), std::string::npos) << s.message();

  fields.nodes.push_back(NodeAt(2));
  s = ApplyClusterDelta(base, fields, {}, &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);

  EXPECT_EQ(out.name, "untouched");
  EXPECT_EQ(out.nodes.size(), 3u);
}

// Random writes, one version after another, as a server publishes them:
// each delta applied to the subscriber's copy keeps it equal to the server's.
TEST(ClusterDelta, AChainOfRandomWritesAppliedOneByOneTracksTheServer) {
  std::mt19937 rng(12345);
  Cluster server = ClusterOf(3 * NodeList::kChunkNodes);
  Cluster subscriber = server;
  int next_ip = 100000;
  for (int round = 0; round < 200; ++round) {
    Cluster next = server;
    next.version = server.version + 1;
    int edits = 1 + static_cast<int>(rng() % 5);
    for (int e = 0; e < edits; ++e) {
      size_t size = next.nodes.size();
      switch (rng() % 4) {
        case 0:
          next.nodes.push_back(NodeAt(next_ip++));
          break;
        case 1:
          if (size > 1) next.nodes.RemoveSorted({rng() % size});
          break;
        case 2:
          next.nodes.Mutable(rng() % size).status =
              rng() % 2 ? NodeStatus::kNormal : NodeStatus::kTimeout;
          break;
        default:
          next.nodes.Mutable(rng() % size).udata = "u" + std::to_string(round);
      }
    }
    ClusterDiff diff;
    Cluster applied = ApplyDiff(subscriber, server, next, &diff);
    ASSERT_FALSE(HasFailure()) << "round " << round;
    EXPECT_EQ(applied.version, next.version);
    server = std::move(next);
    subscriber = std::move(applied);
  }
}

// As a follower holds a bucketed cluster: one chunk per hash bucket, and a
// new version made of new chunks for every bucket a write touched. Random
// edits, nodes moved between buckets and reordered within one included:
// the diff stays exact, whatever the walk can pair.
TEST(ClusterDelta, UnsharedBucketsWithMovesAndReordersDiffExactly) {
  std::mt19937 rng(777);
  constexpr int kBuckets = 12;
  auto build = [](const std::vector<std::vector<Node>>& buckets, int64_t version) {
    Cluster c;
    c.name = "c1";
    c.version = version;
    for (const auto& b : buckets) {
      if (!b.empty()) c.nodes.AppendChunk(std::make_shared<NodeChunk>(b));
    }
    return c;
  };
  std::vector<std::vector<Node>> buckets(kBuckets);
  for (int i = 0; i < 1200; ++i) buckets[static_cast<size_t>(i % kBuckets)].push_back(NodeAt(i));
  Cluster held = build(buckets, 1);
  int next_ip = 50000;
  for (int round = 0; round < 100; ++round) {
    int edits = 1 + static_cast<int>(rng() % 30);
    for (int e = 0; e < edits; ++e) {
      auto& b = buckets[rng() % kBuckets];
      if (b.size() < 2) continue;
      switch (rng() % 6) {
        case 0:
          b.push_back(NodeAt(next_ip++));
          break;
        case 1:
          b.erase(b.begin() + static_cast<long>(rng() % b.size()));
          break;
        case 2:
          b[rng() % b.size()].status = NodeStatus::kAbnormal;
          break;
        case 3: {  // moved to another bucket
          size_t at = rng() % b.size();
          Node n = b[at];
          b.erase(b.begin() + static_cast<long>(at));
          buckets[rng() % kBuckets].push_back(n);
          break;
        }
        case 4:
          std::swap(b[rng() % b.size()], b[rng() % b.size()]);
          break;
        default:
          b.insert(b.begin() + static_cast<long>(rng() % b.size()), NodeAt(next_ip++));
      }
    }
    Cluster next = build(buckets, held.version + 1);  // no chunk shared
    ClusterDiff diff;
    ApplyDiff(held, held, next, &diff);
    ASSERT_FALSE(HasFailure()) << "round " << round;
    EXPECT_EQ(diff.nodes_read, held.nodes.size() + next.nodes.size());
    EXPECT_LE(diff.set.size(), static_cast<size_t>(2 * edits)) << round;
    held = std::move(next);
  }
}

}  // namespace
}  // namespace jcm
