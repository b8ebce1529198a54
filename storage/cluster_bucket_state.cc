#include "storage/cluster_bucket_state.h"

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

}  // namespace jcm
