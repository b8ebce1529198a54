#include "server/cluster_edit.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <functional>
#include <iterator>
#include <utility>

#include "model/validation.h"

namespace jcm {

Cluster CopyForEdit(const Cluster& base) {
  Cluster out;
  out.nodes = base.nodes;  // shares the chunks: O(nodes / NodeList::kChunkNodes)
  // Every other field. A field added to Cluster must be copied here: the
  // size check below fails the build until it is.
  static_assert(sizeof(Cluster) == 200, "Cluster changed: copy its new fields in CopyForEdit");
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

size_t SpecIndex::ToList(uint32_t slot_pos) const {
  return slot_pos - (std::lower_bound(holes.begin(), holes.end(), slot_pos) - holes.begin());
}

uint32_t SpecIndex::ToSlot(size_t list_pos) const {
  auto pos = static_cast<uint32_t>(list_pos);
  for (uint32_t hole : holes) {
    if (hole > pos) break;
    ++pos;  // a hole at or before it: one further on in slot numbering
  }
  return pos;
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
    if (base_index_.use_count() == 1) {
      // Ours alone (ClusterRegistry::TakeIndex): its table is taken, not
      // copied. The object was made non-const (TakeIndex), so the cast is
      // sound; the fence orders earlier readers' use of it, on threads that
      // have dropped their references since, before the move (as in
      // NodeList::Own).
      std::atomic_thread_fence(std::memory_order_acquire);
      table_ = std::move(const_cast<SpecIndex&>(*base_index_));
    } else {
      table_ = *base_index_;
    }
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
  // Made non-const (see EnsureIndex), handed out as const.
  return std::make_shared<SpecIndex>(std::move(table_));
}

void ClusterEdit::Rebuild(size_t extra) {
  size_t live = 0;
  for (size_t i = 0; i < c_->nodes.size(); ++i) live += dead_[i] ? 0 : 1;
  size_t capacity = 16;
  while (capacity < 2 * (live + extra)) capacity *= 2;
  table_.slots.assign(capacity, Slot{});
  table_.used = 0;
  table_.holes.clear();
  const NodeList& nodes = c_->nodes;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!dead_[i]) Insert(HashNode(nodes[i], &spec_buf_), i);
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
      table_.slots[i] = Slot{hash, table_.ToSlot(pos)};
      ++table_.used;
      return;
    }
  }
}

ClusterEdit::Slot* ClusterEdit::LookupSlot(const std::string& spec, uint64_t hash) {
  const size_t mask = table_.slots.size() - 1;
  for (size_t i = hash & mask; table_.slots[i].pos != kEmpty; i = (i + 1) & mask) {
    Slot& s = table_.slots[i];
    if (s.pos != kRemoved && s.hash == hash &&
        HasSpec(c_->nodes[table_.ToList(s.pos)], spec, &spec_buf_)) {
      return &s;
    }
  }
  return nullptr;
}

size_t ClusterEdit::Lookup(const std::string& spec) {
  const Slot* s = LookupSlot(spec, HashSpec(spec));
  return s == nullptr ? SIZE_MAX : table_.ToList(s->pos);
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
  return &c_->nodes.Mutable(pos);
}

void ClusterEdit::Upsert(Node node) {
  EnsureIndex();
  const std::string spec = node.Spec();
  const uint64_t hash = HashSpec(spec);
  if (const Slot* s = LookupSlot(spec, hash)) {
    const size_t pos = table_.ToList(s->pos);
    c_->nodes.Mutable(pos) = std::move(node);  // the same spec: the same hash
    touched_.push_back(pos);
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
  dead_[table_.ToList(s->pos)] = true;
  ++removed_;
  removed_specs_.push_back(spec);
  s->pos = kRemoved;  // a tombstone: probes for other specs go on past it
  return true;
}

void ClusterEdit::Finish() {
  if (removed_ == 0) return;
  std::vector<size_t> dead;
  dead.reserve(removed_);
  for (size_t i = 0; i < dead_.size(); ++i) {
    if (dead_[i]) dead.push_back(i);
  }
  // Only the chunks that lose nodes are copied (and only if shared).
  c_->nodes.RemoveSorted(dead);
  // A surviving position p moves down by the removals before it.
  auto moved_to = [&dead](size_t p) {
    return p - static_cast<size_t>(std::lower_bound(dead.begin(), dead.end(), p) - dead.begin());
  };
  std::vector<size_t> touched;
  for (size_t p : touched_) {
    if (!dead_[p]) touched.push_back(moved_to(p));
  }
  touched_ = std::move(touched);
  removed_ = 0;
  dead_.assign(c_->nodes.size(), false);
  if (!indexed_) return;
  // Positions moved: the removed ones become holes of the index (their
  // slots are tombstones already), which the slots after them count from.
  std::vector<uint32_t> holes;
  holes.reserve(dead.size());
  for (size_t p : dead) holes.push_back(table_.ToSlot(p));  // (before any is added)
  std::vector<uint32_t> merged;
  merged.reserve(table_.holes.size() + holes.size());
  std::merge(table_.holes.begin(), table_.holes.end(), holes.begin(), holes.end(),
             std::back_inserter(merged));
  table_.holes = std::move(merged);
  if (table_.holes.size() > SpecIndex::kMaxHoles) {
    // Renumbered once in a while, in one pass over the table.
    for (Slot& slot : table_.slots) {
      if (slot.pos < kRemoved) slot.pos = static_cast<uint32_t>(table_.ToList(slot.pos));
    }
    table_.holes.clear();
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
