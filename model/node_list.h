// NodeList: a cluster's nodes, in order, held in chunks that the versions
// of a cluster share.
//
// Why: a write to a 20,000-node cluster changes a handful of nodes, yet
// every version used to copy all of them, several times, on every
// instance (the writer's copy, a follower's replay of the ack, the
// registry's status merge; issue 10). Copying a NodeList copies one
// pointer per chunk of about kChunkNodes nodes; changing a node copies the
// one chunk it is in, and only if another list still shares that chunk
// (copy on write). Reading a node by position costs a binary search over
// the chunks; iterating costs what iterating a vector of vectors does.
//
// Invariant: no chunk is empty. Chunks hold at most kChunkNodes nodes when
// this class makes them; a chunk adopted whole (AppendChunk) may hold more.
//
// Reading never copies: operator[], front(), back() and iteration are
// read-only, on a non-const list too. A write names itself: Mutable(pos)
// or MutableChunk(k) copy the chunk first if another list shares it.
//
// Thread-safety: as a std::vector: const methods may run concurrently; a
// non-const method needs the list to itself. Lists that share chunks may
// be used from different threads, each by its own owner: a shared chunk is
// never written, only copied (see Own() for the memory-order argument).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace jcm {

struct Node;
using NodeChunk = std::vector<Node>;

// A forward iterator over the nodes of a NodeList, chunk by chunk (read
// only: NodeT is const Node).
template <typename NodeT>
class NodeListIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = std::remove_const_t<NodeT>;
  using difference_type = std::ptrdiff_t;
  using pointer = NodeT*;
  using reference = NodeT&;

  NodeListIterator() = default;
  reference operator*() const { return *node_; }
  pointer operator->() const { return node_; }
  NodeListIterator& operator++() {
    if (++node_ == chunk_end_) Enter(chunk_ + 1);
    return *this;
  }
  NodeListIterator operator++(int) {
    NodeListIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const NodeListIterator& other) const { return node_ == other.node_; }

 private:
  friend class NodeList;
  using ChunkPtr = std::shared_ptr<NodeChunk>;
  NodeListIterator(const ChunkPtr* chunk, const ChunkPtr* last) : last_(last) { Enter(chunk); }
  // Chunks are never empty, so entering one lands on a node.
  void Enter(const ChunkPtr* chunk) {
    chunk_ = chunk;
    if (chunk_ == last_) {
      node_ = chunk_end_ = nullptr;
      return;
    }
    node_ = (*chunk_)->data();
    chunk_end_ = node_ + (*chunk_)->size();
  }

  const ChunkPtr* chunk_ = nullptr;
  const ChunkPtr* last_ = nullptr;
  NodeT* node_ = nullptr;  // null: the end
  NodeT* chunk_end_ = nullptr;
};

class NodeList {
 public:
  using Chunk = NodeChunk;
  using value_type = Node;
  using size_type = size_t;
  using const_iterator = NodeListIterator<const Node>;
  static constexpr size_t kChunkNodes = 64;

  NodeList() = default;
  NodeList(std::initializer_list<Node> nodes);
  // Moves `nodes` into chunks of kChunkNodes.
  explicit NodeList(std::vector<Node>&& nodes);
  NodeList(const NodeList&) = default;  // shares every chunk: O(chunks)
  NodeList(NodeList&&) noexcept = default;
  NodeList& operator=(const NodeList&) = default;
  NodeList& operator=(NodeList&&) noexcept = default;
  NodeList& operator=(std::initializer_list<Node> nodes);
  ~NodeList();

  size_t size() const { return ends_.empty() ? 0 : ends_.back(); }
  bool empty() const { return ends_.empty(); }

  const Node& operator[](size_t pos) const;
  const Node& front() const;
  const Node& back() const;
  // The node at `pos` to change; copies its chunk first if it is shared.
  // (Writes are spelled out: there is no non-const operator[].)
  Node& Mutable(size_t pos);

  void push_back(Node node);
  Node& emplace_back();
  // Shrinks or grows (with default nodes) to `n` nodes.
  void resize(size_t n);
  void clear();

  // Removes the nodes at `positions` (ascending, unique, each < size()),
  // keeping the order of the rest. Copies only the chunks that lose nodes
  // (if shared); a chunk left with few nodes merges into its successor.
  void RemoveSorted(const std::vector<size_t>& positions);
  // Removes the nodes `pred` holds true for; returns how many.
  template <typename Pred>
  size_t RemoveIf(Pred pred) {
    std::vector<size_t> positions;
    size_t pos = 0;
    for (const Node& n : *this) {
      if (pred(n)) positions.push_back(pos);
      ++pos;
    }
    RemoveSorted(positions);
    return positions.size();
  }

  // Chunk-level access: a chunk's identity (the same pointer in two lists
  // means the same nodes, unchanged), for callers that reuse work per chunk.
  size_t chunk_count() const { return chunks_.size(); }
  const Chunk& chunk(size_t k) const { return *chunks_[k]; }
  const std::shared_ptr<Chunk>& shared_chunk(size_t k) const { return chunks_[k]; }
  // Appends `chunk` without copying it (ignored when empty). The caller
  // gives up writing to it: the list copies it before any change.
  void AppendChunk(std::shared_ptr<Chunk> chunk);
  // Replaces chunk `k` by `chunk`, of the same size (a version of the same
  // nodes, e.g. with statuses merged).
  void ReplaceChunk(size_t k, std::shared_ptr<Chunk> chunk);
  // Chunk `k` to change in place (copied first if shared); its size must
  // not change.
  Chunk& MutableChunk(size_t k) { return Own(k); }

  std::vector<Node> ToVector() const;

  // Iteration reads only, even on a non-const list (a mutable iterator
  // would have to copy every shared chunk up front); write with Mutable()
  // or MutableChunk().
  const_iterator begin() const;
  const_iterator end() const;

 private:
  // The chunk holding `pos`, and `pos` within it.
  std::pair<size_t, size_t> Locate(size_t pos) const;
  Chunk& Own(size_t k);
  void RecountFrom(size_t k);

  std::vector<std::shared_ptr<Chunk>> chunks_;
  std::vector<size_t> ends_;  // ends_[k]: nodes in chunks 0..k
};

}  // namespace jcm
