// CheckTargetPolicy: the built-in refusals, --check-allow / --check-deny
// parsing and matching, IPv4-mapped addresses, and the write-time check
// that refuses only new nodes.
#include "server/check_target_policy.h"

#include <gtest/gtest.h>

#include "server/cluster_registry.h"

namespace jcm {
namespace {

Node MakeNode(const std::string& ip, uint16_t port = 80) {
  Node n;
  n.ip = ip;
  n.protos = {{port, Proto::kHttp}};
  return n;
}

CheckTargetPolicy Make(std::string_view allow, std::string_view deny) {
  Result<CheckTargetPolicy> p = CheckTargetPolicy::Create(allow, deny);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : CheckTargetPolicy();
}

TEST(CheckTargetPolicyTest, BuiltInRefusalsAndWhatStaysAllowed) {
  CheckTargetPolicy p;
  EXPECT_EQ(p.Refusal("169.254.169.254"), "refused: link-local 169.254.0.0/16");
  EXPECT_EQ(p.Refusal("169.254.0.1"), "refused: link-local 169.254.0.0/16");
  EXPECT_EQ(p.Refusal("fe80::1"), "refused: link-local fe80::/10");
  EXPECT_EQ(p.Refusal("febf:ffff::1"), "refused: link-local fe80::/10");
  EXPECT_EQ(p.Refusal("0.0.0.0"), "refused: unspecified address 0.0.0.0");
  EXPECT_EQ(p.Refusal("::"), "refused: unspecified address ::");
  // The mapped form connects to the IPv4 address: judged as it.
  EXPECT_EQ(p.Refusal("::ffff:169.254.169.254"), "refused: link-local 169.254.0.0/16");
  EXPECT_EQ(p.Refusal("::ffff:0.0.0.0"), "refused: unspecified address 0.0.0.0");
  for (const char* ok : {"127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "169.253.255.255",
                         "169.255.0.0", "0.0.0.1", "fec0::1", "fe7f::1", "2001:db8::1"}) {
    EXPECT_EQ(p.Refusal(ok), "") << ok;
  }
  EXPECT_EQ(p.Refusal("not-an-ip"), "refused: not an IP address");
}

TEST(CheckTargetPolicyTest, DenyAddsAndAllowRestricts) {
  CheckTargetPolicy deny = Make("", "10.0.0.0/8, 2001:db8::/32,192.0.2.7");
  EXPECT_EQ(deny.Refusal("10.200.3.4"), "refused by --check-deny 10.0.0.0/8");
  EXPECT_EQ(deny.Refusal("2001:db8:1::5"), "refused by --check-deny 2001:db8::/32");
  EXPECT_EQ(deny.Refusal("192.0.2.7"), "refused by --check-deny 192.0.2.7");
  EXPECT_EQ(deny.Refusal("192.0.2.8"), "");
  EXPECT_EQ(deny.Refusal("11.0.0.1"), "");
  EXPECT_EQ(deny.Refusal("169.254.1.1"), "refused: link-local 169.254.0.0/16");

  CheckTargetPolicy allow = Make("127.0.0.0/8,10.1.0.0/16", "127.0.0.9/32");
  EXPECT_EQ(allow.Refusal("127.0.0.1"), "");
  EXPECT_EQ(allow.Refusal("10.1.255.255"), "");
  EXPECT_EQ(allow.Refusal("10.2.0.0"), "refused: outside --check-allow");
  EXPECT_EQ(allow.Refusal("::1"), "refused: outside --check-allow");
  // Deny wins inside an allowed network.
  EXPECT_EQ(allow.Refusal("127.0.0.9"), "refused by --check-deny 127.0.0.9/32");
  // An allowed network cannot lift a built-in refusal.
  CheckTargetPolicy wide = Make("0.0.0.0/0", "");
  EXPECT_EQ(wide.Refusal("169.254.169.254"), "refused: link-local 169.254.0.0/16");
  EXPECT_EQ(wide.Refusal("8.8.8.8"), "");
}

TEST(CheckTargetPolicyTest, PrefixBoundariesAndHostBits) {
  CheckTargetPolicy p = Make("", "10.1.2.3/23,2001:db8:ab::/47");  // host bits ignored
  EXPECT_NE(p.Refusal("10.1.2.0"), "");
  EXPECT_NE(p.Refusal("10.1.3.255"), "");
  EXPECT_EQ(p.Refusal("10.1.4.0"), "");
  EXPECT_EQ(p.Refusal("10.1.1.255"), "");
  EXPECT_NE(p.Refusal("2001:db8:ab::1"), "");
  // 2001:db8:ab::/47 is 2001:db8:aa::/47: aa and ab, not ac.
  EXPECT_NE(p.Refusal("2001:db8:ab:ffff::1"), "");
  EXPECT_NE(p.Refusal("2001:db8:aa::1"), "");
  EXPECT_EQ(p.Refusal("2001:db8:ac::1"), "");
  // ::ffff:10.0.0.0/104 is 10.0.0.0/8.
  CheckTargetPolicy mapped = Make("", "::ffff:10.0.0.0/104");
  EXPECT_NE(mapped.Refusal("10.9.9.9"), "");
  EXPECT_EQ(mapped.Refusal("11.0.0.0"), "");
}

TEST(CheckTargetPolicyTest, BadFlagValuesNameTheFlagAndTheEntry) {
  struct Case {
    const char* allow;
    const char* deny;
    const char* want;
  };
  for (const Case& c : {Case{"10.0.0.0/33", "", "--check-allow: '10.0.0.0/33'"},
                        Case{"", "10.0.0.0/8,bogus", "--check-deny: 'bogus'"},
                        Case{"", "10.0.0.0/", "--check-deny: '10.0.0.0/'"},
                        Case{"", "fe80::/129", "--check-deny: 'fe80::/129'"},
                        Case{"10.0.0.0/8,,11.0.0.0/8", "", "--check-allow: an empty entry"},
                        Case{"", "10.0.0.0/x", "--check-deny: '10.0.0.0/x'"},
                        Case{"", "::ffff:10.0.0.0/64", "--check-deny: '::ffff:10.0.0.0/64'"}}) {
    Result<CheckTargetPolicy> p = CheckTargetPolicy::Create(c.allow, c.deny);
    ASSERT_FALSE(p.ok()) << c.allow << " " << c.deny;
    EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.want), std::string::npos) << p.status().message();
  }
  EXPECT_TRUE(CheckTargetPolicy::Create(" 10.0.0.0/8 , ::1 ", "").ok());
}

