// A /sub request in JCM's exact form against a real jcm-server, and its reply
// checked field by field: JCM's Java subscriber maps the reply with a mapper
// that fails on any field it does not know, so each object may carry only
// the fields of JCM's model. Plain HTTP, no subscriber library.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "tests/integration/subscriber/sub_fixture.h"
#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;
using Keys = std::set<std::string>;

Keys KeysOf(const nlohmann::json& object) {
  Keys keys;
  for (auto it = object.begin(); it != object.end(); ++it) keys.insert(it.key());
  return keys;
}

bool IsSubset(const Keys& keys, const Keys& allowed) {
  return std::includes(allowed.begin(), allowed.end(), keys.begin(), keys.end());
}

// Run twice: with every route open, and with a write token configured (the
// test's own writes then carry it; /sub and reads go without, as JCM's
// client sends none).
class SubJcmWireTest : public SubscriberClusterTest, public ::testing::WithParamInterface<bool> {
 protected:
  SubJcmWireTest() : SubscriberClusterTest(44) {
    if (GetParam()) {
      options_.write_token = "wire-test-write-token-0001";
      SetTestWriteToken(options_.write_token);
    }
  }
  ~SubJcmWireTest() override { SetTestWriteToken(""); }
};

INSTANTIATE_TEST_SUITE_P(Tokens, SubJcmWireTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "WithWriteToken" : "Open";
                         });

