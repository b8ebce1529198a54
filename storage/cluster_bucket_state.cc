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
  c.nodes.reserve(node_count());
  for (const Bucket& b : buckets) c.nodes.insert(c.nodes.end(), b.nodes.begin(), b.nodes.end());
  return c;
}

}  // namespace jcm
