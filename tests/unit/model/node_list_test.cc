// NodeList: order, positions, and which chunks a copy shares after a change.
#include "model/node_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "model/cluster.h"

namespace jcm {
namespace {

Node NodeAt(int i) {
  Node n;
  n.ip = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
  n.protos.push_back({8080, Proto::kHttp});
  n.weight = i + 1;
  return n;
}

NodeList ListOf(int count) {
  NodeList list;
  for (int i = 0; i < count; ++i) list.push_back(NodeAt(i));
  return list;
}

std::vector<int> Weights(const NodeList& list) {
  std::vector<int> out;
  for (const Node& n : list) out.push_back(n.weight);
  return out;
}

// Weights 1..count without those of `removed` (0-based positions).
std::vector<int> WeightsWithout(int count, const std::vector<size_t>& removed) {
  std::vector<int> out;
  for (int i = 0; i < count; ++i) {
    if (std::find(removed.begin(), removed.end(), static_cast<size_t>(i)) == removed.end()) {
      out.push_back(i + 1);
    }
  }
  return out;
}

TEST(NodeList, KeepsOrderAcrossChunksAndFindsEveryPosition) {
  const int count = 3 * NodeList::kChunkNodes + 5;
  NodeList list = ListOf(count);
  ASSERT_EQ(list.size(), static_cast<size_t>(count));
  EXPECT_EQ(list.chunk_count(), 4u);
  for (int i = 0; i < count; ++i) EXPECT_EQ(list[i].weight, i + 1) << i;
  EXPECT_EQ(list.front().weight, 1);
  EXPECT_EQ(list.back().weight, count);
  EXPECT_EQ(Weights(list), WeightsWithout(count, {}));
  EXPECT_EQ(Weights(NodeList(list.ToVector())), Weights(list));
}

TEST(NodeList, EmptyListIteratesNothing) {
  NodeList list;
  EXPECT_TRUE(list.empty());
  EXPECT_TRUE(list.begin() == list.end());
  list.RemoveSorted({});
  list.AppendChunk(std::make_shared<NodeChunk>());  // empty: ignored
  EXPECT_EQ(list.chunk_count(), 0u);
}

TEST(NodeList, CopySharesChunksAndAWriteCopiesOnlyItsChunk) {
  const NodeList base = ListOf(4 * NodeList::kChunkNodes);
  NodeList next = base;
  for (size_t k = 0; k < base.chunk_count(); ++k) EXPECT_EQ(&next.chunk(k), &base.chunk(k));

  next.Mutable(NodeList::kChunkNodes + 3).weight = -1;
  EXPECT_EQ(&next.chunk(0), &base.chunk(0));
  EXPECT_NE(&next.chunk(1), &base.chunk(1));  // copied, then written
  EXPECT_EQ(&next.chunk(2), &base.chunk(2));
  EXPECT_EQ(next[NodeList::kChunkNodes + 3].weight, -1);
  EXPECT_EQ(base[NodeList::kChunkNodes + 3].weight, NodeList::kChunkNodes + 4);  // untouched

  // A second write to the now unshared chunk does not copy it again.
  const NodeChunk* owned = &next.chunk(1);
  next.Mutable(NodeList::kChunkNodes).weight = -2;
  EXPECT_EQ(&next.chunk(1), owned);
}

TEST(NodeList, AppendingCopiesOnlyASharedLastChunk) {
  const NodeList base = ListOf(NodeList::kChunkNodes + 1);  // last chunk: one node
  NodeList next = base;
  next.push_back(NodeAt(1000));
  EXPECT_EQ(&next.chunk(0), &base.chunk(0));
  EXPECT_NE(&next.chunk(1), &base.chunk(1));
  EXPECT_EQ(base.size(), NodeList::kChunkNodes + 1);
  EXPECT_EQ(next.size(), NodeList::kChunkNodes + 2);
  EXPECT_EQ(next.back().weight, 1001);
}

TEST(NodeList, RemoveSortedKeepsOrderAndSharesUntouchedChunks) {
  const int count = 5 * NodeList::kChunkNodes;
  const NodeList base = ListOf(count);
  NodeList next = base;
  const std::vector<size_t> removed = {1, 2, 3 * NodeList::kChunkNodes + 7,
                                       5 * NodeList::kChunkNodes - 1};
  next.RemoveSorted(removed);
  EXPECT_EQ(Weights(next), WeightsWithout(count, removed));
  EXPECT_EQ(Weights(base), WeightsWithout(count, {}));
  EXPECT_EQ(next.size(), base.size() - removed.size());
  // Chunks 1 and 2 lost nothing: still the base's.
  EXPECT_EQ(&next.chunk(1), &base.chunk(1));
  EXPECT_EQ(&next.chunk(2), &base.chunk(2));
  for (size_t i = 0; i < next.size(); ++i) {
    EXPECT_EQ(next[i].weight, WeightsWithout(count, removed)[i]) << i;
  }
}

TEST(NodeList, EmptiedChunksGoAndSmallOnesMerge) {
  const int count = 3 * NodeList::kChunkNodes;
  NodeList list = ListOf(count);
  std::vector<size_t> removed;
  // Empties chunk 0; leaves 2 nodes in chunk 1.
  for (size_t i = 0; i < 2 * NodeList::kChunkNodes - 2; ++i) removed.push_back(i);
  list.RemoveSorted(removed);
  EXPECT_EQ(Weights(list), WeightsWithout(count, removed));
  // Chunk 1's two nodes could not join a full chunk 2: two chunks remain.
  EXPECT_EQ(list.chunk_count(), 2u);

  // Remove most of chunk 2: what is left of 1 and 2 fits in one chunk.
  std::vector<size_t> more;
  for (size_t i = 2; i < list.size() - 3; ++i) more.push_back(i);
  const std::vector<int> before = Weights(list);
  list.RemoveSorted(more);
  std::vector<int> want;
  for (size_t i = 0; i < before.size(); ++i) {
    if (std::find(more.begin(), more.end(), i) == more.end()) want.push_back(before[i]);
  }
  EXPECT_EQ(Weights(list), want);
  EXPECT_EQ(list.chunk_count(), 1u);
  for (size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i].weight, want[i]);
}

TEST(NodeList, ResizeShrinksAndGrows) {
  NodeList list = ListOf(2 * NodeList::kChunkNodes + 3);
  list.resize(NodeList::kChunkNodes + 1);
  EXPECT_EQ(Weights(list), WeightsWithout(NodeList::kChunkNodes + 1, {}));
  list.resize(NodeList::kChunkNodes + 3);
  EXPECT_EQ(list.size(), NodeList::kChunkNodes + 3);
  EXPECT_EQ(list.back().weight, kDefaultWeight);
  list.resize(0);
  EXPECT_TRUE(list.empty());
}

TEST(NodeList, RemoveIfAndAdoptedChunks) {
  NodeList list;
  auto bucket = std::make_shared<NodeChunk>();
  for (int i = 0; i < 3; ++i) bucket->push_back(NodeAt(i));
  list.AppendChunk(bucket);
  list.AppendChunk(bucket);  // the same nodes twice, shared
  EXPECT_EQ(Weights(list), (std::vector<int>{1, 2, 3, 1, 2, 3}));
  EXPECT_EQ(list.RemoveIf([](const Node& n) { return n.weight == 2; }), 2u);
  EXPECT_EQ(Weights(list), (std::vector<int>{1, 3, 1, 3}));
  EXPECT_EQ(bucket->size(), 3u);  // the adopted chunk itself is not written
}

}  // namespace
}  // namespace jcm
