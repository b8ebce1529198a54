// Writes through a follower: every mutating route is forwarded to the
// leader, answered with the leader's reply, readable at once on the same
// follower, and seen with the same version by every instance.
#include <gtest/gtest.h>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

bool IsOn(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  return v.is_string() && v.get<std::string>() == "ONLINE";
}

const nlohmann::json* FindNode(const nlohmann::json& cluster, const std::string& ip) {
  for (const auto& n : cluster["nodes"]) {
    if (n.value("ip", "") == ip) return &n;
  }
  return nullptr;
}

class FollowerWritesTest : public JcmClusterTest {
 protected:
  // Every instance reports `name` at exactly `version` within a short bound.
  void ExpectEverywhere(const std::string& name, long long version) {
    for (int i = 0; i < cluster_->size(); ++i) {
      long long seen = -1;
      EXPECT_TRUE(WaitUntil(
          [&] {
            seen = cluster_->ClusterVersion(i, name);
            return seen == version;
          },
          milliseconds(5000)))
          << "instance " << cluster_->address(i) << " has " << name << " at " << seen << ", want "
          << version;
    }
  }

  // A successful write reply: 200, code 0, data {name, version} with a
  // version newer than `before`. Returns the version.
  long long ExpectWriteOk(const HttpReply& r, const std::string& name, long long before) {
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.code(), 0) << r.Describe();
    EXPECT_EQ(r.data().value("name", ""), name) << r.Describe();
    long long v = r.data().value("version", -1LL);
    EXPECT_GT(v, before) << r.Describe();
    return v;
  }
};

TEST_F(FollowerWritesTest, CreateThroughFollowerAllInstancesReturnItWithTheSameVersion) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  int f = cluster_->AFollower(leader);
  nlohmann::json nodes =
      nlohmann::json::array({NodeDoc("127.0.0.11", 9981, 9982), NodeDoc("127.0.0.12", 9981)});
  HttpReply r = HttpPostJson(cluster_->address(f), "/c", ClusterDoc("svc-a", nodes));
  long long v = ExpectWriteOk(r, "svc-a", 0);

  // Read-your-writes on the follower that took the write: no waiting.
  EXPECT_EQ(cluster_->ClusterVersion(f, "svc-a"), v);
  ExpectEverywhere("svc-a", v);
  for (int i = 0; i < cluster_->size(); ++i) {
    auto c = cluster_->GetCluster(i, "svc-a");
    ASSERT_TRUE(c.has_value()) << cluster_->address(i);
    EXPECT_EQ(SpecsOf(*c), (std::vector<std::string>{NodeSpec("127.0.0.11", 9981, 9982),
                                                     NodeSpec("127.0.0.12", 9981)}));
    EXPECT_EQ((*c)["checkType"], "NONE");
  }
  HttpReply list = HttpGet(cluster_->address(f), "/c/list");
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("svc-a"), std::string::npos) << list.Describe();
}

