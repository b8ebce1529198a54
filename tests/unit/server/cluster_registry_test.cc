#include "server/cluster_registry.h"

#include <gtest/gtest.h>

#include "server/cluster_edit.h"

#include <atomic>
#include <thread>

namespace jcm {
namespace {

Cluster MakeCluster(int64_t version, int nodes, CheckType type = CheckType::kHttp) {
  Cluster c;
  c.name = "web";
  c.version = version;
  c.check_type = type;
  for (int i = 0; i < nodes; ++i) {
    Node n;
    n.ip = "127.0.0." + std::to_string(i + 1);
    n.protos.push_back({80, Proto::kHttp});
    c.nodes.push_back(n);
  }
  return c;
}

StatusMap AllStatus(const Cluster& c, NodeStatus st) {
  StatusMap m;
  for (const Node& n : c.nodes) m[n.Spec()] = NodeState{st, 1234};
  return m;
}

TEST(ClusterRegistry, OlderDefinitionNeverReplacesNewer) {
  ClusterRegistry r;
  EXPECT_TRUE(r.ApplyDefinition(MakeCluster(10, 1), 3));
  EXPECT_FALSE(r.ApplyDefinition(MakeCluster(9, 2), 2));
  EXPECT_FALSE(r.ApplyDefinition(MakeCluster(10, 2), 3));
  ASSERT_NE(r.Get("web"), nullptr);
  EXPECT_EQ(r.Get("web")->nodes.size(), 1u);
  EXPECT_EQ(r.ZnodeVersion("web"), 3);
  EXPECT_TRUE(r.ApplyDefinition(MakeCluster(11, 2), 4));
  EXPECT_EQ(r.Get("web")->nodes.size(), 2u);
}

TEST(ClusterRegistry, TotalsFollowDefinitionsNotStaleReads) {
  ClusterRegistry r;
  EXPECT_EQ(r.totals().clusters, 0u);
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(10, 3), 1));
  Cluster other = MakeCluster(11, 2);
  other.name = "api";
  ASSERT_TRUE(r.ApplyDefinition(other, 1));
  EXPECT_EQ(r.totals().clusters, 2u);
  EXPECT_EQ(r.totals().nodes, 5u);
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(12, 1), 2));  // web shrinks
  EXPECT_FALSE(r.ApplyDefinition(MakeCluster(9, 7), 1));  // stale: counts nothing
  EXPECT_EQ(r.totals().clusters, 2u);
  EXPECT_EQ(r.totals().nodes, 3u);
  ASSERT_TRUE(r.ApplyRemoval("web", 13));
  EXPECT_FALSE(r.ApplyRemoval("web", 14));  // already gone
  EXPECT_EQ(r.totals().clusters, 1u);
  EXPECT_EQ(r.totals().nodes, 2u);
}

TEST(ClusterRegistry, DefinitionMarkerSeesEveryDefinitionBeforeItIsServed) {
  ClusterRegistry r;
  r.SetNodeMarker([](const Cluster&, const Node& n) {
    return n.ip == "127.0.0.2" ? std::string("refused: test") : std::string();
  });
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(1, 3), 0));
  auto c = r.Get("web");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->nodes[0].not_checked, "");
  EXPECT_EQ(c->nodes[1].not_checked, "refused: test");
  // Statuses published later keep the mark.
  ASSERT_TRUE(r.ApplyStatuses("web", AllStatus(*c, NodeStatus::kNormal), 5));
  EXPECT_EQ(r.Get("web")->nodes[1].not_checked, "refused: test");
  // A version made from the held one (its chunks shared, marks reused)
  // keeps it; one that brings the node anew gets it again.
  Cluster next = CopyForEdit(*r.Get("web"));
  next.version = 2;
  next.nodes.Mutable(0).weight = 7;
  ASSERT_TRUE(r.ApplyDefinition(std::move(next), 1));
  EXPECT_EQ(r.Get("web")->nodes[1].not_checked, "refused: test");
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(3, 3), 2));
  EXPECT_EQ(r.Get("web")->nodes[1].not_checked, "refused: test");
  EXPECT_EQ(r.Get("web")->nodes[2].not_checked, "");
}

