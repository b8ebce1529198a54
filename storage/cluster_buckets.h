// ClusterBuckets: the bucketed stored form of a large cluster, as bytes.
//
// A cluster whose nodes encode to more than kBucketAbove bytes of JSON is
// not one znode: <root>/clusters/<name> holds a header and the nodes live
// in B bucket znodes <root>/clusters/<name>/<generation>-<i>, node with
// spec s in bucket BucketOf(s, B). A write then sets the header and the
// buckets of the nodes it changed, not the whole cluster (issue 10 item 5).
//
// Header: kMagic (never the start of the inline forms: those begin with '{'
// or a zlib stream's 0x78), then a JSON object
//   {"cluster": <the cluster in the stored form, "nodes": []>,
//    "generation": G, "nodes": N, "buckets": [v0, v1, ...]}
// where vi is the data version bucket i must have (B = the array's size, a
// power of two) and N the node count. A header {"placeholder": true} marks
// a cluster being created in several writes (too large for one): it is not
// a cluster yet.
//
// A header written by a write that changed a few nodes also carries what it
// changed: "delta": {"base": <the previous header's mzxid>, "removed":
// [spec, ...], "set": [node, ...]}. A reader holding exactly the base
// applies it to the buckets it holds, as the writer did, and reads no
// bucket (ClusterStore). The buckets stay the truth: a reader that cannot
// apply it, or an older jcm that ignores it, reads them.
//
// When the same writer made the write before too, the header also carries
// that write's delta, "previous" (same shape; its base is the header
// before that, and the "delta"'s base is its result): a reader two writes
// behind applies both. Why: a reader learns of writes by a one-shot watch
// and then reads the header, and under a steady stream of writes (100
// a second) ~2 % of those reads found two writes done, so the reader read
// every bucket both changed, a second round trip behind the writes' queue
// in ZooKeeper (the slowest versions seen on every follower).
//
// Bucket: the JSON array of its nodes in the stored node encoding (what
// the inline form's "nodes" holds), zlib-compressed above
// kCompressBucketAbove bytes. Node order within a bucket is the write
// order; a bucketed cluster's node order is by bucket.
//
// Decoding never trusts the bytes: every refusal is a Status naming the
// field (and never an exception or an abort).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm {

class ClusterBuckets {
 public:
  static constexpr std::string_view kMagic = "jcm-buckets/1\n";
  // Inline while the nodes' JSON is at most this; bucketed above it. Back to
  // inline only below kInlineBelow, so a cluster near the line does not
  // flip its form (a full rewrite) on every write.
  static constexpr size_t kBucketAbove = 64 * 1024;
  static constexpr size_t kInlineBelow = 32 * 1024;
  // A bucket holds about this many nodes (32-128: see ChooseBuckets), and
  // about kBucketTargetBytes of JSON when nodes are large.
  static constexpr size_t kNodesPerBucket = 64;
  static constexpr size_t kBucketTargetBytes = 16 * 1024;
  static constexpr uint32_t kMaxBuckets = 4096;
  static constexpr size_t kCompressBucketAbove = 1024;

  // A header's delta holds at most this many nodes and specs; a write that
  // changed more stores none (the header stays small, its readers read the
  // changed buckets).
  static constexpr size_t kMaxDeltaEntries = 256;
  // Nor past this many bytes of header with it (nodes may carry 4 KiB of
  // udata each): every instance reads the header of every write.
  static constexpr size_t kMaxHeaderWithDeltaBytes = 96 * 1024;

  // What the write that stored a header changed since the header before it
  // (mzxid `base`): `removed` specs went (the writer skips one it did not
  // hold), then each of `set` replaced the node of its spec in place or was
  // appended to its bucket.
  struct Delta {
    int64_t base = 0;
    std::vector<std::string> removed;
    std::vector<Node> set;
  };

  struct Header {
    bool placeholder = false;
    Cluster cluster;  // no nodes
    uint64_t generation = 0;
    uint32_t node_count = 0;
    std::vector<int32_t> versions;  // per bucket; size() = B
    // Absent when the writer stored none, or when the one stored does not
    // decode: the delta only saves reads, so a bad one is not the header's
    // failure (its buckets are read instead).
    std::optional<Delta> delta;
    // The write before's delta (delta->base is its result); only with one.
    std::optional<Delta> previous;
  };

  static bool IsHeader(std::string_view bytes) { return bytes.substr(0, kMagic.size()) == kMagic; }
  // The header's bytes (the cluster's nodes are ignored).
  static std::string EncodeHeader(const Header& header);
  static std::string EncodePlaceholder();
  // InvalidArgument naming the field for anything but a header EncodeHeader
  // or EncodePlaceholder could have written.
  static Status DecodeHeader(std::string_view bytes, Header* out);

  // The bucket of a node with `spec` among `buckets` (a power of two): the
  // top bits of XXH64(spec), so doubling B splits each bucket in two.
  static uint32_t BucketOf(std::string_view spec, uint32_t buckets);
  // How many buckets `nodes` nodes of `json_bytes` bytes want, keeping
  // `current` (0: none yet) while it holds 32-128 nodes (and ~8-32 KB) a
  // bucket on average, so B changes only when the cluster doubles or halves.
  static uint32_t ChooseBuckets(size_t nodes, size_t json_bytes, uint32_t current);

  // A bucket's stored bytes; `json_bytes` gets the size of its JSON,
  // `texts` (optional) each node's JSON text in it.
  static std::string EncodeBucket(const std::vector<Node>& nodes, size_t* json_bytes,
                                  std::vector<std::string>* texts = nullptr);
  // A bucket's stored bytes from its nodes' texts (as EncodeBucket gives
  // them): no node is encoded again.
  static std::string EncodeTexts(const std::vector<std::string>& texts);
  // The size of the JSON array of `texts`.
  static size_t TextsJsonBytes(const std::vector<std::string>& texts);
  // The previous version of a bucket, whose nodes a decode reuses by text.
  struct Previous {
    const std::vector<std::string>* texts = nullptr;
    const std::vector<Node>* nodes = nullptr;
    const std::vector<std::string>* specs = nullptr;
  };
  // Decodes bucket `index` of `buckets`: every node valid, each in its own
  // bucket, no spec twice. `max_json_bytes` caps what it may inflate to.
  // `specs` gets each node's spec. With `texts`, it also gets each node's
  // JSON text (empty when the bucket was not split cleanly) and a node
  // whose text `previous` holds is not parsed again.
  static Status DecodeBucket(std::string_view bytes, uint32_t index, uint32_t buckets,
                             size_t max_json_bytes, std::vector<Node>* nodes,
                             std::vector<std::string>* specs, size_t* json_bytes,
                             const Previous* previous = nullptr,
                             std::vector<std::string>* texts = nullptr);

  // "<generation>-<index>", and back (false for any other name).
  static std::string BucketName(uint64_t generation, uint32_t index);
  static bool ParseBucketName(std::string_view name, uint64_t* generation, uint32_t* index);
};

}  // namespace jcm
