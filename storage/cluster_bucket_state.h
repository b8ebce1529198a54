// ClusterBucketState: what one instance knows of one cluster's stored form
// at one header version: its form, and for a bucketed cluster each bucket's
// znode version and decoded nodes. A reader re-reads only the buckets whose
// version in a newer header differs; the leader sets only the buckets a
// batch changed, each conditional on the version held here.
//
// Thread-safety: none; ClusterStore guards each cluster's state with that
// cluster's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/cluster.h"
#include "storage/cluster_buckets.h"

namespace jcm {

struct ClusterBucketState {
  // kUnreadable: the header at header_version, or a bucket it names, does
  // not decode; the next write rewrites the cluster whole.
  enum class Form { kUnknown, kInline, kBuckets, kUnreadable };
  struct Bucket {
    int32_t version = 0;             // its znode's data version
    std::vector<Node> nodes;         // in stored order
    std::vector<std::string> specs;  // nodes[k].Spec()
    std::vector<std::string> texts;  // nodes[k]'s JSON as stored; empty if not known
    size_t json_bytes = 0;           // its JSON
    size_t stored_bytes = 0;         // its znode's data (compressed or not)
    // `nodes` as a NodeList chunk, made by Assemble() once for this content
    // and shared by every cluster assembled from it since: a version that
    // changes one bucket copies that bucket's nodes, not the cluster's.
    // Whoever changes `nodes` resets it (a new Bucket starts without).
    mutable std::shared_ptr<NodeChunk> chunk;
  };

  Form form = Form::kUnknown;
  int32_t header_version = -1;  // the cluster znode's data version this is true at
  int64_t header_mzxid = 0;
  // kBuckets: the cluster znode's czxid. A cluster deleted and created again
  // numbers its generations from 1 again, so bucket names and versions of
  // two incarnations can coincide: only the same czxid keeps buckets.
  int64_t czxid = 0;
  uint64_t generation = 0;      // kBuckets
  Cluster fields;               // kBuckets: the header's cluster (no nodes)
  std::vector<Bucket> buckets;  // kBuckets: B of them
  // Leftover children (of an unfinished rewrite) were looked for since this
  // state was made: the first write of a cluster does it once.
  bool swept = false;
  // The mzxid of the last write this instance made (0: none): its writer
  // publishes that version itself, so a watch-driven load of it (which may
  // run before the writer has) need not assemble the cluster again.
  int64_t written_mzxid = 0;
  // What the last write this instance made changed (its header's delta),
  // and that write's mzxid: the next write's header carries it again as
  // "previous", for readers two writes behind (ClusterBuckets::Header).
  // Only while header_mzxid is that write's.
  std::optional<ClusterBuckets::Delta> last_delta;
  int64_t last_delta_mzxid = 0;

  // Buckets decoded by a refresh that a write overtook (some bucket was
  // newer than the header it had read), each at its own version, for
  // `ahead_generation` and `ahead_count` buckets. The next refresh takes
  // every one whose version its header names instead of reading it again.
  // Without them a reader under a steady stream of writes re-read every
  // changed bucket on each attempt, and each attempt was overtaken again
  // (reloads failed for seconds at 140 writes/s of a 20,000-node cluster).
  int64_t ahead_czxid = 0;
  uint64_t ahead_generation = 0;
  uint32_t ahead_count = 0;
  std::unordered_map<uint32_t, Bucket> ahead;

  void Clear() { *this = ClusterBucketState{}; }
  size_t node_count() const;
  size_t json_bytes() const;
  size_t stored_bytes() const;
  // The cluster: `fields` and every bucket's nodes, bucket by bucket, a
  // chunk per bucket (shared with earlier assemblies where unchanged).
  Cluster Assemble() const;
};

// The buckets one write changes, edited on copies of those a kBuckets state
// holds, or in place. The writer plans a write with it (on copies: the
// state must stay as it is until ZooKeeper took the write) and a reader
// applies a header's delta with it (in place: a copy of each changed
// bucket's nodes, specs and texts was most of that cost), so both change a
// bucket the same way, node order included: a removal erases in place, a
// node of a spec held replaces it in place, a new one is appended. Every
// bucket an edit names is written, even when its nodes come out the same
// (a removal of a spec not held), as its version in the header says.
class BucketEdit {
 public:
  enum class Mode { kCopy, kInPlace };
  // kInPlace: each bucket named is moved out of `st` (left empty there)
  // until Finish() hands it back; `st` is not whole before that.
  BucketEdit(ClusterBucketState& st, Mode mode);

  void Remove(const std::string& spec);
  // `spec` is node.Spec().
  void Set(const Node& node, std::string spec);
  // The cluster's node count after the edit.
  size_t NodeCount() const { return node_count_; }
  // Gives each changed bucket every node's text (only new nodes are
  // encoded, unless the held bucket's texts were unknown), its json_bytes
  // and an estimate of its stored_bytes (scaled from before), then hands
  // them over, by bucket.
  std::map<uint32_t, ClusterBucketState::Bucket> Finish();

 private:
  ClusterBucketState::Bucket& Get(uint32_t b);

  ClusterBucketState& st_;
  const Mode mode_;
  size_t node_count_;
  std::map<uint32_t, ClusterBucketState::Bucket> work_;
};

}  // namespace jcm
