// StoredClusterCodec: the JSON text of a stored cluster (ClusterJsonForm::
// kStored), encoded and decoded at a cost that stays small for clusters of
// tens of thousands of nodes.
//
// Why: a cluster is one znode, so every write re-encodes it and every
// instance decodes every version. Through nlohmann's DOM a 20,000-node
// cluster (1.8 MB of JSON) took ~180 ms to encode and ~140 ms to decode,
// which capped writes of large clusters at a few per second.
//
// - Encode writes each node's JSON directly (EncodeClusterText, no DOM):
//   the same bytes as EncodeCluster(kStored).dump().
// - Decode splits the "nodes" array into one text fragment per node with a
//   linear scan, and walks it beside the previous version of the same
//   cluster (a FragmentCache: its fragments and decoded Nodes, in order): a
//   fragment equal to the previous one at the same place, or a few places
//   on (nodes removed), is that version's Node; only nodes whose text
//   changed, or that moved, are parsed. Writes keep the order of nodes
//   (adds append, removals compact), so a registration costs a comparison
//   of bytes per unchanged node, not a parse. Everything else (the cluster's
//   own fields, the node count, duplicate specs) is checked as
//   DecodeCluster checks it. Any text the fast path does not take apart
//   cleanly goes through DecodeCluster itself, so every error is exactly
//   DecodeCluster's.
//
// Thread-safety: the static functions are pure; a FragmentCache is owned by
// one caller at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

class StoredClusterCodec {
 public:
  // The decoded nodes of one version of a cluster, with their JSON text, in
  // document order.
  class FragmentCache {
   public:
    size_t size() const { return nodes_.size(); }

   private:
    friend class StoredClusterCodec;
    struct Entry {
      std::string_view text;  // into text_
      Node node;
      std::string spec;    // node.Spec(), for the duplicate check
      uint64_t spec_hash;  // std::hash of spec
    };
    // The document the entries point into (on the heap: moving the cache
    // must not move the text).
    std::unique_ptr<const std::string> text_;
    std::vector<Entry> nodes_;
  };

  // The cluster's stored JSON text. Throws what nlohmann's dump throws for a
  // string that is not UTF-8, as EncodeCluster(...).dump() does.
  static std::string Encode(const Cluster& cluster);

  // Decodes and validates stored JSON text, as ParseJsonText + DecodeCluster
  // do. `cache` (may be null) holds the previous decode of this cluster and
  // is replaced by this one's on success, emptied on failure.
  static Status Decode(std::string json, FragmentCache* cache, Cluster* out);

  // Only the full DOM decode (what Decode falls back to); for tests.
  static Status DecodeSlow(std::string_view json, Cluster* out);

 private:
  // Text the fast path does not take: the DOM decode; `cache` is emptied.
  static Status Fallback(std::string_view text, FragmentCache* cache, Cluster* out);
};

}  // namespace jcm
