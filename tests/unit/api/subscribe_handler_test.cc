// POST /sub through a real ApiServer: JCM's form field by field (JCM's
// mapper rejects unknown fields), the extended form's every unit kind, long
// polls driven by the fake's change counter, and the parking bound.
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "api/metrics_api.h"
#include "api/subscribe_handler.h"
#include "model/cluster_codec.h"
#include "model/cluster_delta.h"
#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

using nlohmann::json;
using Keys = std::set<std::string>;

Keys KeysOf(const json& obj) {
  Keys keys;
  for (auto& [key, value] : obj.items()) keys.insert(key);
  return keys;
}

// "web": version 5, status version 9, panic; node 1 usable, node 2 ABNORMAL,
// node 3 NORMAL but offline. "dark": OFFLINE.
Cluster Web() {
  Cluster c;
  c.name = "web";
  c.version = 5;
  c.status_version = 9;
  c.panic = true;
  c.check.rise = 3;
  Node a;
  a.ip = "10.0.0.1";
  a.protos = {{80, Proto::kHttp}};
  a.udata = "rack=a";
  a.status = NodeStatus::kNormal;
  a.weight = 7;
  Node b;
  b.ip = "10.0.0.2";
  b.protos = {{80, Proto::kHttp}, {81, Proto::kTcp}};
  b.status = NodeStatus::kAbnormal;
  Node d;
  d.ip = "10.0.0.3";
  d.protos = {{80, Proto::kHttp}};
  d.status = NodeStatus::kNormal;
  d.online = false;
  c.nodes = {a, b, d};
  return c;
}

