// Hostile bytes in a cluster znode: ClusterStore::Decode and ZlibDecompress
// answer every one with a Status, and a zlib bomb is refused at a size cap.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "model/limits.h"
#include "storage/bad_znode_log.h"
#include "storage/cluster_store.h"
#include "storage/compression.h"
#include "tests/support/zlib_bomb.h"

namespace jcm {
namespace {

using jcm::testing::ZlibBomb;

TEST(StoredClusterDecode, ZlibBombIsRefusedAtTheCap) {
  // 256 MiB of JSON in ~250 KB: what a znode can hold.
  std::string bomb = ZlibBomb(R"({"name":"a","pad":")", size_t{256} << 20);
  ASSERT_LT(bomb.size(), limits::kMaxZnodeBytes);
  Cluster c;
  auto start = std::chrono::steady_clock::now();
  Status s = ClusterStore::Decode(bomb, &c);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kTooLarge) << s.ToString();
  EXPECT_NE(s.message().find("inflates beyond " + std::to_string(limits::kMaxInflatedClusterBytes)),
            std::string::npos)
      << s.message();
  // Stopped at the cap (64 MiB), not after inflating all of it.
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(StoredClusterDecode, LargeCompressedDocumentStillDecodes) {
  Cluster c;
  c.name = "big";
  std::string bytes = ZlibBomb(R"({"name":"big","pad":")", 8u << 20);  // 8 MiB of padding
  Status s = ClusterStore::Decode(bytes, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.name, "big");
}

TEST(StoredClusterDecode, HostileBytesAreStatuses) {
  const std::string kInputs[] = {
      std::string(),
      std::string("\0\0\0\0", 4),
      "not json at all",
      std::string("\x78\x9c garbage", 10),  // a zlib header, then nonsense
      "{",
      R"({"name":"a","intervalMs":1e400})",
      R"({"name":"a","nodes":[{"ip":"10.0.0.1","protos":[{"port":-1e400}]}]})",
      "{\"name\":\"a\",\"nodes\":" + std::string(100000, '[') + std::string(100000, ']') + "}",
      R"({"name":7})",
      R"({"name":"a","nodes":"many"})",
      R"({"name":"a","okCodes":[4294967496]})",
  };
  for (const std::string& in : kInputs) {
    Cluster c;
    Status s = ClusterStore::Decode(in, &c);
    EXPECT_FALSE(s.ok()) << in.substr(0, 80);
  }
  // A zlib stream of hostile JSON is refused the same way.
  Cluster c;
  Status s = ClusterStore::Decode(ZlibCompress(R"({"name":"a","rise":1e400})"), &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("number out of range"), std::string::npos) << s.message();
}

TEST(ZlibDecompress, TruncatedAndCorruptStreamsAreRefused) {
  std::string good = ZlibCompress(std::string(100000, 'x'));
  Result<std::string> r = ZlibDecompress(good.substr(0, good.size() / 2), 1 << 20);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
  std::string corrupt = good;
  corrupt[good.size() / 2] ^= 0x55;
  corrupt[good.size() / 2 + 1] ^= 0x55;
  EXPECT_FALSE(ZlibDecompress(corrupt, 1 << 20).ok());
  Result<std::string> ok = ZlibDecompress(good, 100000);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), std::string(100000, 'x'));
}

TEST(BadZnodeLog, ReportsEachVersionOnceAndAgainAfterClear) {
  BadZnodeLog log;
  EXPECT_FALSE(log.Reported("/jcm/clusters/a", 10));
  EXPECT_TRUE(log.FirstReport("/jcm/clusters/a", 10));
  EXPECT_TRUE(log.Reported("/jcm/clusters/a", 10));
  EXPECT_FALSE(log.FirstReport("/jcm/clusters/a", 10));  // re-read, same version
  EXPECT_TRUE(log.FirstReport("/jcm/clusters/b", 10));   // another znode
  EXPECT_TRUE(log.FirstReport("/jcm/clusters/a", 11));   // a new bad version
  EXPECT_FALSE(log.FirstReport("/jcm/clusters/a", 11));
  EXPECT_FALSE(log.Reported("/jcm/clusters/a", 10));
  log.Clear("/jcm/clusters/a");
  EXPECT_FALSE(log.Reported("/jcm/clusters/a", 11));  // it read fine once
  EXPECT_TRUE(log.FirstReport("/jcm/clusters/a", 11));
  EXPECT_EQ(log.reported(), 4u);
}

}  // namespace
}  // namespace jcm