TEST(ClusterRegistry, UncheckedNodesAreInvalidAndNoPanicYet) {
  ClusterRegistry r;
  r.ApplyDefinition(MakeCluster(1, 2), 0);
  auto c = r.Get("web");
  EXPECT_EQ(c->nodes[0].status, NodeStatus::kInvalid);
  EXPECT_FALSE(c->panic) << "nobody has checked yet: unknown, not failing";
}

TEST(ClusterRegistry, StatusesMergeAndPanicFollowsShare) {
  ClusterRegistry r(0.5);
  Cluster def = MakeCluster(1, 4);
  r.ApplyDefinition(def, 0);
  StatusMap m = AllStatus(def, NodeStatus::kNormal);
  m[def.nodes[0].Spec()].status = NodeStatus::kTimeout;
  m[def.nodes[1].Spec()].status = NodeStatus::kAbnormal;
  ASSERT_TRUE(r.ApplyStatuses("web", m, 100));
  auto c = r.Get("web");
  EXPECT_EQ(c->status_version, 100);
  EXPECT_EQ(c->nodes[0].status, NodeStatus::kTimeout);
  EXPECT_EQ(c->nodes[2].status, NodeStatus::kNormal);
  EXPECT_EQ(c->nodes[2].last_check_ms, 1234);
  EXPECT_FALSE(c->panic) << "2 of 4 NORMAL is not below half";
  m[def.nodes[2].Spec()].status = NodeStatus::kAbnormal;
  ASSERT_TRUE(r.ApplyStatuses("web", m, 101));
  EXPECT_TRUE(r.Get("web")->panic);
  EXPECT_FALSE(r.ApplyStatuses("web", AllStatus(def, NodeStatus::kNormal), 99))
      << "an older status write is ignored";
  EXPECT_TRUE(r.Get("web")->panic);
}

TEST(ClusterRegistry, OfflineNodeOrClusterIsInvalidWhateverTheChecker) {
  ClusterRegistry r;
  Cluster def = MakeCluster(1, 2);
  def.nodes.Mutable(1).online = false;
  r.ApplyDefinition(def, 0);
  r.ApplyStatuses("web", AllStatus(def, NodeStatus::kNormal), 5);
  EXPECT_EQ(r.Get("web")->nodes[0].status, NodeStatus::kNormal);
  EXPECT_EQ(r.Get("web")->nodes[1].status, NodeStatus::kInvalid);
  def.online = false;
  def.version = 2;
  r.ApplyDefinition(def, 1);
  EXPECT_EQ(r.Get("web")->nodes[0].status, NodeStatus::kInvalid);
}

TEST(ClusterRegistry, CheckTypeNoneIsNormalWithoutChecks) {
  ClusterRegistry r;
  r.ApplyDefinition(MakeCluster(1, 2, CheckType::kNone), 0);
  EXPECT_EQ(r.Get("web")->nodes[0].status, NodeStatus::kNormal);
  EXPECT_FALSE(r.Get("web")->panic);
}

TEST(ClusterRegistry, StatusesArrivingFirstAreHeldForTheDefinition) {
  ClusterRegistry r;
  Cluster def = MakeCluster(1, 1);
  r.ApplyStatuses("web", AllStatus(def, NodeStatus::kNormal), 7);
  EXPECT_EQ(r.Get("web"), nullptr);
  EXPECT_TRUE(r.Names().empty());
  r.ApplyDefinition(def, 0);
  EXPECT_EQ(r.Get("web")->nodes[0].status, NodeStatus::kNormal);
}

