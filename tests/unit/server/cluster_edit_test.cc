// ClusterEdit: one index per batch, order-keeping removals, validation of
// what was touched only.
#include "server/cluster_edit.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <set>

namespace jcm {
namespace {

Node MakeNode(int i) {
  Node n;
  n.ip = "10.0.0." + std::to_string(i);
  n.protos.push_back({80, Proto::kHttp});
  return n;
}

Cluster MakeCluster(int nodes) {
  Cluster c;
  c.name = "web";
  for (int i = 1; i <= nodes; ++i) c.nodes.push_back(MakeNode(i));
  return c;
}

std::vector<std::string> Ips(const Cluster& c) {
  std::vector<std::string> out;
  for (const Node& n : c.nodes) out.push_back(n.ip);
  return out;
}

TEST(ClusterEditTest, RemovalsKeepOrderAndUpsertsReplaceBySpec) {
  Cluster c = MakeCluster(5);
  ClusterEdit e(&c);
  EXPECT_TRUE(e.Remove(MakeNode(2).Spec()));
  EXPECT_FALSE(e.Remove(MakeNode(2).Spec()));
  EXPECT_TRUE(e.Remove(MakeNode(4).Spec()));
  EXPECT_EQ(e.node_count(), 3u);
  Node heavier = MakeNode(3);
  heavier.weight = 7;
  e.Upsert(heavier);
  e.Upsert(MakeNode(9));
  e.Finish();
  EXPECT_EQ(Ips(c), (std::vector<std::string>{"10.0.0.1", "10.0.0.3", "10.0.0.5", "10.0.0.9"}));
  EXPECT_EQ(c.nodes[1].weight, 7);
  EXPECT_TRUE(e.Validate().ok());
}

TEST(ClusterEditTest, ValidationNamesTheTouchedNodeAtItsFinalPosition) {
  Cluster c = MakeCluster(4);
  ClusterEdit e(&c);
  Node bad = MakeNode(4);
  bad.weight = 0;  // out of range
  e.Upsert(bad);
  EXPECT_TRUE(e.Remove(MakeNode(1).Spec()));
  e.Finish();
  Status s = e.Validate();
  ASSERT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("nodes[2].weight"), std::string::npos) << s.ToString();
}

TEST(ClusterEditTest, UntouchedNodesAreNotValidatedAgainButWholeEditsAre) {
  Cluster c = MakeCluster(3);
  c.nodes.Mutable(0).weight = 0;  // stored before a rule changed, say
  {
    ClusterEdit e(&c);
    e.Upsert(MakeNode(8));
    e.Finish();
    EXPECT_TRUE(e.Validate().ok());
  }
  {
    ClusterEdit e(&c);
    e.whole()->check_file = "/health";
    e.Finish();
    EXPECT_EQ(e.Validate().code(), Status::Code::kInvalidArgument);
  }
}

TEST(ClusterEditTest, ClusterFieldsAreAlwaysValidated) {
  Cluster c = MakeCluster(1);
  c.check_file = "no-slash";
  ClusterEdit e(&c);
  e.SetOnline(false);
  e.Finish();
  Status s = e.Validate();
  ASSERT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("checkFile"), std::string::npos);
}