TEST(CheckTargetPolicyTest, WritesRefuseOnlyNewNodesAndNameThem) {
  CheckTargetPolicy p = Make("", "10.0.0.0/8");
  std::vector<Node> nodes{MakeNode("127.0.0.1"), MakeNode("10.0.0.5", 8080),
                          MakeNode("169.254.169.254")};
  Status s = p.CheckNewNodes(nodes, "nodes", nullptr);
  ASSERT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "nodes[1] '10.0.0.5|HTTP:8080': not a health check target, refused by "
            "--check-deny 10.0.0.0/8");
  // Already stored: kept writable.
  auto stored = [](const Node& n) { return n.ip == "10.0.0.5"; };
  s = p.CheckNewNodes(nodes, "nodes", stored);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nodes[2] '169.254.169.254|HTTP:80'"), std::string::npos)
      << s.message();
  EXPECT_TRUE(p.CheckNewNodes({MakeNode("127.0.0.1")}, "nodes", nullptr).ok());
}

// Marked as jcm-server marks every definition it holds: by the registry,
// with the policy's MarkOf.
TEST(CheckTargetPolicyTest, MarkAndFilterForTheChecker) {
  CheckTargetPolicy p = Make("", "10.0.0.0/8");
  ClusterRegistry registry;
  registry.SetNodeMarker([&p](const Cluster& c, const Node& n) { return p.MarkOf(c, n); });
  Cluster def;
  def.name = "c";
  def.version = 1;
  def.nodes = {MakeNode("127.0.0.1"), MakeNode("10.0.0.5"), MakeNode("127.0.0.2")};
  ASSERT_TRUE(registry.ApplyDefinition(def, 0));
  std::shared_ptr<const Cluster> c = registry.Get("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->nodes[0].not_checked, "");
  EXPECT_EQ(c->nodes[1].not_checked, "refused by --check-deny 10.0.0.0/8");
  size_t refused = 0;
  std::shared_ptr<const Cluster> filtered = WithoutRefusedNodes(c, &refused);
  EXPECT_EQ(refused, 1u);
  ASSERT_EQ(filtered->nodes.size(), 2u);
  EXPECT_EQ(filtered->nodes[1].ip, "127.0.0.2");
  EXPECT_EQ(c->nodes.size(), 3u);  // the held cluster is untouched
  // Nothing refused: the same snapshot, no copy.
  auto clean = std::make_shared<Cluster>(*c);
  clean->nodes.RemoveSorted({1});
  EXPECT_EQ(WithoutRefusedNodes(clean, &refused).get(), clean.get());
  EXPECT_EQ(refused, 1u);
  // checkType NONE: never probed, nothing to mark.
  def.check_type = CheckType::kNone;
  def.version = 2;
  ASSERT_TRUE(registry.ApplyDefinition(def, 1));
  EXPECT_EQ(registry.Get("c")->nodes[1].not_checked, "");
}

}  // namespace
}  // namespace jcm