TEST(ClusterRegistry, RemovalForgetsDefinitionButKeepsStatuses) {
  ClusterRegistry r;
  Cluster def = MakeCluster(1, 1);
  r.ApplyDefinition(def, 0);
  r.ApplyStatuses("web", AllStatus(def, NodeStatus::kNormal), 7);
  EXPECT_TRUE(r.ApplyRemoval("web", 1));
  EXPECT_EQ(r.Get("web"), nullptr);
  EXPECT_FALSE(r.ApplyRemoval("web", 1));
  def.version = 2;
  r.ApplyDefinition(def, 0);
  EXPECT_EQ(r.Get("web")->nodes[0].status, NodeStatus::kNormal);
}

// Issue 8 item 8: a load read before a deletion and applied after it must
// not bring the cluster back.
TEST(ClusterRegistry, StaleLoadCannotResurrectDeletedCluster) {
  ClusterRegistry r;
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(10, 1), 1, /*czxid=*/5));
  ASSERT_TRUE(r.ApplyRemoval("web", 20));  // deleted at zxid 20
  EXPECT_FALSE(r.ApplyDefinition(MakeCluster(15, 2), 2, 5)) << "read before the deletion";
  EXPECT_EQ(r.Get("web"), nullptr);
  EXPECT_TRUE(r.ApplyDefinition(MakeCluster(25, 3), 0, 22)) << "re-created after it";
  ASSERT_NE(r.Get("web"), nullptr);
  EXPECT_EQ(r.Get("web")->nodes.size(), 3u);
}

// A listing dated before a cluster was created must not drop it.
TEST(ClusterRegistry, StaleListingKeepsNewerIncarnation) {
  ClusterRegistry r;
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(30, 1), 0, /*czxid=*/30));
  EXPECT_FALSE(r.ApplyRemoval("web", 25)) << "absent at 25, created at 30";
  ASSERT_NE(r.Get("web"), nullptr);
  EXPECT_TRUE(r.ApplyRemoval("web", 31));
  EXPECT_EQ(r.Get("web"), nullptr);
}

// A deletion acknowledged at zxid D is held once the absence at or after D
// is known, or once a later incarnation is (a follower that saw the
// re-create before the delete must not wait forever).
TEST(ClusterRegistry, DeletionAckIsHeldAfterRecreate) {
  ClusterRegistry r;
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(10, 1), 0, 5));
  EXPECT_FALSE(r.Holds("web", 20, true));
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(30, 1), 0, 30));  // re-created, delete unseen
  EXPECT_TRUE(r.Holds("web", 20, true));
  EXPECT_FALSE(r.Holds("web", 40, true));
  EXPECT_TRUE(r.Holds("web", 30, false));
  EXPECT_FALSE(r.Holds("web", 31, false));
  ASSERT_TRUE(r.ApplyRemoval("web", 40));
  EXPECT_TRUE(r.Holds("web", 40, true));
  EXPECT_TRUE(r.Holds("web", 35, false)) << "a later deletion is past the write";
  EXPECT_FALSE(r.Holds("other", 1, true));
  EXPECT_TRUE(r.Holds("other", 0, true)) << "zxid unknown: nothing held is enough";
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(50, 1), 0, 50));
  EXPECT_FALSE(r.Holds("web", 0, true)) << "zxid unknown: a held definition is not gone";
}

// Issue 8 item 4: a writer reads definition and znode version as one pair.
TEST(ClusterRegistry, ForWriteReturnsMatchingDefinitionAndZnodeVersion) {
  ClusterRegistry r;
  r.ApplyDefinition(MakeCluster(1, 1), 1, 1);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int v = 2; v < 20000 && !stop; ++v) r.ApplyDefinition(MakeCluster(v, 1), v, 1);
  });
  int mismatches = 0;
  for (int i = 0; i < 20000; ++i) {
    ClusterRegistry::WriteBase base = r.ForWrite("web");
    ASSERT_NE(base.definition, nullptr);
    if (base.definition->version != base.znode_version) ++mismatches;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(r.ForWrite("absent").definition, nullptr);
}

