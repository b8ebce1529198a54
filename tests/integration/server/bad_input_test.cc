// Bad input: each case answered with a 4xx whose message names the field
// and the value, and nothing written (the cluster's version and nodes do
// not move on any instance). Sent to a follower and to the leader.
#include <gtest/gtest.h>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

struct BadCase {
  std::string what;
  std::string method;  // POST or DELETE
  std::string path;
  std::string body;
  int want_status;                  // exact status expected
  std::vector<std::string> naming;  // substrings the message must contain
};

nlohmann::json NodeWith(const nlohmann::json& ip, const nlohmann::json& port,
                        const nlohmann::json& proto = "HTTP") {
  return {{"ip", ip}, {"protos", {{{"port", port}, {"proto", proto}}}}, {"online", "ONLINE"}};
}

std::string Dump(const nlohmann::json& j) { return j.dump(); }

// "[a,b,...]" from already-encoded items (appends, rather than
// "literal" + string, which trips a GCC 12 -Wrestrict false positive).
std::string JsonList(const std::vector<std::string>& items) {
  std::string out(1, '[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(items[i]);
  }
  out.push_back(']');
  return out;
}

class BadInputTest : public JcmClusterTest {
 protected:
  BadInputTest() { options_.session_timeout_ms = 3000; }

  std::vector<BadCase> Cases() {
    const std::string good_node = Dump(NodeDoc("127.0.0.11", 9981));
    std::vector<BadCase> c;
    c.push_back({"malformed JSON", "POST", "/c/node/bad", "[{\"ip\": \"127.0.0.1\",", 400, {}});
    c.push_back(
        {"malformed cluster JSON", "POST", "/c", "{\"name\": \"bad\", \"nodes\": [", 400, {}});
    c.push_back({"nodes not a list",
                 "POST",
                 "/c",
                 Dump({{"name", "bad"},
                       {"online", "ONLINE"},
                       {"checkType", "NONE"},
                       {"nodes", "127.0.0.1"}}),
                 400,
                 {"nodes"}});
    c.push_back({"port is a string",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith("127.0.0.21", "80")})),
                 400,
                 {"port"}});
    c.push_back({"ip is a number",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith(12345, 80)})),
                 400,
                 {"ip"}});
    c.push_back({"body is an object, not a list",
                 "POST",
                 "/c/node/bad",
                 Dump(NodeWith("127.0.0.21", 80)),
                 400,
                 {}});
    c.push_back({"ip 300.1.1.1",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith("300.1.1.1", 80)})),
                 400,
                 {"ip", "300.1.1.1"}});
    c.push_back({"ip 1.2.3",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith("1.2.3", 80)})),
                 400,
                 {"ip", "1.2.3"}});
    c.push_back({"empty ip",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith("", 80)})),
                 400,
                 {"ip"}});
    c.push_back({"port 0",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith("127.0.0.21", 0)})),
                 400,
                 {"port", "0"}});
    c.push_back({"port 70000",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith("127.0.0.21", 70000)})),
                 400,
                 {"port", "70000"}});
    c.push_back({"unknown proto",
                 "POST",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({NodeWith("127.0.0.21", 80, "UDP")})),
                 400,
                 {"proto", "UDP"}});
    c.push_back({"duplicate spec in one list",
                 "POST",
                 "/c/node/bad",
                 JsonList({Dump(NodeDoc("127.0.0.21", 80)), Dump(NodeDoc("127.0.0.21", 80))}),
                 400,
                 {"127.0.0.21|HTTP:80"}});
    c.push_back({"duplicate spec in a cluster",
                 "POST",
                 "/c",
                 Dump(ClusterDoc("bad", nlohmann::json::array({NodeDoc("127.0.0.21", 80),
                                                               NodeDoc("127.0.0.21", 80)}))),
                 400,
                 {"127.0.0.21|HTTP:80"}});
    c.push_back({"name with a slash",
                 "POST",
                 "/c",
                 Dump(ClusterDoc("bad/evil", nlohmann::json::array({NodeDoc("127.0.0.21", 80)}))),
                 400,
                 {"name", "bad/evil"}});
    c.push_back({"name of 300 characters",
                 "POST",
                 "/c",
                 Dump(ClusterDoc(std::string(300, 'n'),
                                 nlohmann::json::array({NodeDoc("127.0.0.21", 80)}))),
                 400,
                 {"name"}});
    c.push_back({"empty node list", "POST", "/c/node/bad", "[]", 400, {"nodes"}});
    c.push_back({"removal of a spec that does not exist",
                 "DELETE",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({"127.0.0.99|HTTP:81"})),
                 404,
                 {"127.0.0.99|HTTP:81"}});
    c.push_back({"removal list with a bad spec",
                 "DELETE",
                 "/c/node/bad",
                 Dump(nlohmann::json::array({"300.1.1.1|HTTP:80"})),
                 400,
                 {"300.1.1.1"}});
    c.push_back({"node online with a bad flag",
                 "POST",
                 "/c/node/online/bad",
                 Dump({{"spec", "127.0.0.11|HTTP:9981"}, {"online", "maybe"}}),
                 400,
                 {"online"}});
    c.push_back({"cluster online not a boolean", "POST", "/c/online/bad", "sometimes", 400, {}});
    // 10 MB: over the request body limit.
    std::vector<std::string> many;
    size_t total = 0;
    while (total < 10 * 1024 * 1024) {
      many.push_back(good_node);
      total += good_node.size() + 1;
    }
    std::string ten_mb = JsonList(many);
    c.push_back({"10 MB body", "POST", "/c/node/bad", ten_mb, 413, {"body"}});
    return c;
  }
};