TEST(ClusterEditTest, FindMarksTheNodeTouched) {
  Cluster c = MakeCluster(2);
  ClusterEdit e(&c);
  Node* n = e.Find(MakeNode(2).Spec());
  ASSERT_NE(n, nullptr);
  n->weight = 100000;
  EXPECT_EQ(e.Find("10.9.9.9|HTTP:80"), nullptr);
  e.Finish();
  EXPECT_EQ(e.Validate().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace jcm

namespace jcm {
namespace {

TEST(ClusterEditTest, IndexFindsEverySpecShapeAndForgetsRemovedOnes) {
  Cluster c;
  c.name = "mixed";
  for (int i = 0; i < 300; ++i) {
    Node n;
    n.ip = i % 2 ? "fd00::" + std::to_string(i) : "10.1.0." + std::to_string(i % 250);
    if (i % 3 != 1) n.protos.push_back({static_cast<uint16_t>(1 + i), Proto::kHttp});
    if (i % 3 != 0) n.protos.push_back({static_cast<uint16_t>(65535 - i), Proto::kTcp});
    c.nodes.push_back(n);
  }
  const Cluster before = c;
  ClusterEdit e(&c);
  for (const Node& n : before.nodes) ASSERT_TRUE(e.Contains(n.Spec())) << n.Spec();
  EXPECT_FALSE(e.Contains("10.1.0.1|HTTP:1"));  // the right ip, another port
  for (size_t i = 0; i < before.nodes.size(); i += 2) {
    ASSERT_TRUE(e.Remove(before.nodes[i].Spec()));
  }
  for (size_t i = 0; i < before.nodes.size(); ++i) {
    EXPECT_EQ(e.Contains(before.nodes[i].Spec()), i % 2 == 1) << i;
  }
  e.Upsert(before.nodes[0]);  // back, at the end
  EXPECT_TRUE(e.Contains(before.nodes[0].Spec()));
  e.Finish();
  ASSERT_EQ(c.nodes.size(), 151u);
  EXPECT_EQ(c.nodes.back().Spec(), before.nodes[0].Spec());
  // After compaction the index is rebuilt at the new positions.
  Node* last = e.Find(before.nodes[0].Spec());
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last, &c.nodes.back());
}

// The index carried from version to version (TakeIndex, then the next
// edit's base_index) answers exactly as one built afresh, through removals
// (positions move), additions, replacements, and enough churn to fill the
// table with tombstones and make it rebuild itself, and enough removals
// that its holes are renumbered away more than once.
TEST(ClusterEditTest, CarriedIndexAnswersAsAFreshOneAcrossVersions) {
  Cluster c = MakeCluster(200);
  std::set<int> present;
  for (int i = 1; i <= 200; ++i) present.insert(i);
  std::shared_ptr<const SpecIndex> index;
  std::mt19937 rng(7);
  int next_new = 201;
  size_t renumbered = 0;  // versions whose index had fewer holes than the last
  size_t last_holes = 0;
  for (int version = 0; version < 240; ++version) {
    Cluster next = CopyForEdit(c);
    ClusterEdit e(&next, index);
    for (int k = 0; k < 8; ++k) {
      const int roll = static_cast<int>(rng() % 3);
      if (roll == 0 && !present.empty()) {
        auto it = present.begin();
        std::advance(it, rng() % present.size());
        ASSERT_TRUE(e.Remove(MakeNode(*it).Spec())) << *it;
        present.erase(it);
      } else if (roll == 1) {
        e.Upsert(MakeNode(next_new));
        present.insert(next_new++);
      } else if (!present.empty()) {
        auto it = present.begin();
        std::advance(it, rng() % present.size());
        Node heavier = MakeNode(*it);
        heavier.weight = 3;
        e.Upsert(heavier);  // replaces: no second node with the spec
      }
    }
    e.Finish();
    index = e.TakeIndex();
    ASSERT_NE(index, nullptr);
    ASSERT_EQ(index->node_count, next.nodes.size());
    ASSERT_LE(index->holes.size(), SpecIndex::kMaxHoles);
    if (index->holes.size() < last_holes) ++renumbered;
    last_holes = index->holes.size();
    c = std::move(next);
    ASSERT_EQ(c.nodes.size(), present.size());
    // Every present spec is found at its node, absent ones are not.
    Cluster probe = CopyForEdit(c);
    ClusterEdit carried(&probe, index);
    for (int i = 1; i < next_new; ++i) {
      Node* n = carried.Find(MakeNode(i).Spec());
      ASSERT_EQ(n != nullptr, present.count(i) == 1) << "node " << i << " version " << version;
      if (n != nullptr) {
        EXPECT_EQ(n->ip, MakeNode(i).ip);
      }
    }
  }
  EXPECT_GE(renumbered, 2u);  // (or rebuilt: either clears the holes)
}

// An index taken from a vector of another size is not used: used here, it
// would send node 3 to position 2, which holds node 5.
TEST(ClusterEditTest, IndexOfAnotherSizeIsIgnored) {
  Cluster a = MakeCluster(4);
  ClusterEdit ea(&a);
  ASSERT_TRUE(ea.Contains(MakeNode(3).Spec()));
  ea.Finish();
  std::shared_ptr<const SpecIndex> index = ea.TakeIndex();
  ASSERT_NE(index, nullptr);
  Cluster b;
  b.name = "web";
  for (int i = 3; i <= 8; ++i) b.nodes.push_back(MakeNode(i));
  ClusterEdit eb(&b, index);
  EXPECT_TRUE(eb.Contains(MakeNode(3).Spec()));
  EXPECT_TRUE(eb.Contains(MakeNode(8).Spec()));
  EXPECT_FALSE(eb.Contains(MakeNode(1).Spec()));
}

// Thousands of removals and additions in one edit: the table fills with
// tombstones, rebuilds, and still finds every node.
TEST(ClusterEditTest, TombstonesRebuildTheTable) {
  Cluster c = MakeCluster(50);
  ClusterEdit e(&c);
  for (int round = 0; round < 40; ++round) {
    for (int i = 1; i <= 50; ++i) {
      const int id = round * 50 + i;
      ASSERT_TRUE(e.Remove(MakeNode(id).Spec())) << id;
      e.Upsert(MakeNode(id + 50));
    }
  }
  e.Finish();
  ASSERT_EQ(c.nodes.size(), 50u);
  for (int i = 1; i <= 50; ++i) EXPECT_EQ(c.nodes[i - 1].ip, MakeNode(2000 + i).ip);
  std::shared_ptr<const SpecIndex> index = e.TakeIndex();
  ASSERT_NE(index, nullptr);
  ClusterEdit again(&c, index);
  for (int i = 1; i <= 2050; ++i) {
    EXPECT_EQ(again.Contains(MakeNode(i).Spec()), i > 2000) << i;
  }
}

TEST(ClusterEditTest, CopyForEditCopiesEveryFieldAndSharesTheNodes) {
  Cluster c = MakeCluster(3);
  c.online = false;
  c.check_type = CheckType::kTcp;
  c.check_file = "/health";
  c.check.interval_ms = 1500;
  c.check.ok_codes = {200, 204};
  c.version = 42;
  c.status_version = 7;
  c.panic = true;
  Cluster copy = CopyForEdit(c);
  EXPECT_EQ(copy.name, c.name);
  EXPECT_EQ(copy.online, c.online);
  EXPECT_EQ(copy.check_type, c.check_type);
  EXPECT_EQ(copy.check_file, c.check_file);
  EXPECT_EQ(copy.check, c.check);
  EXPECT_EQ(copy.version, c.version);
  EXPECT_EQ(copy.status_version, c.status_version);
  EXPECT_EQ(copy.panic, c.panic);
  EXPECT_EQ(Ips(copy), Ips(c));
  // The copy shares the nodes' chunks until it changes one.
  ASSERT_GT(copy.nodes.chunk_count(), 0u);
  EXPECT_EQ(&copy.nodes.chunk(0), &c.nodes.chunk(0));
}

}  // namespace
}  // namespace jcm
