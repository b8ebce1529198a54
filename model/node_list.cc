#include "model/node_list.h"

#include <algorithm>
#include <atomic>

#include "model/cluster.h"

namespace jcm {

NodeList::NodeList(std::initializer_list<Node> nodes) {
  for (const Node& n : nodes) push_back(n);
}

NodeList::NodeList(std::vector<Node>&& nodes) {
  for (size_t i = 0; i < nodes.size(); i += kChunkNodes) {
    const size_t end = std::min(nodes.size(), i + kChunkNodes);
    auto chunk = std::make_shared<Chunk>();
    chunk->reserve(kChunkNodes);
    for (size_t k = i; k < end; ++k) chunk->push_back(std::move(nodes[k]));
    AppendChunk(std::move(chunk));
  }
}

NodeList& NodeList::operator=(std::initializer_list<Node> nodes) {
  clear();
  for (const Node& n : nodes) push_back(n);
  return *this;
}

NodeList::~NodeList() = default;

std::pair<size_t, size_t> NodeList::Locate(size_t pos) const {
  const size_t k = std::upper_bound(ends_.begin(), ends_.end(), pos) - ends_.begin();
  return {k, k == 0 ? pos : pos - ends_[k - 1]};
}

const Node& NodeList::operator[](size_t pos) const {
  auto [k, at] = Locate(pos);
  return (*chunks_[k])[at];
}

const Node& NodeList::front() const { return chunks_.front()->front(); }
const Node& NodeList::back() const { return chunks_.back()->back(); }

NodeList::Chunk& NodeList::Own(size_t k) {
  std::shared_ptr<Chunk>& c = chunks_[k];
  if (c.use_count() != 1) {
    c = std::make_shared<Chunk>(*c);
    return *c;
  }
  // Sole owner: no other list can reach this chunk any more, but one that
  // shared it may have read it on another thread just before dropping its
  // reference. That drop is a release decrement; use_count() is a relaxed
  // load of the count it wrote, and this acquire fence orders those reads
  // before our writes (fence-to-RMW synchronization).
  std::atomic_thread_fence(std::memory_order_acquire);
  return *c;
}

Node& NodeList::Mutable(size_t pos) {
  auto [k, at] = Locate(pos);
  return Own(k)[at];
}

void NodeList::push_back(Node node) { emplace_back() = std::move(node); }

Node& NodeList::emplace_back() {
  if (chunks_.empty() || chunks_.back()->size() >= kChunkNodes) {
    auto chunk = std::make_shared<Chunk>();
    chunk->reserve(kChunkNodes);
    chunks_.push_back(std::move(chunk));
    ends_.push_back(size());
  }
  Chunk& last = Own(chunks_.size() - 1);
  ++ends_.back();
  return last.emplace_back();
}

void NodeList::resize(size_t n) {
  while (size() < n) emplace_back();
  if (size() == n) return;
  auto [k, at] = Locate(n);
  chunks_.resize(k + (at > 0 ? 1 : 0));
  ends_.resize(chunks_.size());
  if (at > 0) {
    Own(k).resize(at);
    ends_[k] = n;
  }
}

void NodeList::clear() {
  chunks_.clear();
  ends_.clear();
}

void NodeList::RemoveSorted(const std::vector<size_t>& positions) {
  if (positions.empty()) return;
  size_t first_changed = chunks_.size();
  size_t i = 0;
  while (i < positions.size()) {
    const size_t k = Locate(positions[i]).first;
    const size_t chunk_begin = k == 0 ? 0 : ends_[k - 1];
    Chunk& c = Own(k);
    // Compacts chunk k, dropping every listed position inside it.
    size_t out = 0;
    for (size_t at = 0; at < c.size(); ++at) {
      if (i < positions.size() && positions[i] == chunk_begin + at) {
        ++i;
        continue;
      }
      if (out != at) c[out] = std::move(c[at]);
      ++out;
    }
    c.resize(out);
    first_changed = std::min(first_changed, k);
  }
  // Empty chunks go; a chunk left under a quarter full joins its neighbour
  // when both fit in one, so steady add-and-remove does not leave the list
  // in ever more, ever smaller chunks. (The chunk before the first changed
  // one may take a neighbour too.)
  if (first_changed > 0) --first_changed;
  std::vector<std::shared_ptr<Chunk>> kept;
  kept.reserve(chunks_.size());
  kept.insert(kept.end(), std::make_move_iterator(chunks_.begin()),
              std::make_move_iterator(chunks_.begin() + first_changed));
  for (size_t k = first_changed; k < chunks_.size(); ++k) {
    std::shared_ptr<Chunk>& c = chunks_[k];
    if (c->empty()) continue;
    // (Only into a chunk at or after first_changed: ends_ before it stay.)
    if (kept.size() > first_changed) {
      std::shared_ptr<Chunk>& prev = kept.back();
      const bool small = prev->size() < kChunkNodes / 4 || c->size() < kChunkNodes / 4;
      if (small && prev->size() + c->size() <= kChunkNodes) {
        if (prev.use_count() != 1)
          prev = std::make_shared<Chunk>(*prev);
        else
          std::atomic_thread_fence(std::memory_order_acquire);  // as in Own()
        prev->insert(prev->end(), c->begin(), c->end());
        continue;
      }
    }
    kept.push_back(std::move(c));
  }
  chunks_ = std::move(kept);
  RecountFrom(std::min(first_changed, chunks_.size()));
}

void NodeList::RecountFrom(size_t k) {
  ends_.resize(chunks_.size());
  size_t total = k == 0 ? 0 : ends_[k - 1];
  for (; k < chunks_.size(); ++k) {
    total += chunks_[k]->size();
    ends_[k] = total;
  }
}

void NodeList::AppendChunk(std::shared_ptr<Chunk> chunk) {
  if (chunk == nullptr || chunk->empty()) return;
  const size_t total = size() + chunk->size();
  chunks_.push_back(std::move(chunk));
  ends_.push_back(total);
}

void NodeList::ReplaceChunk(size_t k, std::shared_ptr<Chunk> chunk) {
  chunks_[k] = std::move(chunk);
}

std::vector<Node> NodeList::ToVector() const {
  std::vector<Node> out;
  out.reserve(size());
  for (const std::shared_ptr<Chunk>& c : chunks_) out.insert(out.end(), c->begin(), c->end());
  return out;
}

NodeList::const_iterator NodeList::begin() const {
  return const_iterator(chunks_.data(), chunks_.data() + chunks_.size());
}

NodeList::const_iterator NodeList::end() const {
  const std::shared_ptr<Chunk>* last = chunks_.data() + chunks_.size();
  return const_iterator(last, last);
}

}  // namespace jcm
