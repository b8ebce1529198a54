#include "model/validation.h"

#include <gtest/gtest.h>

#include <string>

namespace jcm {
namespace {

TEST(ValidateClusterName, AcceptsJcmNames) {
  EXPECT_TRUE(ValidateClusterName("sudoku_solver").ok());
  EXPECT_TRUE(ValidateClusterName("a.b-c_D9").ok());
  EXPECT_TRUE(ValidateClusterName(std::string(128, 'x')).ok());
}

TEST(ValidateClusterName, RefusesBadNamesNamingTheValue) {
  Status s = ValidateClusterName("a/b");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("name"), std::string::npos);
  EXPECT_NE(s.message().find("'a/b'"), std::string::npos);
  EXPECT_FALSE(ValidateClusterName("").ok());
  EXPECT_FALSE(ValidateClusterName(std::string(129, 'x')).ok());
  EXPECT_FALSE(ValidateClusterName(".").ok());
  EXPECT_FALSE(ValidateClusterName("..").ok());
  EXPECT_FALSE(ValidateClusterName("a b").ok());
}

TEST(IsIpLiteral, AcceptsV4AndV6Only) {
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_TRUE(IsIpLiteral("fe80::1:2"));
  EXPECT_FALSE(IsIpLiteral("300.1.1.1"));
  EXPECT_FALSE(IsIpLiteral("1.2.3"));
  EXPECT_FALSE(IsIpLiteral(""));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("1.2.3.4 "));
}

Node MakeNode(const std::string& ip, uint16_t http_port) {
  Node n;
  n.ip = ip;
  n.protos.push_back({http_port, Proto::kHttp});
  return n;
}

TEST(ValidateNodes, RefusesDuplicateSpecs) {
  std::vector<Node> nodes = {MakeNode("10.0.0.1", 80), MakeNode("10.0.0.1", 80)};
  Status s = ValidateNodes(nodes, "nodes");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nodes[1]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("10.0.0.1|HTTP:80"), std::string::npos) << s.message();
}

TEST(ValidateNode, RefusesWeightOutOfRange) {
  Node n = MakeNode("10.0.0.1", 80);
  n.weight = 0;
  Status s = ValidateNode(n, "nodes[0]");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nodes[0].weight: 0"), std::string::npos) << s.message();
  n.weight = 10001;
  EXPECT_FALSE(ValidateNode(n, "n").ok());
  n.weight = 10000;
  EXPECT_TRUE(ValidateNode(n, "n").ok());
}

TEST(ValidateNode, RefusesTwoPortsForOneProto) {
  Node n = MakeNode("10.0.0.1", 80);
  n.protos.push_back({81, Proto::kHttp});
  Status s = ValidateNode(n, "nodes[0]");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nodes[0].protos[1].proto"), std::string::npos) << s.message();
}

TEST(CanonicalSpec, OrdersProtosAndRejectsGarbage) {
  std::string out;
  ASSERT_TRUE(CanonicalSpec("1.2.3.4|TCP:2|HTTP:1", &out));
  EXPECT_EQ(out, "1.2.3.4|HTTP:1|TCP:2");
  ASSERT_TRUE(CanonicalSpec("::1|HTTP:80", &out));
  EXPECT_EQ(out, "::1|HTTP:80");
  EXPECT_FALSE(CanonicalSpec("1.2.3.4", &out));
  EXPECT_FALSE(CanonicalSpec("1.2.3.4|HTTP:0", &out));
  EXPECT_FALSE(CanonicalSpec("1.2.3.4|HTTP:70000", &out));
  EXPECT_FALSE(CanonicalSpec("1.2.3.4|UDP:53", &out));
  EXPECT_FALSE(CanonicalSpec("1.2.3.4|HTTP:1|HTTP:2", &out));
  EXPECT_FALSE(CanonicalSpec("1.2.3.4|HTTP:1|", &out));
}

}  // namespace
}  // namespace jcm
