#include "storage/cluster_bucket_state.h"

#include <algorithm>

#include "model/cluster_text.h"
#include "storage/cluster_buckets.h"

namespace jcm {

size_t ClusterBucketState::node_count() const {
  size_t n = 0;
  for (const Bucket& b : buckets) n += b.nodes.size();
  return n;
}

size_t ClusterBucketState::json_bytes() const {
  size_t n = 0;
  for (const Bucket& b : buckets) n += b.json_bytes;
  return n;
}

size_t ClusterBucketState::stored_bytes() const {
  size_t n = 0;
  for (const Bucket& b : buckets) n += b.stored_bytes;
  return n;
}

Cluster ClusterBucketState::Assemble() const {
  Cluster c = fields;
  c.nodes.clear();
  for (const Bucket& b : buckets) {
    if (b.chunk == nullptr) b.chunk = std::make_shared<NodeChunk>(b.nodes);
    // Shared: the cluster's NodeList copies it before any change.
    c.nodes.AppendChunk(b.chunk);
  }
  return c;
}

BucketEdit::BucketEdit(ClusterBucketState& st, Mode mode)
    : st_(st), mode_(mode), node_count_(st.node_count()) {}

ClusterBucketState::Bucket& BucketEdit::Get(uint32_t b) {
  auto [it, fresh] = work_.try_emplace(b);
  if (fresh) {
    ClusterBucketState::Bucket& held = st_.buckets[b];
    if (mode_ == Mode::kInPlace) {
      it->second = std::move(held);
    } else {
      it->second = held;
    }
    it->second.chunk.reset();  // its nodes are about to change
    // Texts are kept in step with the nodes only when all are known.
    if (it->second.texts.size() != it->second.nodes.size()) it->second.texts.clear();
  }
  return it->second;
}

void BucketEdit::Remove(const std::string& spec) {
  const auto nb = static_cast<uint32_t>(st_.buckets.size());
  ClusterBucketState::Bucket& w = Get(ClusterBuckets::BucketOf(spec, nb));
  auto it = std::find(w.specs.begin(), w.specs.end(), spec);
  if (it == w.specs.end()) return;
  const auto k = it - w.specs.begin();
  const bool texts = w.texts.size() == w.nodes.size();
  w.nodes.erase(w.nodes.begin() + k);
  w.specs.erase(it);
  if (texts) w.texts.erase(w.texts.begin() + k);
  --node_count_;
}

void BucketEdit::Set(const Node& node, std::string spec) {
  const auto nb = static_cast<uint32_t>(st_.buckets.size());
  ClusterBucketState::Bucket& w = Get(ClusterBuckets::BucketOf(spec, nb));
  const bool texts = w.texts.size() == w.nodes.size();
  std::string text;
  if (texts) AppendNodeText(node, ClusterJsonForm::kStored, InvalidUtf8::kStrict, &text);
  auto it = std::find(w.specs.begin(), w.specs.end(), spec);
  if (it != w.specs.end()) {
    const auto k = it - w.specs.begin();
    w.nodes[k] = node;
    if (texts) w.texts[k] = std::move(text);
    return;
  }
  w.nodes.push_back(node);
  w.specs.push_back(std::move(spec));
  if (texts) w.texts.push_back(std::move(text));
  ++node_count_;
}

std::map<uint32_t, ClusterBucketState::Bucket> BucketEdit::Finish() {
  for (auto& [b, w] : work_) {
    if (w.texts.size() != w.nodes.size()) {
      // Unknown texts (a bucket the DOM decoded): encode them all, once.
      w.texts.assign(w.nodes.size(), std::string());
      for (size_t k = 0; k < w.nodes.size(); ++k) {
        AppendNodeText(w.nodes[k], ClusterJsonForm::kStored, InvalidUtf8::kStrict, &w.texts[k]);
      }
    }
    // Its stored size is not known before it is encoded: scaled from the
    // bucket's before (the writer sets the real one; a reader keeps this).
    const size_t json_before = w.json_bytes;
    w.json_bytes = ClusterBuckets::TextsJsonBytes(w.texts);
    w.stored_bytes = json_before > 0 ? w.stored_bytes * w.json_bytes / json_before : w.json_bytes;
  }
  return std::move(work_);
}

}  // namespace jcm