TEST_F(FollowerWritesTest, EveryMutationWorksThroughAFollower) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  int f = cluster_->AFollower(leader);
  const std::string a = cluster_->address(f);

  long long v = ExpectWriteOk(
      HttpPostJson(a, "/c",
                   ClusterDoc("svc-b", nlohmann::json::array({NodeDoc("127.0.0.11", 9981)}))),
      "svc-b", 0);
  ExpectEverywhere("svc-b", v);

  // Cluster online switch.
  v = ExpectWriteOk(HttpPost(a, "/c/online/svc-b", "false"), "svc-b", v);
  ASSERT_EQ(cluster_->ClusterVersion(f, "svc-b"), v);
  EXPECT_FALSE(IsOn((*cluster_->GetCluster(f, "svc-b"))["online"]));
  ExpectEverywhere("svc-b", v);
  v = ExpectWriteOk(HttpPost(a, "/c/online/svc-b", "true"), "svc-b", v);
  EXPECT_TRUE(IsOn((*cluster_->GetCluster(f, "svc-b"))["online"]));

  // Add nodes.
  v = ExpectWriteOk(HttpPostJson(a, "/c/node/svc-b",
                                 nlohmann::json::array({NodeDoc("127.0.0.12", 9981),
                                                        NodeDoc("127.0.0.13", 9981, 9982)})),
                    "svc-b", v);
  EXPECT_EQ(SpecsOf(*cluster_->GetCluster(f, "svc-b")).size(), 3u);
  ExpectEverywhere("svc-b", v);

  // Node online switch: off also makes its status INVALID.
  v = ExpectWriteOk(HttpPostJson(a, "/c/node/online/svc-b",
                                 {{"spec", NodeSpec("127.0.0.12", 9981)}, {"online", false}}),
                    "svc-b", v);
  {
    auto c = cluster_->GetCluster(f, "svc-b");
    const nlohmann::json* n = FindNode(*c, "127.0.0.12");
    ASSERT_NE(n, nullptr);
    EXPECT_FALSE(IsOn((*n)["online"])) << n->dump();
    EXPECT_EQ(n->value("status", ""), "INVALID") << n->dump();
  }
  ExpectEverywhere("svc-b", v);

  // Remove nodes.
  v = ExpectWriteOk(HttpDelete(a, "/c/node/svc-b",
                               nlohmann::json::array({NodeSpec("127.0.0.13", 9981, 9982)}).dump()),
                    "svc-b", v);
  EXPECT_EQ(SpecsOf(*cluster_->GetCluster(f, "svc-b")),
            (std::vector<std::string>{NodeSpec("127.0.0.11", 9981), NodeSpec("127.0.0.12", 9981)}));
  ExpectEverywhere("svc-b", v);

  // Replace the whole definition.
  v = ExpectWriteOk(
      HttpPostJson(a, "/c",
                   ClusterDoc("svc-b", nlohmann::json::array({NodeDoc("127.0.0.14", 9981)}))),
      "svc-b", v);
  EXPECT_EQ(SpecsOf(*cluster_->GetCluster(f, "svc-b")),
            (std::vector<std::string>{NodeSpec("127.0.0.14", 9981)}));
  ExpectEverywhere("svc-b", v);

  // DELETE /c/{name}: JCM did not forward this one.
  HttpReply del = HttpDelete(a, "/c/svc-b");
  ASSERT_EQ(del.status, 200) << del.Describe();
  EXPECT_EQ(del.code(), 0);
  EXPECT_EQ(del.data().value("name", ""), "svc-b");
  EXPECT_EQ(del.data().value("deleted", false), true) << del.Describe();
  EXPECT_EQ(HttpGet(a, "/c/svc-b").status, 404);  // read-your-writes
  for (int i = 0; i < cluster_->size(); ++i) {
    EXPECT_TRUE(WaitUntil([&] { return HttpGet(cluster_->address(i), "/c/svc-b").status == 404; },
                          milliseconds(5000)))
        << cluster_->address(i) << " still has svc-b";
  }
  // Deleting what is gone is a 404, through the follower as well.
  EXPECT_EQ(HttpDelete(a, "/c/svc-b").status, 404);

  // The name can be used again, and the new version is newer than any before.
  long long v2 = ExpectWriteOk(
      HttpPostJson(a, "/c",
                   ClusterDoc("svc-b", nlohmann::json::array({NodeDoc("127.0.0.15", 9981)}))),
      "svc-b", v);
  ExpectEverywhere("svc-b", v2);
}

TEST_F(FollowerWritesTest, MutationsOfAMissingClusterAre404ThroughAFollower) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  const std::string a = cluster_->address(cluster_->AFollower(leader));
  EXPECT_EQ(
      HttpPostJson(a, "/c/node/nope", nlohmann::json::array({NodeDoc("127.0.0.11", 9981)})).status,
      404);
  EXPECT_EQ(HttpPost(a, "/c/online/nope", "true").status, 404);
  EXPECT_EQ(HttpDelete(a, "/c/nope").status, 404);
  EXPECT_EQ(HttpGet(a, "/c/nope").status, 404);
}

}  // namespace
}  // namespace jcm::testing
