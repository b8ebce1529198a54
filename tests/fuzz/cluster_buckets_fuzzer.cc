// Fuzz target: the bucketed stored form's decoders (ClusterBuckets): the
// header of a large cluster and one bucket znode, as hostile bytes. The
// first input byte picks which: even, a header (the magic prefix is added
// so mutations reach the JSON); odd, bucket (byte >> 1) % 4 of 4 (an input
// whose second byte is 'Z' is JSON to store compressed, as EncodeBucket does
// for large buckets). What decodes must encode again to bytes that decode
// to the same thing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_codec.h"
#include "model/limits.h"
#include "storage/cluster_buckets.h"
#include "storage/compression.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckRefusal(const jcm::Status& s) {
  Check(s.code() != jcm::Status::Code::kOk, "refusal has a code");
  Check(s.message().size() < 4000, "refusal message is bounded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (selector % 2 == 0) {
    const std::string bytes = std::string(jcm::ClusterBuckets::kMagic) + std::string(rest);
    jcm::ClusterBuckets::Header h;
    jcm::Status s = jcm::ClusterBuckets::DecodeHeader(bytes, &h);
    if (!s.ok()) {
      CheckRefusal(s);
      return 0;
    }
    if (h.placeholder) return 0;
    Check(h.versions.size() >= 1 && (h.versions.size() & (h.versions.size() - 1)) == 0,
          "bucket count is a power of two");
    Check(h.cluster.nodes.empty(), "no nodes in a header");
    jcm::ClusterBuckets::Header again;
    Check(jcm::ClusterBuckets::DecodeHeader(jcm::ClusterBuckets::EncodeHeader(h), &again).ok(),
          "re-encoded header decodes");
    Check(again.generation == h.generation && again.node_count == h.node_count &&
              again.versions == h.versions &&
              jcm::EncodeCluster(again.cluster, jcm::ClusterJsonForm::kStored) ==
                  jcm::EncodeCluster(h.cluster, jcm::ClusterJsonForm::kStored),
          "header round trip is stable");
    return 0;
  }
  const uint32_t buckets = 4;
  const uint32_t index = (selector >> 1) % buckets;
  std::string compressed;
  if (!rest.empty() && rest[0] == 'Z') {
    compressed = jcm::ZlibCompress(rest.substr(1));
    rest = compressed;
  }
  std::vector<jcm::Node> nodes;
  std::vector<std::string> specs;
  size_t json = 0;
  jcm::Status s =
      jcm::ClusterBuckets::DecodeBucket(rest, index, buckets, 1 << 20, &nodes, &specs, &json);
  // The split-and-reuse path (texts asked for, the previous version given)
  // agrees with the DOM path on every input.
  std::vector<jcm::Node> fast_nodes;
  std::vector<std::string> fast_specs, fast_texts;
  size_t fast_json = 0;
  jcm::ClusterBuckets::Previous prev{&fast_texts, &fast_nodes, &fast_specs};
  jcm::Status first = jcm::ClusterBuckets::DecodeBucket(
      rest, index, buckets, 1 << 20, &fast_nodes, &fast_specs, &fast_json, nullptr, &fast_texts);
  Check(first.ok() == s.ok(), "split path agrees on acceptance");
  if (first.ok()) {
    std::vector<jcm::Node> again_nodes;
    std::vector<std::string> again_specs, again_texts;
    Check(jcm::ClusterBuckets::DecodeBucket(rest, index, buckets, 1 << 20, &again_nodes,
                                            &again_specs, &fast_json, &prev, &again_texts)
              .ok(),
          "decodes again from its previous version");
    Check(again_specs == specs && fast_specs == specs, "split path agrees on the nodes");
  }
  if (!s.ok()) {
    CheckRefusal(s);
    return 0;
  }
  Check(nodes.size() == specs.size(), "a spec per node");
  for (size_t k = 0; k < nodes.size(); ++k) {
    Check(jcm::ClusterBuckets::BucketOf(specs[k], buckets) == index, "node in its bucket");
  }
  size_t json2 = 0;
  const std::string encoded = jcm::ClusterBuckets::EncodeBucket(nodes, &json2);
  std::vector<jcm::Node> nodes2;
  std::vector<std::string> specs2;
  Check(jcm::ClusterBuckets::DecodeBucket(
            encoded, index, buckets, jcm::limits::kMaxInflatedClusterBytes, &nodes2, &specs2, &json)
            .ok(),
        "re-encoded bucket decodes");
  Check(specs2 == specs, "bucket round trip is stable");
  for (size_t k = 0; k < nodes.size(); ++k) {
    Check(nodes2[k].SameDefinition(nodes[k]), "bucket round trip keeps definitions");
  }
  return 0;
}
