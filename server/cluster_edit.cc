#include "server/cluster_edit.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "model/validation.h"

namespace jcm {

Cluster CopyForEdit(const Cluster& base, size_t extra) {
  Cluster out;
  out.nodes.reserve(base.nodes.size() + extra);
  out.nodes.assign(base.nodes.begin(), base.nodes.end());
  // Every other field. A field added to Cluster must be copied here: the
  // size check below fails the build until it is.
  static_assert(sizeof(Cluster) == 176, "Cluster changed: copy its new fields in CopyForEdit");
  out.name = base.name;
  out.online = base.online;
  out.check_type = base.check_type;
  out.check_file = base.check_file;
  out.check = base.check;
  out.version = base.version;
  out.status_version = base.status_version;
  out.panic = base.panic;
  return out;
}

Cluster* ClusterEdit::whole() {
  Finish();  // apply pending removals before the caller sees the vector
  whole_ = true;
  indexed_ = false;
  table_ = SpecIndex{};
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
  dead_.resize(c_->nodes.size(), false);
  if (base_index_ && !whole_ && base_index_->node_count == c_->nodes.size() && removed_ == 0) {
    table_ = *base_index_;
  } else {
    Rebuild(16);
  }
  base_index_.reset();
  indexed_ = true;
}

std::shared_ptr<const SpecIndex> ClusterEdit::TakeIndex() {
  if (!indexed_ || whole_ || removed_ != 0) return nullptr;
  table_.node_count = c_->nodes.size();
  indexed_ = false;
  return std::make_shared<const SpecIndex>(std::move(table_));
}

void ClusterEdit::Rebuild(size_t extra) {
  size_t live = 0;
  for (size_t i = 0; i < c_->nodes.size(); ++i) live += dead_[i] ? 0 : 1;
  size_t capacity = 16;
  while (capacity < 2 * (live + extra)) capacity *= 2;
  table_.slots.assign(capacity, Slot{});
  table_.used = 0;
  for (size_t i = 0; i < c_->nodes.size(); ++i) {
    if (!dead_[i]) Insert(HashNode(c_->nodes[i], &spec_buf_), i);
  }
}

void ClusterEdit::Insert(uint64_t hash, size_t pos) {
  if ((table_.used + 1) * 8 > table_.slots.size() * 7) {
    // Full of live nodes and tombstones: a new table, which indexes `pos`
    // too (callers append the node before indexing it).
    Rebuild(16);
    return;
  }
  const size_t mask = table_.slots.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (table_.slots[i].pos == kEmpty) {
      table_.slots[i] = Slot{hash, static_cast<uint32_t>(pos)};
      ++table_.used;
      return;
    }
  }
}

ClusterEdit::Slot* ClusterEdit::LookupSlot(const std::string& spec, uint64_t hash) {
  const size_t mask = table_.slots.size() - 1;
  for (size_t i = hash & mask; table_.slots[i].pos != kEmpty; i = (i + 1) & mask) {
    Slot& s = table_.slots[i];
    if (s.pos != kRemoved && s.hash == hash && HasSpec(c_->nodes[s.pos], spec, &spec_buf_)) {
      return &s;
    }
  }
  return nullptr;
}

size_t ClusterEdit::Lookup(const std::string& spec) {
  const Slot* s = LookupSlot(spec, HashSpec(spec));
  return s == nullptr ? SIZE_MAX : s->pos;
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
  const std::string spec = node.Spec();
  const uint64_t hash = HashSpec(spec);
  if (const Slot* s = LookupSlot(spec, hash)) {
    c_->nodes[s->pos] = std::move(node);  // the same spec: the same hash
    touched_.push_back(s->pos);
    return;
  }
  const size_t pos = c_->nodes.size();
  c_->nodes.push_back(std::move(node));
  dead_.push_back(false);
  Insert(hash, pos);
  touched_.push_back(pos);
}

bool ClusterEdit::Remove(const std::string& spec) {
  EnsureIndex();
  Slot* s = LookupSlot(spec, HashSpec(spec));
  if (s == nullptr) return false;
  dead_[s->pos] = true;
  ++removed_;
  removed_specs_.push_back(spec);
  s->pos = kRemoved;  // a tombstone: probes for other specs go on past it
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
  // Positions moved: the index follows them (removed nodes' slots are
  // tombstones already), one pass over the table rather than a rebuild.
  if (indexed_) {
    for (Slot& slot : table_.slots) {
      if (slot.pos < kRemoved) slot.pos = static_cast<uint32_t>(moved_to[slot.pos]);
    }
  }
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