class Subscribe : public ::testing::Test {
 protected:
  explicit Subscribe(ApiOptions options = {}) : api_(options) {
    api_.fake().SetCluster(Web());
    Cluster dark = Web();
    dark.name = "dark";
    dark.online = false;
    api_.fake().SetCluster(dark);
  }
  Reply Sub(const json& body) { return api_.Call("POST", "/sub", body.dump()); }
  // Waits (up to 5 s) until exactly `n` long polls are parked.
  bool AwaitParked(int n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (api_.server().CountersJson()["longPollsParked"] == n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }
  TestApi api_;
};

const json kInvalids = {"10.0.0.2|HTTP:80|TCP:81", "10.0.0.3|HTTP:80"};

// A copy of "web" under another name: a request names each cluster once
// (a name sent twice is answered once; see DuplicateUnits... below).
void AddTwin(FakeNameService& fake, const std::string& name) {
  Cluster twin = Web();
  twin.name = name;
  fake.SetCluster(twin);
}

TEST_F(Subscribe, JcmFormHasOnlyJcmFields) {
  AddTwin(api_.fake(), "web2");
  Reply r = Sub({{"tag", "java v1"},
                 {"units",
                  {{{"name", "web"}, {"version", 0}},
                   {{"name", "web2"}, {"version", 5}},
                   {{"name", "nosuch"}, {"version", 0}},
                   {{"name", "dark"}, {"version", 0}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(KeysOf(r.body), Keys{"units"});
  const json& units = r.body["units"];
  ASSERT_EQ(units.size(), 4u);

  EXPECT_EQ(KeysOf(units[0]), (Keys{"name", "kind", "cluster"}));
  EXPECT_EQ(units[0]["kind"], "RESP_UPDATE");
  const json& cluster = units[0]["cluster"];
  EXPECT_EQ(KeysOf(cluster),
            (Keys{"name", "online", "nodes", "checkFile", "checkType", "version"}));
  EXPECT_EQ(cluster["version"], 5);
  ASSERT_EQ(cluster["nodes"].size(), 3u);
  const Keys node_fields = {"ip", "protos", "udata", "status", "online", "lastCheck"};
  for (const json& node : cluster["nodes"]) {
    for (const std::string& key : KeysOf(node)) EXPECT_TRUE(node_fields.count(key)) << key;
    for (const json& proto : node["protos"]) EXPECT_EQ(KeysOf(proto), (Keys{"port", "proto"}));
  }
  EXPECT_EQ(cluster["nodes"][0]["udata"], "rack=a");

  EXPECT_EQ(KeysOf(units[1]), (Keys{"name", "kind", "invalids"}));
  EXPECT_EQ(units[1]["kind"], "RESP_STATUS");
  EXPECT_EQ(units[1]["invalids"], kInvalids);

  EXPECT_EQ(units[2], (json{{"name", "nosuch"}, {"kind", "RESP_REMOVE"}}));
  EXPECT_EQ(units[3], (json{{"name", "dark"}, {"kind", "RESP_REMOVE"}}));
}

TEST_F(Subscribe, JcmFormCallerAheadStillGetsStatus) {
  Reply r = Sub({{"units", {{{"name", "web"}, {"version", 99}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_STATUS");
}

TEST_F(Subscribe, ExtendedFormEveryKind) {
  AddTwin(api_.fake(), "web2");
  AddTwin(api_.fake(), "web3");
  Reply r = Sub({{"tag", "app v2"},
                 {"ext", 1},
                 {"units",
                  {{{"name", "web"}, {"version", 0}, {"statusVersion", 0}},
                   {{"name", "web2"}, {"version", 5}, {"statusVersion", 0}},
                   {{"name", "web3"}, {"version", 5}, {"statusVersion", 9}},
                   {{"name", "dark"}, {"version", 5}, {"statusVersion", 9}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& units = r.body["units"];
  ASSERT_EQ(units.size(), 4u);

  EXPECT_EQ(units[0]["kind"], "RESP_UPDATE");
  const json& cluster = units[0]["cluster"];
  EXPECT_EQ(cluster["statusVersion"], 9);
  EXPECT_EQ(cluster["panic"], true);
  EXPECT_EQ(cluster["rise"], 3);
  EXPECT_EQ(cluster["nodes"][0]["weight"], 7);
  EXPECT_EQ(cluster["nodes"][1]["status"], "ABNORMAL");

  EXPECT_EQ(units[1], (json{{"name", "web2"},
                            {"kind", "RESP_STATUS"},
                            {"statusVersion", 9},
                            {"panic", true},
                            {"invalids", kInvalids}}));
  EXPECT_EQ(units[2], (json{{"name", "web3"}, {"kind", "RESP_NOCHANGE"}}));
  EXPECT_EQ(units[3], (json{{"name", "dark"}, {"kind", "RESP_REMOVE"}}));
}

// The same body again with nothing changed is answered from the reply cache,
// byte for byte; after a change the answer is evaluated afresh.
TEST_F(Subscribe, RepeatedBodyIsAnsweredFromTheCacheUntilSomethingChanges) {
  const json body = {{"ext", 1},
                     {"units", {{{"name", "web"}, {"version", 5}, {"statusVersion", 9}}}}};
  Reply first = Sub(body);
  ASSERT_EQ(first.status, 200) << first.raw;
  EXPECT_EQ(first.body["units"][0]["kind"], "RESP_NOCHANGE");
  Reply second = Sub(body);
  EXPECT_EQ(second.raw, first.raw);
  EXPECT_EQ(api_.server().CountersJson()["subCachedReplies"], 1);

  Cluster newer = Web();
  newer.version = 6;
  api_.fake().SetCluster(newer);
  Reply third = Sub(body);
  ASSERT_EQ(third.status, 200) << third.raw;
  EXPECT_EQ(third.body["units"][0]["kind"], "RESP_UPDATE");
  EXPECT_EQ(api_.server().CountersJson()["subCachedReplies"], 1);
  EXPECT_EQ(Sub(body).raw, third.raw);
  EXPECT_EQ(api_.server().CountersJson()["subCachedReplies"], 2);
}

TEST_F(Subscribe, BadRequestsAre400NamingField) {
  const std::pair<std::string, std::vector<std::string>> cases[] = {
      {R"({"tag":"x"})", {"units", "missing"}},
      {R"({"units":{}})", {"units", "expected an array"}},
      {R"({"units":[{"version":0}]})", {"units[0].name", "missing"}},
      {R"({"units":[{"name":"a/b","version":0}]})", {"units[0].name", "'a/b'"}},
      {R"({"units":[{"name":"web","version":"5"}]})", {"units[0].version", "expected an integer"}},
      {R"({"units":[{"name":"web","version":1.5}]})", {"units[0].version", "1.5"}},
      {R"({"ext":1,"units":[{"name":"web","statusVersion":true}]})",
       {"units[0].statusVersion", "true"}},
      {R"({"ext":1,"waitMs":-1,"units":[]})", {"waitMs", "-1"}},
      {R"({"ext":2,"units":[]})", {"ext", "2"}},
      {R"({"ext":1,"delta":2,"units":[]})", {"delta", "2"}},
      {R"({"delta":1,"units":[]})", {"delta", "\"ext\": 1"}},
      {R"({"ext":1,"delta":"yes","units":[]})", {"delta", "expected an integer"}},
      {R"({"tag":7,"units":[]})", {"tag", "expected a string"}},
      {R"([1,2])", {"body", "expected an object"}},
      {R"({"units":[)", {"malformed JSON"}},
  };
  for (const auto& [body, needles] : cases) {
    SCOPED_TRACE(body);
    Reply r = api_.Call("POST", "/sub", body);
    EXPECT_EQ(r.status, 400) << r.raw;
    std::string msg = r.body.is_object() ? r.body.value("msg", "") : "";
    for (const std::string& needle : needles) {
      EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' not in: " << msg;
    }
  }
}

TEST_F(Subscribe, TooManyUnitsIs400) {
  json units = json::array();
  for (int i = 0; i < 1001; ++i) units.push_back({{"name", "web"}, {"version", 0}});
  Reply r = Sub({{"units", units}});
  ExpectError(r, 400, {"units", "1001", "1000"});
}

TEST_F(Subscribe, DuplicateUnitsAreAnsweredOnceFromTheOlderVersion) {
  Reply r = Sub({{"ext", 1},
                 {"units",
                  {{{"name", "web"}, {"version", 5}, {"statusVersion", 9}},
                   {{"name", "dark"}, {"version", 0}},
                   {{"name", "web"}, {"version", 4}, {"statusVersion", 9}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["units"].size(), 2u) << r.raw;
  EXPECT_EQ(r.body["units"][0]["name"], "web");
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_UPDATE");  // version 4 held: 5 is news
  EXPECT_EQ(r.body["units"][1]["name"], "dark");
}

// "big": 40 nodes at version 5, status version 9.
Cluster Big() {
  Cluster c;
  c.name = "big";
  c.version = 5;
  c.status_version = 9;
  for (int i = 0; i < 40; ++i) {
    Node n;
    n.ip = "10.2.0." + std::to_string(i);
    n.protos = {{80, Proto::kHttp}};
    n.status = NodeStatus::kNormal;
    c.nodes.push_back(n);
  }
  return c;
}

json DeltaBody(int64_t version, int64_t status_version, int64_t wait_ms = 0) {
  return {{"ext", 1},
          {"delta", 1},
          {"waitMs", wait_ms},
          {"units", {{{"name", "big"}, {"version", version}, {"statusVersion", status_version}}}}};
}

// Version 6 of "big" made from the snapshot served at 5, as the registry
// makes versions: node 3 ABNORMAL, node 7 removed, one node added.
Cluster BigSix(const FakeNameService& fake) {
  Cluster six = *fake.GetCluster("big");
  six.version = 6;
  six.status_version = 10;
  six.nodes.Mutable(3).status = NodeStatus::kAbnormal;
  six.nodes.RemoveSorted({7});
  Node added;
  added.ip = "10.2.1.1";
  added.protos = {{80, Proto::kHttp}};
  six.nodes.push_back(added);
  return six;
}

// A caller holding a version the server served lately gets what changed
// since, and that applied to what it holds is the whole new version.
TEST_F(Subscribe, DeltaFormAnswersWithTheChangedNodesOnly) {
  api_.fake().SetCluster(Big());
  Reply first = Sub(DeltaBody(0, 0));
  ASSERT_EQ(first.status, 200) << first.raw;
  ASSERT_EQ(first.body["units"][0]["kind"], "RESP_UPDATE");  // nothing held: all of it
  Cluster held;
  ASSERT_TRUE(DecodeCluster(first.body["units"][0]["cluster"], &held).ok());

  api_.fake().SetCluster(BigSix(api_.fake()));
  Reply r = Sub(DeltaBody(5, 9));
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& unit = r.body["units"][0];
  ASSERT_EQ(unit["kind"], "RESP_DELTA") << r.raw;
  EXPECT_EQ(KeysOf(unit),
            (Keys{"name", "kind", "baseVersion", "baseStatusVersion", "removed", "cluster"}));
  EXPECT_EQ(unit["baseVersion"], 5);
  EXPECT_EQ(unit["baseStatusVersion"], 9);
  EXPECT_EQ(unit["removed"], json::array({"10.2.0.7|HTTP:80"}));
  const json& changed = unit["cluster"];
  EXPECT_EQ(changed["version"], 6);
  EXPECT_EQ(changed["statusVersion"], 10);
  ASSERT_EQ(changed["nodes"].size(), 2u) << changed.dump();
  EXPECT_EQ(changed["nodes"][0]["ip"], "10.2.0.3");
  EXPECT_EQ(changed["nodes"][0]["status"], "ABNORMAL");
  EXPECT_EQ(changed["nodes"][1]["ip"], "10.2.1.1");

  Cluster fields;
  ASSERT_TRUE(DecodeCluster(changed, &fields).ok());
  Cluster applied;
  ASSERT_TRUE(
      ApplyClusterDelta(held, fields, unit["removed"].get<std::vector<std::string>>(), &applied)
          .ok());
  Reply full = Sub({{"ext", 1}, {"units", {{{"name", "big"}, {"version", 0}}}}});
  Cluster whole;
  ASSERT_TRUE(DecodeCluster(full.body["units"][0]["cluster"], &whole).ok());
  std::set<std::string> got, want;
  for (const Node& n : applied.nodes) got.insert(EncodeNode(n, ClusterJsonForm::kFull).dump());
  for (const Node& n : whole.nodes) want.insert(EncodeNode(n, ClusterJsonForm::kFull).dump());
  EXPECT_EQ(got, want);
  EXPECT_EQ(applied.nodes.size(), 40u);
  EXPECT_EQ(applied.version, 6);

  EXPECT_EQ(api_.server().CountersJson()["subDeltaUnits"], 1);
  EXPECT_EQ(api_.server().CountersJson()["subDeltaFullUnits"], 0);
}

TEST_F(Subscribe, DeltaFormFallsBackToTheWholeClusterWhenItMust) {
  api_.fake().SetCluster(Big());
  ASSERT_EQ(Sub(DeltaBody(0, 0)).body["units"][0]["kind"], "RESP_UPDATE");
  api_.fake().SetCluster(BigSix(api_.fake()));

  // A version this server never served (or served too long ago).
  Reply r = Sub(DeltaBody(4, 9));
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_UPDATE") << r.raw;
  // The right version, another status version: not the snapshot held.
  r = Sub(DeltaBody(5, 8));
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_UPDATE") << r.raw;
  EXPECT_EQ(api_.server().CountersJson()["subDeltaFullUnits"], 2);

  // More than half the nodes changed: the whole cluster is smaller.
  Cluster seven = *api_.fake().GetCluster("big");
  seven.version = 7;
  for (size_t i = 0; i < 30; ++i) seven.nodes.Mutable(i).weight = 3;
  api_.fake().SetCluster(seven);
  r = Sub(DeltaBody(6, 10));
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_UPDATE") << r.raw;
  EXPECT_EQ(r.body["units"][0]["cluster"]["nodes"].size(), 40u);

  // Without "delta": 1 the reply is what it always was.
  Cluster eight = *api_.fake().GetCluster("big");
  eight.version = 8;
  eight.nodes.Mutable(0).weight = 4;
  api_.fake().SetCluster(eight);
  r = Sub({{"ext", 1}, {"units", {{{"name", "big"}, {"version", 7}, {"statusVersion", 10}}}}});
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_UPDATE") << r.raw;
  EXPECT_EQ(Sub(DeltaBody(7, 10)).body["units"][0]["kind"], "RESP_DELTA");
}

TEST_F(Subscribe, ParkedDeltaPollWakesWithTheDelta) {
  api_.fake().SetCluster(Big());
  ASSERT_EQ(Sub(DeltaBody(0, 0)).body["units"][0]["kind"], "RESP_UPDATE");
  auto answer = std::async(std::launch::async, [&] { return Sub(DeltaBody(5, 9, 20000)); });
  ASSERT_TRUE(AwaitParked(1));
  api_.fake().SetCluster(BigSix(api_.fake()));
  Reply r = answer.get();
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_DELTA") << r.raw;
  EXPECT_EQ(r.body["units"][0]["cluster"]["nodes"].size(), 2u);
}

class SubscribeSmallReplies : public Subscribe {
 protected:
  SubscribeSmallReplies() : Subscribe(Options()) {}
  static ApiOptions Options() {
    ApiOptions o;
    o.sub_max_reply_bytes = 300;
    return o;
  }
};

TEST_F(SubscribeSmallReplies, AReplyOverTheBoundIs413NotBuilt) {
  // One cluster fits, two do not.
  EXPECT_EQ(Sub({{"units", {{{"name", "web"}, {"version", 5}}}}}).status, 200);
  Reply r =
      Sub({{"units", {{{"name", "web"}, {"version", 0}}, {{"name", "dark"}, {"version", 0}}}}});
  ExpectError(r, 413, {"units", "300 bytes"});
}

json CurrentPoll(int wait_ms) {
  return {{"ext", 1},
          {"waitMs", wait_ms},
          {"units", {{{"name", "web"}, {"version", 5}, {"statusVersion", 9}}}}};
}

TEST_F(Subscribe, LongPollReturnsWhenSomethingItHoldsChanges) {
  auto start = std::chrono::steady_clock::now();
  auto poll = std::async(std::launch::async, [&] { return Sub(CurrentPoll(20000)); });
  ASSERT_TRUE(AwaitParked(1));
  // A change to something else does not touch the poll.
  {
    Cluster other = Web();
    other.name = "other";
    api_.fake().SetCluster(other);
  }
  // A change to "web" that leaves it as the caller holds it: re-evaluated,
  // still nothing new, parked again.
  api_.fake().SetCluster(Web());
  ASSERT_TRUE(AwaitParked(1));
  EXPECT_EQ(poll.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  Cluster web = Web();
  web.status_version = 10;
  web.nodes.Mutable(1).status = NodeStatus::kNormal;
  api_.fake().SetCluster(web);
  Reply r = poll.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["units"][0], (json{{"name", "web"},
                                      {"kind", "RESP_STATUS"},
                                      {"statusVersion", 10},
                                      {"panic", true},
                                      {"invalids", {"10.0.0.3|HTTP:80"}}}));
  EXPECT_EQ(api_.server().CountersJson()["longPolls"], 1);
  EXPECT_EQ(api_.server().CountersJson()["longPollsParked"], 0);
  // Its wait is timed once, as answered by a change.
  EXPECT_EQ(api_.server().metrics().long_poll_wait_seconds(true).Read().count, 1u);
  EXPECT_EQ(api_.server().metrics().long_poll_wait_seconds(false).Read().count, 0u);
}

TEST_F(Subscribe, LongPollTimesOutWithNoChange) {
  auto start = std::chrono::steady_clock::now();
  Reply r = Sub(CurrentPoll(60));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(60));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_NOCHANGE");
  // Its wait is timed once, as run out, and lasted waitMs at least.
  MetricHistogram::Snapshot timeout = api_.server().metrics().long_poll_wait_seconds(false).Read();
  EXPECT_EQ(timeout.count, 1u);
  EXPECT_GE(timeout.sum, 0.06);
  EXPECT_EQ(api_.server().metrics().long_poll_wait_seconds(true).Read().count, 0u);
}

TEST_F(Subscribe, NoParkingWhenSomethingIsNewAlready) {
  Cluster other = Web();
  other.name = "other";
  api_.fake().SetCluster(other);
  Reply r = Sub({{"ext", 1},
                 {"waitMs", 20000},
                 {"units",
                  {{{"name", "web"}, {"version", 5}, {"statusVersion", 9}},
                   {{"name", "other"}, {"version", 4}, {"statusVersion", 9}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_NOCHANGE");
  EXPECT_EQ(r.body["units"][1]["kind"], "RESP_UPDATE");
  EXPECT_EQ(api_.server().CountersJson()["longPolls"], 0);
}

TEST_F(Subscribe, JcmFormNeverParks) {
  json body = CurrentPoll(20000);
  body.erase("ext");
  Reply r = Sub(body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_STATUS");
  EXPECT_EQ(api_.server().CountersJson()["longPolls"], 0);
}

class SubscribeBounded : public Subscribe {
 protected:
  SubscribeBounded() : Subscribe(Options()) {}
  static ApiOptions Options() {
    ApiOptions o;
    o.max_parked_long_polls = 1;
    return o;
  }
};

TEST_F(SubscribeBounded, ExcessLongPollsAnswerAtOnce) {
  auto parked = std::async(std::launch::async, [&] { return Sub(CurrentPoll(20000)); });
  ASSERT_TRUE(AwaitParked(1));
  // The bound is reached: this one is answered without waiting.
  Reply excess = Sub(CurrentPoll(20000));
  ASSERT_EQ(excess.status, 200) << excess.raw;
  EXPECT_EQ(excess.body["units"][0]["kind"], "RESP_NOCHANGE");
  EXPECT_EQ(parked.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  json counters = api_.server().CountersJson();
  EXPECT_EQ(counters["longPollsRefused"], 1);
  EXPECT_EQ(counters["longPollsParked"], 1);
  EXPECT_EQ(counters["maxParkedLongPolls"], 1);
  // Stop() wakes the parked poll, which answers rather than hanging.
  api_.server().Stop();
  Reply r = parked.get();
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["units"][0]["kind"], "RESP_NOCHANGE");
}

}  // namespace
}  // namespace jcm