TEST_F(BadInputTest, EachBadInputIs4xxNamingFieldAndValueAndWritesNothing) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  int f = cluster_->AFollower(leader);
  HttpReply created =
      HttpPostJson(cluster_->address(leader), "/c",
                   ClusterDoc("bad", nlohmann::json::array({NodeDoc("127.0.0.11", 9981)})));
  ASSERT_EQ(created.status, 200) << created.Describe();
  long long v = created.data().value("version", -1LL);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        WaitUntil([&] { return cluster_->ClusterVersion(i, "bad") == v; }, milliseconds(5000)));
  }
  const std::vector<std::string> specs_before = SpecsOf(*cluster_->GetCluster(leader, "bad"));

  for (const BadCase& bc : Cases()) {
    for (int target : {f, leader}) {
      SCOPED_TRACE(bc.what + " via " + (target == leader ? "leader " : "follower ") +
                   cluster_->address(target));
      const std::string a = cluster_->address(target);
      HttpReply r = bc.method == "DELETE" ? HttpDelete(a, bc.path, bc.body, milliseconds(20000))
                                          : HttpPost(a, bc.path, bc.body, milliseconds(20000));
      EXPECT_EQ(r.status, bc.want_status) << r.Describe();
      EXPECT_EQ(r.code(), -1) << r.Describe();
      EXPECT_FALSE(r.msg().empty()) << r.Describe();
      for (const std::string& word : bc.naming) {
        EXPECT_NE(r.msg().find(word), std::string::npos)
            << "message does not name '" << word << "': " << r.msg();
      }
    }
  }
  // Nothing was written: same version and nodes everywhere, no new cluster.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cluster_->ClusterVersion(i, "bad"), v) << cluster_->address(i);
    EXPECT_EQ(SpecsOf(*cluster_->GetCluster(i, "bad")), specs_before);
    HttpReply list = HttpGet(cluster_->address(i), "/c/list");
    EXPECT_EQ(list.body.find("evil"), std::string::npos) << list.Describe();
    EXPECT_EQ(list.body.find("nnnnnnnnnn"), std::string::npos);
  }
}

TEST_F(BadInputTest, UnknownRoutesAndMissingClustersAre404) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  const std::string a = cluster_->address(cluster_->AFollower(leader));
  HttpReply r = HttpGet(a, "/no/such/route");
  EXPECT_EQ(r.status, 404);
  HttpReply m =
      HttpPostJson(a, "/c/node/missing", nlohmann::json::array({NodeDoc("127.0.0.11", 9981)}));
  EXPECT_EQ(m.status, 404) << m.Describe();
  EXPECT_NE(m.msg().find("missing"), std::string::npos) << m.msg();
}

}  // namespace
}  // namespace jcm::testing
