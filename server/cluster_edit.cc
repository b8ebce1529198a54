#include "server/cluster_edit.h"

#include <algorithm>

#include "model/validation.h"

namespace jcm {

Cluster* ClusterEdit::whole() {
  Finish();  // apply pending removals before the caller sees the vector
  whole_ = true;
  indexed_ = false;
  index_.clear();
  dead_.clear();
  touched_.clear();
  return c_;
}

void ClusterEdit::EnsureIndex() {
  if (indexed_) return;
  index_.clear();
  index_.reserve(c_->nodes.size() + 16);
  for (size_t i = 0; i < c_->nodes.size(); ++i) {
    if (i < dead_.size() && dead_[i]) continue;
    index_.emplace(c_->nodes[i].Spec(), i);
  }
  dead_.resize(c_->nodes.size(), false);
  indexed_ = true;
}

bool ClusterEdit::Contains(const std::string& spec) {
  EnsureIndex();
  return index_.count(spec) != 0;
}

Node* ClusterEdit::Find(const std::string& spec) {
  EnsureIndex();
  auto it = index_.find(spec);
  if (it == index_.end()) return nullptr;
  touched_.push_back(it->second);
  return &c_->nodes[it->second];
}

void ClusterEdit::Upsert(Node node) {
  EnsureIndex();
  std::string spec = node.Spec();
  auto it = index_.find(spec);
  if (it != index_.end()) {
    c_->nodes[it->second] = std::move(node);
    touched_.push_back(it->second);
    return;
  }
  const size_t pos = c_->nodes.size();
  c_->nodes.push_back(std::move(node));
  dead_.push_back(false);
  index_.emplace(std::move(spec), pos);
  touched_.push_back(pos);
}

bool ClusterEdit::Remove(const std::string& spec) {
  EnsureIndex();
  auto it = index_.find(spec);
  if (it == index_.end()) return false;
  dead_[it->second] = true;
  ++removed_;
  index_.erase(it);
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
