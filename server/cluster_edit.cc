#include "server/cluster_edit.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "model/validation.h"

namespace jcm {

Cluster* ClusterEdit::whole() {
  Finish();  // apply pending removals before the caller sees the vector
  whole_ = true;
  indexed_ = false;
  index_.clear();
  collided_.clear();
  dead_.clear();
  touched_.clear();
  removed_specs_.clear();
  return c_;
}

bool ClusterEdit::Changes(std::vector<size_t>* touched, std::vector<std::string>* removed) const {
  if (whole_) return false;
  *touched = touched_;
  *removed = removed_specs_;
  return true;
}

namespace {

// Node::Spec()'s text, into a buffer reused by the caller.
void AppendSpec(const Node& node, std::string* out) {
  out->append(node.ip);
  for (const ProtoPort& pp : node.protos) {
    *out += '|';
    *out += ToString(pp.proto);
    *out += ':';
    char digits[8];
    auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), pp.port);
    out->append(digits, end);
  }
}

uint64_t HashSpec(std::string_view spec) { return std::hash<std::string_view>{}(spec); }

uint64_t HashNode(const Node& node, std::string* buf) {
  buf->clear();
  AppendSpec(node, buf);
  return HashSpec(*buf);
}

bool HasSpec(const Node& node, std::string_view spec, std::string* buf) {
  buf->clear();
  AppendSpec(node, buf);
  return *buf == spec;
}

}  // namespace

void ClusterEdit::EnsureIndex() {
  if (indexed_) return;
  index_.clear();
  collided_.clear();
  index_.reserve(c_->nodes.size() + 16);
  dead_.resize(c_->nodes.size(), false);
  for (size_t i = 0; i < c_->nodes.size(); ++i) {
    if (!dead_[i]) IndexAt(i);
  }
  indexed_ = true;
}

void ClusterEdit::IndexAt(size_t pos) {
  std::string buf;
  buf.reserve(64);
  if (!index_.emplace(HashNode(c_->nodes[pos], &buf), pos).second) collided_.push_back(pos);
}

void ClusterEdit::UnindexAt(size_t pos, uint64_t hash) {
  auto it = index_.find(hash);
  if (it != index_.end() && it->second == pos) {
    index_.erase(it);
    // A collided node with this hash takes the freed slot.
    for (size_t k = 0; k < collided_.size(); ++k) {
      std::string buf;
      if (HashNode(c_->nodes[collided_[k]], &buf) == hash) {
        index_.emplace(hash, collided_[k]);
        collided_.erase(collided_.begin() + static_cast<std::ptrdiff_t>(k));
        break;
      }
    }
    return;
  }
  collided_.erase(std::remove(collided_.begin(), collided_.end(), pos), collided_.end());
}

size_t ClusterEdit::Lookup(const std::string& spec) const {
  std::string buf;
  buf.reserve(64);
  auto it = index_.find(HashSpec(spec));
  if (it != index_.end() && HasSpec(c_->nodes[it->second], spec, &buf)) return it->second;
  for (size_t p : collided_) {
    if (HasSpec(c_->nodes[p], spec, &buf)) return p;
  }
  return SIZE_MAX;
}

bool ClusterEdit::Contains(const std::string& spec) {
  EnsureIndex();
  return Lookup(spec) != SIZE_MAX;
}

Node* ClusterEdit::Find(const std::string& spec) {
  EnsureIndex();
  const size_t pos = Lookup(spec);
  if (pos == SIZE_MAX) return nullptr;
  touched_.push_back(pos);
  return &c_->nodes[pos];
}

void ClusterEdit::Upsert(Node node) {
  EnsureIndex();
  const size_t found = Lookup(node.Spec());
  if (found != SIZE_MAX) {
    c_->nodes[found] = std::move(node);  // the same spec: the same hash
    touched_.push_back(found);
    return;
  }
  const size_t pos = c_->nodes.size();
  c_->nodes.push_back(std::move(node));
  dead_.push_back(false);
  IndexAt(pos);
  touched_.push_back(pos);
}

bool ClusterEdit::Remove(const std::string& spec) {
  EnsureIndex();
  const size_t pos = Lookup(spec);
  if (pos == SIZE_MAX) return false;
  dead_[pos] = true;
  ++removed_;
  removed_specs_.push_back(spec);
  UnindexAt(pos, HashSpec(spec));
  return true;
}

void ClusterEdit::Finish() {
  if (removed_ == 0) return;
  std::vector<size_t> moved_to(c_->nodes.size(), SIZE_MAX);
  size_t out = 0;
  for (size_t i = 0; i < c_->nodes.size(); ++i) {
    if (dead_[i]) continue;
    if (out != i) c_->nodes[out] = std::move(c_->nodes[i]);
    moved_to[i] = out++;
  }
  c_->nodes.resize(out);
  std::vector<size_t> touched;
  for (size_t p : touched_) {
    if (moved_to[p] != SIZE_MAX) touched.push_back(moved_to[p]);
  }
  touched_ = std::move(touched);
  removed_ = 0;
  dead_.assign(c_->nodes.size(), false);
  indexed_ = false;  // positions moved
}

Status ClusterEdit::Validate() const {
  if (whole_) return ValidateCluster(*c_);
  Status s = ValidateClusterFields(*c_);
  if (!s.ok()) return s;
  // Duplicates cannot arise: every addition went through the spec index.
  std::vector<size_t> touched = touched_;
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (size_t p : touched) {
    s = ValidateNode(c_->nodes[p], "nodes[" + std::to_string(p) + "]");
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace jcm
