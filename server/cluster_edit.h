// ClusterEdit: the edits one write batch makes to a copy of a cluster
// definition. It builds the spec index once per batch (not once per
// mutation: that was O(nodes) per registration) and records which nodes
// the edits touched, so the batch validates only those nodes plus the
// cluster's own fields, not every node of a large cluster again.
//
// The index is one open-addressing table (linear probing) of a 64-bit hash
// of each node's spec and the node's position, the spec text built in one
// reused buffer: no allocation per node (a node-based hash map allocated
// one entry per node, for every batch, on every instance). A lookup checks
// the spec itself, so colliding hashes only cost a comparison. A removed
// node's slot becomes a tombstone until the table is rebuilt.
//
// Removals are marked and compacted once in Finish(), keeping node order.
// A mutation that needs the whole definition (a replacement) takes whole();
// the batch is then validated in full.
//
// Thread-safety: none; one batch's writer thread owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

// A spec index of one version's nodes, by position, kept with that version
// (ClusterRegistry) so the next batch on it starts from this table (taken
// from the registry, or copied when another holder keeps it) instead of
// hashing every node's spec again. Valid only
// for the node vector it was taken from (ClusterEdit::TakeIndex).
//
// Slots hold a node's position as it was before the removals listed in
// `holes`: a removal adds a hole instead of renumbering every slot after it
// (a pass over the whole table per batch). A slot's position p is the
// node's p - (holes before p); past kMaxHoles, one pass renumbers them all.
struct SpecIndex {
  struct Slot {
    uint64_t hash = 0;
    uint32_t pos = UINT32_MAX;  // a node's position (see holes), kEmpty or kRemoved
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr uint32_t kRemoved = UINT32_MAX - 1;
  static constexpr size_t kMaxHoles = 256;

  std::vector<Slot> slots;      // size a power of two, at most 7/8 used
  size_t used = 0;              // slots live or removed
  size_t node_count = 0;        // the size of the list it indexes
  std::vector<uint32_t> holes;  // ascending, in slot numbering

  // A slot's position -> the node's position in the list, and back.
  size_t ToList(uint32_t slot_pos) const;
  uint32_t ToSlot(size_t list_pos) const;
};

// A copy of `base` to edit: its nodes' chunks are shared with `base` until
// an edit writes one (NodeList), so the copy costs O(chunks), and a batch
// copies only the chunks it changes.
Cluster CopyForEdit(const Cluster& base);

class ClusterEdit {
 public:
  // `base_index` (optional): the index of the nodes `cluster` holds now, as
  // taken from the edit that made them (the caller keeps the two paired:
  // ClusterRegistry stores an index with its definition). One of another
  // size is ignored; one of other nodes of the same size is not detected.
  explicit ClusterEdit(Cluster* cluster, std::shared_ptr<const SpecIndex> base_index = nullptr)
      : c_(cluster), base_index_(std::move(base_index)) {}

  const std::string& name() const { return c_->name; }
  // Whole-definition access: everything counts as touched.
  Cluster* whole();
  void SetOnline(bool online) { c_->online = online; }
  // Nodes the cluster holds now (removals counted).
  size_t node_count() const { return c_->nodes.size() - removed_; }
  bool Contains(const std::string& spec);
  // The node with `spec` for modification (it counts as touched), or null.
  Node* Find(const std::string& spec);
  // Adds `node`, or replaces the node with the same spec.
  void Upsert(Node node);
  // Removes the node with `spec`; false if there is none.
  bool Remove(const std::string& spec);

  // Compacts removals. REQUIRES: no edit after it.
  void Finish();
  // What the edits changed, for ClusterStore::Save() (it sets only the
  // buckets of those nodes): positions of nodes added or changed, specs of
  // nodes removed. False after whole() (anything may have changed).
  // REQUIRES: Finish(); callers of Find() did not change the node's spec.
  bool Changes(std::vector<size_t>* touched, std::vector<std::string>* removed) const;
  // Validates what the edits touched (after Finish()).
  Status Validate() const;
  // The index of the cluster's nodes as they are after Finish(), for the
  // next edit of this version; null when there is none (after whole(), or
  // no lookup was made). The object is not const: an edit that gets the
  // only reference to it takes its table rather than copying it.
  // REQUIRES: Finish(); no edit after it.
  std::shared_ptr<const SpecIndex> TakeIndex();

 private:
  using Slot = SpecIndex::Slot;
  static constexpr uint32_t kEmpty = SpecIndex::kEmpty;
  static constexpr uint32_t kRemoved = SpecIndex::kRemoved;

  void EnsureIndex();
  // (Re)builds the table for the live nodes, with room for `extra` more.
  void Rebuild(size_t extra);
  // The slot holding the node with `spec` (hash `hash`), or null.
  Slot* LookupSlot(const std::string& spec, uint64_t hash);
  size_t Lookup(const std::string& spec);  // its live position, or SIZE_MAX
  void Insert(uint64_t hash, size_t pos);  // `pos`: a list position

  Cluster* const c_;
  std::shared_ptr<const SpecIndex> base_index_;  // dropped once copied or taken
  bool indexed_ = false;
  bool whole_ = false;
  SpecIndex table_;         // node_count set by TakeIndex()
  std::string spec_buf_;    // reused for each spec built
  std::vector<bool> dead_;  // by position
  size_t removed_ = 0;
  std::vector<size_t> touched_;  // positions (after Finish(): compacted positions)
  std::vector<std::string> removed_specs_;
};

}  // namespace jcm