TEST_P(SubJcmWireTest, JcmFormRequestGetsOnlyJcmFields) {
  const std::string name = "wire-c";
  // Three real targets: 0 stays up, 1 is switched OFFLINE by the operator,
  // 2 is stopped and goes ABNORMAL/TIMEOUT. udata on node 0.
  std::vector<int> idx = CreateCheckedCluster(name, 3, /*via=*/1);
  ASSERT_FALSE(HasFailure());
  auto spec = [&](int i) { return NodeSpec(target(i).host(), target(i).port()); };
  nlohmann::json with_udata = NodeDoc(target(idx[0]).host(), target(idx[0]).port());
  with_udata["udata"] = "rack=a;zone=1";
  HttpReply r =
      HttpPostJson(cluster_->address(2), "/c/node/" + name, nlohmann::json::array({with_udata}));
  ASSERT_EQ(r.status, 200) << r.Describe();
  r = HttpPostJson(cluster_->address(0), "/c/node/online/" + name,
                   {{"spec", spec(idx[1])}, {"online", false}});
  ASSERT_EQ(r.status, 200) << r.Describe();
  StopTarget(idx[2]);
  const std::string down_ip = target(idx[2]).host();
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::string s = ServerNodeStatus(0, name, down_ip);
        std::string up = ServerNodeStatus(0, name, target(idx[0]).host());
        return (s == "ABNORMAL" || s == "TIMEOUT") && up == "NORMAL";
      },
      milliseconds(10000)))
      << "node " << down_ip << " is " << ServerNodeStatus(0, name, down_ip);
  std::optional<nlohmann::json> full = cluster_->GetCluster(0, name);
  ASSERT_TRUE(full.has_value());
  const long long version = full->value("version", 0LL);
  ASSERT_GT(version, 0);

  // --- Request 1: version 0 for a known cluster, and an unknown one.
  nlohmann::json request = {
      {"tag", "jcm-java-subscriber 1.0"},
      {"units", {{{"name", name}, {"version", 0}}, {{"name", "wire-missing"}, {"version", 0}}}}};
  HttpReply reply = HttpPostJson(cluster_->address(0), "/sub", request);
  ASSERT_EQ(reply.status, 200) << reply.Describe();
  const nlohmann::json& body = reply.json;
  ASSERT_TRUE(body.is_object()) << reply.body;
  EXPECT_EQ(KeysOf(body), Keys({"units"})) << "bare reply, no envelope: " << reply.body;
  ASSERT_TRUE(body["units"].is_array());
  ASSERT_EQ(body["units"].size(), 2u) << reply.body;

  const nlohmann::json& update = body["units"][0];
  EXPECT_EQ(KeysOf(update), Keys({"name", "kind", "cluster"})) << update.dump();
  EXPECT_EQ(update.value("name", ""), name);
  EXPECT_EQ(update.value("kind", ""), "RESP_UPDATE");
  const nlohmann::json& c = update["cluster"];
  EXPECT_EQ(KeysOf(c), Keys({"name", "online", "nodes", "checkFile", "checkType", "version"}))
      << c.dump();
  EXPECT_EQ(c.value("name", ""), name);
  EXPECT_EQ(c.value("online", ""), "ONLINE");
  EXPECT_EQ(c.value("checkType", ""), "HTTP");
  EXPECT_EQ(c.value("checkFile", ""), "/health");
  ASSERT_TRUE(c["version"].is_number_integer()) << c.dump();
  EXPECT_EQ(c["version"].get<long long>(), version);
  ASSERT_TRUE(c["nodes"].is_array());
  ASSERT_EQ(c["nodes"].size(), 3u);
  const Keys node_fields = {"ip", "protos", "udata", "status", "online", "lastCheck"};
  std::set<std::string> ips;
  for (const nlohmann::json& n : c["nodes"]) {
    SCOPED_TRACE(n.dump());
    EXPECT_TRUE(IsSubset(KeysOf(n), node_fields)) << "a node field JCM does not know";
    for (const char* required : {"ip", "protos", "status", "online"}) {
      EXPECT_TRUE(n.contains(required)) << required;
    }
    const std::string ip = n.value("ip", "");
    ips.insert(ip);
    int i = -1;
    for (int k : idx) {
      if (target(k).host() == ip) i = k;
    }
    ASSERT_GE(i, 0) << "unknown ip";
    ASSERT_TRUE(n["protos"].is_array());
    ASSERT_EQ(n["protos"].size(), 1u);
    EXPECT_EQ(KeysOf(n["protos"][0]), Keys({"port", "proto"}));
    EXPECT_EQ(n["protos"][0].value("port", 0), target(i).port());
    EXPECT_EQ(n["protos"][0].value("proto", ""), "HTTP");
    if (n.contains("lastCheck")) {
      EXPECT_TRUE(n["lastCheck"].is_number_integer());
    }
    if (n.contains("udata")) {
      EXPECT_TRUE(n["udata"].is_string());
    }
    if (i == idx[0]) {
      EXPECT_EQ(n.value("udata", ""), "rack=a;zone=1");
      EXPECT_EQ(n.value("online", ""), "ONLINE");
      EXPECT_EQ(n.value("status", ""), "NORMAL");
    } else if (i == idx[1]) {
      EXPECT_EQ(n.value("online", ""), "OFFLINE");
      EXPECT_EQ(n.value("status", ""), "INVALID") << "going offline sets INVALID";
    } else {
      EXPECT_EQ(n.value("online", ""), "ONLINE");
      const std::string s = n.value("status", "");
      EXPECT_TRUE(s == "ABNORMAL" || s == "TIMEOUT") << s;
    }
  }
  EXPECT_EQ(ips.size(), 3u);

  const nlohmann::json& remove = body["units"][1];
  EXPECT_EQ(KeysOf(remove), Keys({"name", "kind"})) << remove.dump();
  EXPECT_EQ(remove.value("name", ""), "wire-missing");
  EXPECT_EQ(remove.value("kind", ""), "RESP_REMOVE");

  // --- Request 2: the current version, on another instance: RESP_STATUS
  // with the unusable specs (offline and down), nothing else.
  request = {{"tag", "jcm-java-subscriber 1.0"},
             {"units", {{{"name", name}, {"version", version}}}}};
  reply = HttpPostJson(cluster_->address(2), "/sub", request);
  ASSERT_EQ(reply.status, 200) << reply.Describe();
  ASSERT_TRUE(reply.json.is_object()) << reply.body;
  EXPECT_EQ(KeysOf(reply.json), Keys({"units"}));
  ASSERT_EQ(reply.json["units"].size(), 1u) << reply.body;
  const nlohmann::json& status = reply.json["units"][0];
  EXPECT_EQ(KeysOf(status), Keys({"name", "kind", "invalids"})) << status.dump();
  EXPECT_EQ(status.value("name", ""), name);
  EXPECT_EQ(status.value("kind", ""), "RESP_STATUS");
  ASSERT_TRUE(status["invalids"].is_array());
  std::set<std::string> invalids;
  for (const auto& s : status["invalids"]) {
    ASSERT_TRUE(s.is_string());
    invalids.insert(s.get<std::string>());
  }
  EXPECT_EQ(invalids, std::set<std::string>({spec(idx[1]), spec(idx[2])})) << status.dump();

  // --- Request 3: the cluster switched OFFLINE is RESP_REMOVE for JCM too.
  r = HttpPost(cluster_->address(1), "/c/online/" + name, "false");
  ASSERT_EQ(r.status, 200) << r.Describe();
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::optional<nlohmann::json> now = cluster_->GetCluster(0, name);
        return now && now->value("online", "") == "OFFLINE";
      },
      milliseconds(3000)));
  reply = HttpPostJson(cluster_->address(0), "/sub", request);
  ASSERT_EQ(reply.status, 200) << reply.Describe();
  ASSERT_EQ(reply.json["units"].size(), 1u) << reply.body;
  EXPECT_EQ(KeysOf(reply.json["units"][0]), Keys({"name", "kind"})) << reply.body;
  EXPECT_EQ(reply.json["units"][0].value("kind", ""), "RESP_REMOVE");
}

}  // namespace
}  // namespace jcm::testing