TEST(ClusterRegistry, PublishedSnapshotsAreNeverMutated) {
  ClusterRegistry r;
  Cluster def = MakeCluster(1, 1);
  r.ApplyDefinition(def, 0);
  auto before = r.Get("web");
  r.ApplyStatuses("web", AllStatus(def, NodeStatus::kNormal), 7);
  EXPECT_EQ(before->nodes[0].status, NodeStatus::kInvalid);
  EXPECT_NE(before, r.Get("web"));
}

TEST(ClusterRegistry, WaitersWakeOnChange) {
  ClusterRegistry r;
  uint64_t seen = r.change_counter();
  std::thread writer([&] { r.ApplyDefinition(MakeCluster(5, 1), 0); });
  bool got = r.WaitFor(
      "web", [](const std::shared_ptr<const Cluster>& c) { return c && c->version >= 5; },
      std::chrono::seconds(10));
  writer.join();
  EXPECT_TRUE(got);
  EXPECT_NE(r.WaitForChange(seen, std::chrono::seconds(10)), seen);
  EXPECT_FALSE(r.WaitFor(
      "web", [](const std::shared_ptr<const Cluster>& c) { return c && c->version >= 6; },
      std::chrono::milliseconds(1)));
}

// Version waiters wake when what each waits for holds: each version ends
// the waits it satisfies, a later one's goes on, and a deletion ends the
// wait for it (from a tombstone too).
TEST(ClusterRegistry, VersionWaitersWakeWhenTheirVersionHolds) {
  ClusterRegistry r;
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(5, 1), 0));
  std::atomic<int> done6{0}, done7{0}, gone{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back(
        [&] { done6 += r.WaitForVersion("web", 6, false, std::chrono::seconds(30)); });
    waiters.emplace_back(
        [&] { done7 += r.WaitForVersion("web", 7, false, std::chrono::seconds(30)); });
  }
  waiters.emplace_back([&] { gone += r.WaitForVersion("web", 9, true, std::chrono::seconds(30)); });
  std::thread other([&] {
    // Another cluster's change satisfies nobody here.
    Cluster c = MakeCluster(8, 1);
    c.name = "api";
    r.ApplyDefinition(c, 0);
  });
  other.join();
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(6, 1), 1));
  for (int i = 0; i < 5000 && done6.load() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(done6.load(), 3);
  EXPECT_EQ(done7.load(), 0);
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(7, 1), 2));
  EXPECT_TRUE(r.ApplyRemoval("web", 9));
  for (std::thread& t : waiters) t.join();
  EXPECT_EQ(done7.load(), 3);
  EXPECT_EQ(gone.load(), 1);
  // A deletion already held, and a tombstone, answer at once.
  EXPECT_TRUE(r.WaitForVersion("web", 9, true, std::chrono::milliseconds(0)));
  std::thread tomb([&] { gone += r.WaitForVersion("db", 4, true, std::chrono::seconds(30)); });
  for (int i = 0; i < 50; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  r.ApplyRemoval("db", 4);
  tomb.join();
  EXPECT_EQ(gone.load(), 2);
  // A wait nobody satisfies ends at its timeout.
  EXPECT_FALSE(r.WaitForVersion("web", 99, false, std::chrono::milliseconds(5)));
}

