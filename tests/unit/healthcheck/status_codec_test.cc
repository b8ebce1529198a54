#include "healthcheck/status_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "healthcheck/panic.h"
#include "tests/support/status_frame.h"

namespace jcm {
namespace {

StatusReport Sample(int nodes) {
  StatusReport r;
  r.cluster = "orders";
  r.owner = "jcm-0000000007";
  r.round = 12345;
  for (int i = 0; i < nodes; ++i) {
    NodeCheckState s;
    s.status = static_cast<NodeStatus>(i % 4);
    s.last_check_ms = 1'700'000'000'000 + i;
    r.nodes["10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "|HTTP:8080"] = s;
  }
  return r;
}

TEST(StatusCodec, RoundTrips) {
  for (int n : {0, 1, 5, 18000}) {
    StatusReport in = Sample(n);
    Result<std::string> bytes = EncodeStatusReport(in);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_EQ(bytes->substr(0, 4), "JCMS");
    Result<StatusReport> out = DecodeStatusReport(bytes.value());
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out.value(), in) << n;
  }
}

TEST(StatusCodec, LargeMapCompressesUnderTheZnodeLimit) {
  Result<std::string> bytes = EncodeStatusReport(Sample(18000));
  ASSERT_TRUE(bytes.ok());
  EXPECT_LT(bytes->size(), 300u * 1000);
}

TEST(StatusCodec, GarbageIsAnErrorNotACrash) {
  EXPECT_FALSE(DecodeStatusReport("").ok());
  EXPECT_FALSE(DecodeStatusReport("JCMS").ok());
  EXPECT_FALSE(DecodeStatusReport(std::string("JCMS\x02\0\0\0\x05xxxxx", 14)).ok());
  EXPECT_FALSE(DecodeStatusReport(std::string("JCMS\x01\xff\xff\xff\xff", 9)).ok());
  Result<std::string> good = EncodeStatusReport(Sample(10));
  ASSERT_TRUE(good.ok());
  std::string truncated = good->substr(0, good->size() - 5);
  Result<StatusReport> r = DecodeStatusReport(truncated);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string b = good.value();
    b[9 + rng() % (b.size() - 9)] ^= static_cast<char>(1 + rng() % 255);
    Result<StatusReport> d = DecodeStatusReport(b);
    // zlib's adler32 catches corruption; if a flip ever survives it the
    // result must still be a complete, valid report.
    if (d.ok()) {
      EXPECT_EQ(d->cluster, "orders");
    }
  }
}

TEST(StatusCodec, HostilePayloadsAreErrorsNamingTheProblem) {
  struct Case {
    std::string payload;
    const char* expect;
  };
  const Case kCases[] = {
      {"not json", "malformed JSON"},
      {R"({"cluster":"c","owner":"o","round":1e400,"nodes":{}})", "number out of range"},
      {std::string(100000, '[') + std::string(100000, ']'), "nested deeper than 64"},
      {R"({"cluster":"c","owner":"o","round":-1,"nodes":{}})", "unsigned 'round'"},
      {R"({"cluster":"c","owner":"o","round":1,"nodes":[]})", "object 'nodes'"},
      {R"({"cluster":"c","owner":"o","round":1,"nodes":{"x":["NORMAL",1e400]}})",
       "number out of range"},
      {R"({"cluster":"c","owner":"o","round":1,"nodes":{"x":["FINE",1]}})",
       "bad entry for node 'x'"},
      {R"({"cluster":"c","owner":"o","round":1,"nodes":{")" + std::string(5000, 'k') + R"(":[]}})",
       "(5000 characters)"},
  };
  for (const Case& c : kCases) {
    Result<StatusReport> r = DecodeStatusReport(jcm::testing::FrameStatusPayload(c.payload));
    ASSERT_FALSE(r.ok()) << c.payload.substr(0, 80);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
    EXPECT_LT(r.status().message().size(), 400u);
  }
}

TEST(Panic, FewerThanHalfNormalIsPanic) {
  Cluster c;
  for (int i = 0; i < 4; ++i) {
    Node n;
    n.ip = "10.0.0." + std::to_string(i);
    n.status = i < 2 ? NodeStatus::kNormal : NodeStatus::kTimeout;
    c.nodes.push_back(n);
  }
  EXPECT_FALSE(InPanic(c));  // 2 of 4 is not fewer than half
  c.nodes.Mutable(1).status = NodeStatus::kAbnormal;
  EXPECT_TRUE(InPanic(c));  // 1 of 4
  EXPECT_FALSE(InPanic(c, 0.25));
  EXPECT_FALSE(InPanic(c, 0));
  // Offline nodes do not count either way.
  c.nodes.Mutable(2).online = false;
  c.nodes.Mutable(3).online = false;
  EXPECT_FALSE(InPanic(c));  // 1 of 2 online
  c.nodes.Mutable(0).online = false;
  c.nodes.Mutable(1).online = false;
  EXPECT_FALSE(InPanic(c));  // no online node: nothing to fall back to
}

}  // namespace
}  // namespace jcm
