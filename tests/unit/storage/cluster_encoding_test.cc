// The stored form of a cluster: plain JSON while small, zlib once large,
// refused before any write when it would not fit in a znode.
#include <gtest/gtest.h>

#include "model/limits.h"
#include "storage/cluster_store.h"
#include "storage/compression.h"

namespace jcm {
namespace {

Cluster ClusterOf(int nodes) {
  Cluster c;
  c.name = "big";
  for (int i = 0; i < nodes; ++i) {
    Node n;
    n.ip = "127." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) + "." +
           std::to_string(i & 255);
    n.protos.push_back({8080, Proto::kHttp});
    n.status = NodeStatus::kNormal;  // runtime state: never stored
    c.nodes.push_back(n);
  }
  c.version = 77;
  return c;
}

TEST(ClusterEncoding, SmallIsPlainJsonWithoutRuntimeState) {
  Result<std::string> bytes = ClusterStore::Encode(ClusterOf(3));
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  ASSERT_FALSE(bytes->empty());
  EXPECT_EQ(bytes.value()[0], '{');
  EXPECT_EQ(bytes->find("NORMAL"), std::string::npos);
  EXPECT_EQ(bytes->find("\"version\""), std::string::npos);
}

TEST(ClusterEncoding, LargeIsCompressedAndRoundTrips) {
  Cluster c = ClusterOf(20000);
  Result<std::string> bytes = ClusterStore::Encode(c);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_NE(bytes.value()[0], '{');
  EXPECT_LT(bytes->size(), limits::kMaxZnodeBytes);
  Cluster back;
  ASSERT_TRUE(ClusterStore::Decode(bytes.value(), &back).ok());
  ASSERT_EQ(back.nodes.size(), 20000u);
  EXPECT_EQ(back.nodes[12345].Spec(), c.nodes[12345].Spec());
  EXPECT_EQ(back.nodes[0].status, NodeStatus::kInvalid);
}

TEST(ClusterEncoding, TooLargeForAZnodeIsRefusedNamingTheSize) {
  Cluster c = ClusterOf(1);
  // Incompressible udata: ~2 MB of distinct bytes defeats zlib.
  for (int i = 0; i < 600; ++i) {
    Node n = c.nodes[0];
    n.protos[0].port = static_cast<uint16_t>(1000 + i);
    n.udata.resize(4000);
    uint32_t x = 2463534242u + i;
    for (char& ch : n.udata) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      ch = static_cast<char>('!' + x % 90);
    }
    c.nodes.push_back(n);
  }
  Result<std::string> bytes = ClusterStore::Encode(c);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), Status::Code::kTooLarge);
  EXPECT_NE(bytes.status().message().find("'big'"), std::string::npos);
}

TEST(ClusterEncoding, CorruptBytesAreAnErrorNotACrash) {
  Cluster out;
  EXPECT_FALSE(ClusterStore::Decode("\x78\x9c garbage", &out).ok());
  EXPECT_FALSE(ClusterStore::Decode("{\"name\":", &out).ok());
  std::string truncated = ZlibCompress(std::string(100000, 'a')).substr(0, 20);
  EXPECT_FALSE(ClusterStore::Decode(truncated, &out).ok());
}

TEST(Compression, RefusesOutputBeyondTheCap) {
  std::string bomb = ZlibCompress(std::string(1 << 20, '\0'));
  Result<std::string> r = ZlibDecompress(bomb, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTooLarge);
  Result<std::string> ok = ZlibDecompress(bomb, 2 << 20);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 1u << 20);
}

}  // namespace
}  // namespace jcm