// A definition applied after the statuses is merged in place and is both
// what writers start from and what is served: one object per version.
TEST(ClusterRegistry, NewDefinitionIsServedAndWrittenFromOneObject) {
  ClusterRegistry r;
  Cluster c = MakeCluster(10, 2);
  ASSERT_TRUE(r.ApplyStatuses("web", AllStatus(c, NodeStatus::kNormal), 5));
  ASSERT_TRUE(r.ApplyDefinition(c, 1));
  std::shared_ptr<const Cluster> served = r.Get("web");
  EXPECT_EQ(r.ForWrite("web").definition, served);
  EXPECT_EQ(served->nodes[0].status, NodeStatus::kNormal);
  EXPECT_EQ(served->nodes[0].last_check_ms, 1234);
  // A status change serves a merged copy; the definition stays as it was.
  StatusMap down = AllStatus(c, NodeStatus::kAbnormal);
  down.erase(c.nodes[1].Spec());  // its checker said nothing this time
  ASSERT_TRUE(r.ApplyStatuses("web", down, 6));
  std::shared_ptr<const Cluster> after = r.Get("web");
  EXPECT_NE(after, served);
  EXPECT_EQ(r.ForWrite("web").definition, served);
  EXPECT_EQ(after->nodes[0].status, NodeStatus::kAbnormal);
  // Merged from a copy that carried the earlier merge: nothing of it stays.
  EXPECT_EQ(after->nodes[1].status, NodeStatus::kInvalid);
  EXPECT_EQ(after->nodes[1].last_check_ms, 0);
  EXPECT_EQ(served->nodes[0].status, NodeStatus::kNormal);  // never mutated
}

// The spec index given with a definition is handed to the next writer with
// it, and only with it.
TEST(ClusterRegistry, SpecIndexTravelsWithItsDefinition) {
  ClusterRegistry r;
  auto index = std::make_shared<SpecIndex>();
  index->node_count = 2;
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(10, 2), 1, 0, index));
  EXPECT_EQ(r.ForWrite("web").index, index);
  // Statuses do not move nodes: the definition and its index stay.
  ASSERT_TRUE(r.ApplyStatuses("web", AllStatus(MakeCluster(10, 2), NodeStatus::kNormal), 3));
  EXPECT_EQ(r.ForWrite("web").index, index);
  // A newer definition without one (a watch-driven load) drops it.
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(11, 3), 2));
  EXPECT_EQ(r.ForWrite("web").index, nullptr);
  // A stale definition with an index changes nothing.
  EXPECT_FALSE(r.ApplyDefinition(MakeCluster(9, 2), 1, 0, index));
  EXPECT_EQ(r.ForWrite("web").index, nullptr);
}

// A writer takes the index of the definition it starts from (once), and
// gives it back only to that definition.
TEST(ClusterRegistry, SpecIndexIsTakenOnceAndReturnedToItsDefinitionOnly) {
  ClusterRegistry r;
  auto index = std::make_shared<SpecIndex>();
  index->node_count = 2;
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(10, 2), 1, 0, index));
  ClusterRegistry::WriteBase base = r.ForWrite("web");
  EXPECT_EQ(r.TakeIndex("web", nullptr), nullptr);  // not the held definition
  std::shared_ptr<const SpecIndex> taken = r.TakeIndex("web", base.definition.get());
  EXPECT_EQ(taken, index);
  EXPECT_EQ(r.ForWrite("web").index, nullptr);
  EXPECT_EQ(r.TakeIndex("web", base.definition.get()), nullptr);  // taken already
  r.ReturnIndex("web", base.definition.get(), taken);
  EXPECT_EQ(r.ForWrite("web").index, index);
  // To a definition no longer held, it is not returned.
  taken = r.TakeIndex("web", base.definition.get());
  ASSERT_TRUE(r.ApplyDefinition(MakeCluster(11, 2), 2));
  r.ReturnIndex("web", base.definition.get(), taken);
  EXPECT_EQ(r.ForWrite("web").index, nullptr);
}

// A cluster of `nodes` nodes made from `raw`'s chunks, as a follower
// assembles one from the buckets it holds: unmerged (every status INVALID),
// the chunks themselves shared.
Cluster FromChunks(int64_t version, const NodeList& raw, CheckType type) {
  Cluster c = MakeCluster(version, 0, type);
  for (size_t k = 0; k < raw.chunk_count(); ++k) c.nodes.AppendChunk(raw.shared_chunk(k));
  return c;
}

