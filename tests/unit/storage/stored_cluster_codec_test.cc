// StoredClusterCodec: the direct encoder writes exactly what the DOM encoder
// wrote, and the fragment-cached decoder decodes exactly what DecodeCluster
// decodes (same cluster, same error), parsing only nodes whose text changed.
#include "storage/stored_cluster_codec.h"

#include <gtest/gtest.h>

#include "model/cluster_codec.h"

namespace jcm {
namespace {

Node NodeAt(int i) {
  Node n;
  n.ip = "10.0." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
  n.protos.push_back({static_cast<uint16_t>(8000 + i % 100), Proto::kHttp});
  if (i % 3 == 0) n.protos.push_back({static_cast<uint16_t>(9000 + i % 50), Proto::kTcp});
  if (i % 5 == 0) n.udata = "zone=\"a\"\\b\n\xc3\xa9";  // needs escaping, non-ASCII
  if (i % 13 == 0) n.udata = "ends in a backslash \\";  // "...\\" then the quote
  if (i % 7 == 0) n.online = false;
  if (i % 11 == 0) n.weight = 7;
  n.status = NodeStatus::kNormal;  // runtime state: never encoded
  return n;
}

Cluster ClusterOf(int nodes) {
  Cluster c;
  c.name = "svc.a-1";
  c.check_type = CheckType::kTcp;
  c.check_file = "/x\"y";
  c.check.interval_ms = 2000;
  c.check.ok_codes = {200, 204};
  for (int i = 0; i < nodes; ++i) c.nodes.push_back(NodeAt(i));
  return c;
}

void ExpectSameCluster(const Cluster& a, const Cluster& b) {
  EXPECT_EQ(EncodeCluster(a, ClusterJsonForm::kFull), EncodeCluster(b, ClusterJsonForm::kFull));
}

TEST(StoredClusterCodec, EncodesByteForByteAsTheDomEncoder) {
  for (int n : {0, 1, 2, 50}) {
    Cluster c = ClusterOf(n);
    EXPECT_EQ(StoredClusterCodec::Encode(c), EncodeCluster(c, ClusterJsonForm::kStored).dump())
        << n << " nodes";
  }
}

TEST(StoredClusterCodec, DecodesAsDecodeClusterAndReusesUnchangedNodes) {
  Cluster c = ClusterOf(200);
  StoredClusterCodec::FragmentCache cache;
  Cluster first;
  ASSERT_TRUE(StoredClusterCodec::Decode(StoredClusterCodec::Encode(c), &cache, &first).ok());
  Cluster reference;
  ASSERT_TRUE(StoredClusterCodec::DecodeSlow(StoredClusterCodec::Encode(c), &reference).ok());
  ExpectSameCluster(first, reference);
  EXPECT_EQ(cache.size(), 200u);

  // The next version: one node changed, one removed, one added.
  c.nodes.Mutable(10).weight = 55;
  c.nodes.RemoveSorted({20});
  c.nodes.push_back(NodeAt(5000));
  Cluster second;
  ASSERT_TRUE(StoredClusterCodec::Decode(StoredClusterCodec::Encode(c), &cache, &second).ok());
  ASSERT_TRUE(StoredClusterCodec::DecodeSlow(StoredClusterCodec::Encode(c), &reference).ok());
  ExpectSameCluster(second, reference);
  EXPECT_EQ(second.nodes[10].weight, 55);
  EXPECT_EQ(cache.size(), 200u);  // this version's nodes only
}

TEST(StoredClusterCodec, ReadsTextItDidNotWrite) {
  // Whitespace, another key order, "nodes" first, unknown fields holding
  // brackets and a "nodes" key of their own (nested: not the cluster's).
  const std::string text =
      R"( { "nodes" : [ { "udata":"[{,}]", "protos":[{"proto":"HTTP","port":80}],
      "ip":"10.0.0.1" } ,{"ip":"10.0.0.2","protos":[{"port":81,"proto":"HTTP"}]} ] ,
      "extra": {"nodes": [1, 2]}, "name" : "c", "checkType":"NONE" } )";
  StoredClusterCodec::FragmentCache cache;
  Cluster fast, slow;
  ASSERT_TRUE(StoredClusterCodec::Decode(text, &cache, &fast).ok());
  ASSERT_TRUE(StoredClusterCodec::DecodeSlow(text, &slow).ok());
  ExpectSameCluster(fast, slow);
  ASSERT_EQ(fast.nodes.size(), 2u);
  EXPECT_EQ(fast.nodes[0].udata, "[{,}]");
  EXPECT_EQ(cache.size(), 2u);
}

TEST(StoredClusterCodec, RefusesWhatDecodeClusterRefusesWithItsMessage) {
  const std::string good = R"({"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"}]})";
  const std::string bad_cases[] = {
      // A node that does not decode.
      R"({"name":"c","nodes":[)" + good +
          R"(,{"ip":"nope","protos":[{"port":80,"proto":"HTTP"}]}]})",
      // The same spec twice.
      R"({"name":"c","nodes":[)" + good + "," + good + "]}",
      // A trailing comma, an empty element, a missing comma.
      R"({"name":"c","nodes":[)" + good + ",]}",
      R"({"name":"c","nodes":[,)" + good + "]}",
      R"({"name":"c","nodes":[)" + good + good + "]}",
      // "nodes" not an array; twice; a bad cluster field; not JSON at all.
      R"({"name":"c","nodes":{"a":1}})",
      R"({"name":"c","nodes":[],"nodes":[)" + good + "]}",
      R"({"name":"c","checkType":"PING","nodes":[)" + good + "]}",
      R"({"name":"c","nodes":[)" + good + "]",
      "[]",
  };
  for (const std::string& text : bad_cases) {
    // A cache that knows the good node must not change the answer.
    StoredClusterCodec::FragmentCache cache;
    Cluster warm;
    ASSERT_TRUE(
        StoredClusterCodec::Decode(R"({"name":"c","nodes":[)" + good + "]}", &cache, &warm).ok());
    Cluster fast, slow;
    Status f = StoredClusterCodec::Decode(text, &cache, &fast);
    Status s = StoredClusterCodec::DecodeSlow(text, &slow);
    if (text.find(R"("nodes":[],"nodes")") != std::string::npos) {
      // Duplicate keys: both take nlohmann's reading, whatever it is.
      EXPECT_EQ(f.ToString(), s.ToString()) << text;
      continue;
    }
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_EQ(f.ToString(), s.ToString()) << text;
    EXPECT_EQ(cache.size(), 0u) << "a failed decode empties the cache: " << text;
    // ... and the next decode is right again.
    ASSERT_TRUE(
        StoredClusterCodec::Decode(R"({"name":"c","nodes":[)" + good + "]}", &cache, &warm).ok());
    EXPECT_EQ(cache.size(), 1u);
  }
}

TEST(StoredClusterCodec, LargeClusterRoundTrips) {
  Cluster c = ClusterOf(20000);
  StoredClusterCodec::FragmentCache cache;
  Cluster out;
  ASSERT_TRUE(StoredClusterCodec::Decode(StoredClusterCodec::Encode(c), &cache, &out).ok());
  ASSERT_EQ(out.nodes.size(), 20000u);
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    ASSERT_TRUE(out.nodes[i].SameDefinition(c.nodes[i])) << i;
  }
}

}  // namespace
}  // namespace jcm