// Versions share the chunks their writes did not touch, merged once: a new
// version's unchanged chunk is served as the very chunk the last version
// served, statuses and all; only the changed chunk is merged again.
TEST(ClusterRegistry, UnchangedChunksAreMergedOnceAndShared) {
  ClusterRegistry r;
  const int count = 3 * static_cast<int>(NodeList::kChunkNodes);
  const NodeList raw = MakeCluster(1, count).nodes;
  ASSERT_TRUE(r.ApplyDefinition(FromChunks(10, raw, CheckType::kNone), 1));
  auto v1 = r.Get("web");
  ASSERT_EQ(v1->nodes.chunk_count(), 3u);
  for (const Node& n : v1->nodes) EXPECT_EQ(n.status, NodeStatus::kNormal);
  EXPECT_NE(&v1->nodes.chunk(0), &raw.chunk(0));  // merged: a copy of the raw chunk

  // The next version: the same raw chunks but chunk 1, one node changed.
  Cluster next = FromChunks(11, raw, CheckType::kNone);
  next.nodes.Mutable(NodeList::kChunkNodes + 5).online = false;
  ASSERT_TRUE(r.ApplyDefinition(std::move(next), 2));
  auto v2 = r.Get("web");
  EXPECT_EQ(&v2->nodes.chunk(0), &v1->nodes.chunk(0));
  EXPECT_EQ(&v2->nodes.chunk(2), &v1->nodes.chunk(2));
  EXPECT_NE(&v2->nodes.chunk(1), &v1->nodes.chunk(1));
  EXPECT_EQ(v2->nodes[NodeList::kChunkNodes + 5].status, NodeStatus::kInvalid);
  EXPECT_EQ(v2->nodes[NodeList::kChunkNodes + 4].status, NodeStatus::kNormal);
  EXPECT_EQ(v1->nodes[NodeList::kChunkNodes + 5].status, NodeStatus::kNormal);  // unchanged
  EXPECT_FALSE(v2->panic);
}

// What was merged under earlier statuses, or another cluster switch, is
// not reused: the same raw chunks show the statuses of the moment.
TEST(ClusterRegistry, MergedChunksFollowNewStatusesAndTheClusterSwitch) {
  ClusterRegistry r;
  const int count = 2 * static_cast<int>(NodeList::kChunkNodes);
  const NodeList raw = MakeCluster(1, count).nodes;
  Cluster first = FromChunks(10, raw, CheckType::kHttp);
  ASSERT_TRUE(r.ApplyStatuses("web", AllStatus(first, NodeStatus::kNormal), 5));
  ASSERT_TRUE(r.ApplyDefinition(std::move(first), 1));
  for (const Node& n : r.Get("web")->nodes) EXPECT_EQ(n.status, NodeStatus::kNormal);

  Cluster probe = FromChunks(0, raw, CheckType::kHttp);
  ASSERT_TRUE(r.ApplyStatuses("web", AllStatus(probe, NodeStatus::kAbnormal), 6));
  // A new version of the same raw chunks, after the statuses changed.
  ASSERT_TRUE(r.ApplyDefinition(FromChunks(11, raw, CheckType::kHttp), 2));
  auto v2 = r.Get("web");
  for (const Node& n : v2->nodes) EXPECT_EQ(n.status, NodeStatus::kAbnormal) << n.ip;
  EXPECT_TRUE(v2->panic);

  Cluster offline = FromChunks(12, raw, CheckType::kHttp);
  offline.online = false;
  ASSERT_TRUE(r.ApplyDefinition(std::move(offline), 3));
  for (const Node& n : r.Get("web")->nodes) EXPECT_EQ(n.status, NodeStatus::kInvalid) << n.ip;

  ASSERT_TRUE(r.ApplyDefinition(FromChunks(13, raw, CheckType::kNone), 4));
  for (const Node& n : r.Get("web")->nodes) EXPECT_EQ(n.status, NodeStatus::kNormal) << n.ip;
}

}  // namespace
}  // namespace jcm
