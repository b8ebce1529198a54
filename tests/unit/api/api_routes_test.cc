// Every route of ApiServer over a FakeNameService: happy paths with their
// envelopes, and every kind of bad input answering 4xx naming the field and
// the value without calling any mutation.
#include <gtest/gtest.h>

#include <set>

#include "api/http_reply.h"
#include "model/cluster_codec.h"
#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

using nlohmann::json;

class ApiRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    Cluster c;
    json doc = json::parse(ClusterDoc("web"));
    ASSERT_TRUE(DecodeCluster(doc, &c).ok());
    c.version = 41;
    c.status_version = 7;
    c.nodes.Mutable(0).status = NodeStatus::kNormal;
    api_.fake().SetCluster(c);
  }
  TestApi api_;
};

void ExpectOk(const Reply& reply) {
  EXPECT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body.value("code", -1), 0) << reply.raw;
  EXPECT_EQ(reply.body.value("msg", ""), "ok") << reply.raw;
}

TEST_F(ApiRoutes, HealthzNamesSelf) {
  Reply r = api_.Call("GET", "/healthz");
  ExpectOk(r);
  EXPECT_EQ(r.body["data"]["self"], "127.0.0.1:" + std::to_string(api_.port()));
}

TEST_F(ApiRoutes, PostClusterCreatesAndAnswersVersion) {
  Reply r = api_.Call("POST", "/c", ClusterDoc("api"));
  ExpectOk(r);
  EXPECT_EQ(r.body["data"], (json{{"name", "api"}, {"version", 1}}));
  EXPECT_EQ(api_.fake().calls(), std::vector<std::string>{"PutCluster api"});
  ClusterPtr stored = api_.fake().GetCluster("api");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->nodes.size(), 2u);
  EXPECT_EQ(stored->nodes[1].udata, "rack=b");
}

TEST_F(ApiRoutes, GetClusterFullAndJcmForm) {
  Reply full = api_.Call("GET", "/c/web");
  ExpectOk(full);
  EXPECT_EQ(full.body["data"]["name"], "web");
  EXPECT_EQ(full.body["data"]["version"], 41);
  EXPECT_EQ(full.body["data"]["statusVersion"], 7);
  EXPECT_EQ(full.body["data"]["nodes"][0]["status"], "NORMAL");

  Reply jcm = api_.Call("GET", "/c/web?form=jcm");
  ExpectOk(jcm);
  EXPECT_FALSE(jcm.body["data"].contains("statusVersion"));
  EXPECT_FALSE(jcm.body["data"].contains("panic"));
  EXPECT_EQ(jcm.body["data"]["version"], 41);
}

TEST_F(ApiRoutes, GetUnknownClusterIs404NamingIt) {
  ExpectError(api_.Call("GET", "/c/nosuch"), 404, {"'nosuch'"});
}

TEST_F(ApiRoutes, ListAndGetAll) {
  ASSERT_EQ(api_.Call("POST", "/c", ClusterDoc("api")).status, 200);
  Reply names = api_.Call("GET", "/c/list");
  ExpectOk(names);
  EXPECT_EQ(names.body["data"], (json{"api", "web"}));
  Reply all = api_.Call("GET", "/c");
  ExpectOk(all);
  ASSERT_EQ(all.body["data"].size(), 2u);
  EXPECT_EQ(all.body["data"][1]["name"], "web");
  EXPECT_TRUE(all.body["data"][1].contains("statusVersion"));
  Reply jcm = api_.Call("GET", "/c?form=jcm");
  ExpectOk(jcm);
  EXPECT_FALSE(jcm.body["data"][1].contains("statusVersion"));
}

TEST_F(ApiRoutes, DeleteCluster) {
  Reply r = api_.Call("DELETE", "/c/web");
  ExpectOk(r);
  EXPECT_EQ(r.body["data"], (json{{"name", "web"}, {"deleted", true}}));
  EXPECT_FALSE(api_.fake().GetCluster("web"));
  ExpectError(api_.Call("DELETE", "/c/web"), 404, {"'web'"});
}

TEST_F(ApiRoutes, ClusterOnlineSwitch) {
  Reply r = api_.Call("POST", "/c/online/web", "false");
  ExpectOk(r);
  EXPECT_EQ(r.body["data"]["name"], "web");
  EXPECT_FALSE(api_.fake().GetCluster("web")->online);
  ExpectOk(api_.Call("POST", "/c/online/web", "true"));
  EXPECT_TRUE(api_.fake().GetCluster("web")->online);
  EXPECT_EQ(api_.fake().calls(),
            (std::vector<std::string>{"SetClusterOnline web false", "SetClusterOnline web true"}));
}

TEST_F(ApiRoutes, AddNodes) {
  Reply r = api_.Call("POST", "/c/node/web",
                      R"([{"ip":"10.0.0.9","protos":[{"port":8080,"proto":"HTTP"}],"weight":5}])");
  ExpectOk(r);
  ASSERT_EQ(api_.fake().last_nodes().size(), 1u);
  EXPECT_EQ(api_.fake().last_nodes()[0].Spec(), "10.0.0.9|HTTP:8080");
  EXPECT_EQ(api_.fake().last_nodes()[0].weight, 5);
  EXPECT_EQ(api_.fake().GetCluster("web")->nodes.size(), 3u);
}

TEST_F(ApiRoutes, RemoveNodesCanonicalisesSpecs) {
  Reply r = api_.Call("DELETE", "/c/node/web", R"(["10.0.0.1|TCP:81|HTTP:80"])");
  ExpectOk(r);
  EXPECT_EQ(api_.fake().last_specs(), std::vector<std::string>{"10.0.0.1|HTTP:80|TCP:81"});
  EXPECT_EQ(api_.fake().GetCluster("web")->nodes.size(), 1u);
}

TEST_F(ApiRoutes, RemovingUnknownSpecIs404FromTheService) {
  Reply r = api_.Call("DELETE", "/c/node/web", R"(["10.0.0.77|HTTP:80"])");
  ExpectError(r, 404, {"10.0.0.77|HTTP:80"});
  EXPECT_EQ(api_.fake().calls(), std::vector<std::string>{"RemoveNodes web"});
}

TEST_F(ApiRoutes, ChangeNodesRemovesThenAddsInOneCall) {
  // The seeded 10.0.0.1 goes and comes back with weight 9; 10.0.0.2 goes;
  // 10.0.0.9 is new.
  Reply r = api_.Call("POST", "/c/nodes/web",
                      R"({"remove":["10.0.0.1|TCP:81|HTTP:80","10.0.0.2|HTTP:80"],
                          "add":[{"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"},
                                                            {"port":81,"proto":"TCP"}],"weight":9},
                                 {"ip":"10.0.0.9","protos":[{"port":8080,"proto":"HTTP"}]}]})");
  ExpectOk(r);
  EXPECT_EQ(api_.fake().calls(), std::vector<std::string>{"ChangeNodes web"});
  EXPECT_EQ(api_.fake().last_specs(),
            (std::vector<std::string>{"10.0.0.1|HTTP:80|TCP:81", "10.0.0.2|HTTP:80"}));
  ClusterPtr c = api_.fake().GetCluster("web");
  ASSERT_EQ(c->nodes.size(), 2u);
  ASSERT_NE(c->FindNode("10.0.0.1|HTTP:80|TCP:81"), nullptr);
  EXPECT_EQ(c->FindNode("10.0.0.1|HTTP:80|TCP:81")->weight, 9);
  EXPECT_NE(c->FindNode("10.0.0.9|HTTP:8080"), nullptr);
  EXPECT_EQ(c->FindNode("10.0.0.2|HTTP:80"), nullptr);
  // Either list alone.
  ExpectOk(api_.Call("POST", "/c/nodes/web", R"({"remove":["10.0.0.9|HTTP:8080"]})"));
  EXPECT_EQ(api_.fake().GetCluster("web")->nodes.size(), 1u);
}

TEST_F(ApiRoutes, ChangeRemovingAnUnknownSpecIs404AndChangesNothing) {
  const auto before = api_.fake().GetCluster("web");
  Reply r = api_.Call(
      "POST", "/c/nodes/web",
      R"({"remove":["10.0.0.77|HTTP:80"],"add":[{"ip":"10.0.0.9","protos":[{"port":80,"proto":"HTTP"}]}]})");
  ExpectError(r, 404, {"10.0.0.77|HTTP:80"});
  EXPECT_EQ(api_.fake().GetCluster("web")->version, before->version);
  EXPECT_EQ(api_.fake().GetCluster("web")->nodes.size(), before->nodes.size());
}

TEST_F(ApiRoutes, NodeOnlineSwitch) {
  Reply r = api_.Call("POST", "/c/node/online/web",
                      R"({"spec":"10.0.0.1|TCP:81|HTTP:80","online":false})");
  ExpectOk(r);
  EXPECT_EQ(api_.fake().calls(),
            std::vector<std::string>{"SetNodeOnline web 10.0.0.1|HTTP:80|TCP:81 false"});
  const Node* n = api_.fake().GetCluster("web")->FindNode("10.0.0.1|HTTP:80|TCP:81");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->online);
}

TEST_F(ApiRoutes, SysStatusAddsApiCounters) {
  ExpectError(api_.Call("GET", "/c/bad%20name"), 400, {"'bad name'"});
  Reply r = api_.Call("GET", "/sys/status");
  ExpectOk(r);
  EXPECT_EQ(r.body["data"]["self"], "fake");
  const json& api = r.body["data"]["api"];
  EXPECT_GE(api["requests"].get<int>(), 2);
  EXPECT_EQ(api["errors"]["InvalidArgument"], 1);
  EXPECT_EQ(api["longPollsParked"], 0);
  EXPECT_EQ(api["maxParkedLongPolls"], 10000);  // the default cap (issue 7: at least 10,000)
}

TEST_F(ApiRoutes, NsCacheIsLocal) {
  ExpectOk(api_.Call("POST", "/sys/nscache", "false"));
  EXPECT_EQ(api_.fake().status_write_cache(), false);
  ExpectOk(api_.Call("POST", "/sys/nscache", "true"));
  EXPECT_EQ(api_.fake().status_write_cache(), true);
  ExpectError(api_.Call("POST", "/sys/nscache", R"("yes")"), 400, {"body", "'\"yes\"'"});
}

TEST_F(ApiRoutes, UnknownRouteIs404Envelope) {
  ExpectError(api_.Call("GET", "/nope"), 404, {"/nope"});
}

TEST_F(ApiRoutes, TenMegabyteBodyIs413Envelope) {
  std::string big(10 * 1024 * 1024, ' ');
  ExpectError(api_.Call("POST", "/c", big), 413, {"body", "8388608"});
  EXPECT_TRUE(api_.fake().calls().empty());
}

struct BadInput {
  const char* method;
  std::string path;
  std::string body;
  std::vector<std::string> needles;
};

std::string NodeWith(const std::string& ip, const std::string& protos) {
  return R"([{"ip":")" + ip + R"(","protos":)" + protos + "}]";
}

TEST_F(ApiRoutes, BadInputIs400NamingFieldAndValueAndCallsNothing) {
  const std::string http80 = R"([{"port":80,"proto":"HTTP"}])";
  const std::string long_name(300, 'a');
  const std::vector<BadInput> cases = {
      {"POST", "/c", R"({"name":"x",)", {"malformed JSON", "byte"}},
      {"POST", "/c", "", {"malformed JSON"}},
      {"POST", "/c", R"({"name":5})", {"name", "expected a string"}},
      {"POST", "/c", R"({"name":"x","nodes":{}})", {"nodes", "expected an array"}},
      {"POST", "/c", R"({"name":"a/b"})", {"name", "'a/b'"}},
      {"POST", "/c/node/web", NodeWith("300.1.1.1", http80), {"nodes[0].ip", "'300.1.1.1'"}},
      {"POST", "/c/node/web", NodeWith("1.2.3", http80), {"nodes[0].ip", "'1.2.3'"}},
      {"POST", "/c/node/web", NodeWith("", http80), {"nodes[0].ip", "''"}},
      {"POST",
       "/c/node/web",
       NodeWith("10.0.0.1", R"([{"port":0,"proto":"HTTP"}])"),
       {"nodes[0].protos[0].port", "0"}},
      {"POST",
       "/c/node/web",
       NodeWith("10.0.0.1", R"([{"port":70000,"proto":"HTTP"}])"),
       {"nodes[0].protos[0].port", "70000"}},
      {"POST",
       "/c/node/web",
       NodeWith("10.0.0.1", R"([{"port":"80","proto":"HTTP"}])"),
       {"nodes[0].protos[0].port", "expected an integer"}},
      {"POST",
       "/c/node/web",
       NodeWith("10.0.0.1", R"([{"port":80,"proto":"UDP"}])"),
       {"nodes[0].protos[0].proto", "'UDP'"}},
      {"POST",
       "/c/node/web",
       R"([{"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"}]},
           {"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"}]}])",
       {"nodes[1]", "duplicate", "10.0.0.1|HTTP:80"}},
      {"POST", "/c/node/web", "[]", {"nodes", "empty"}},
      {"POST", "/c/node/web", "{}", {"nodes", "expected an array"}},
      {"POST", "/c/node/a/b", NodeWith("10.0.0.1", http80), {"name", "'a/b'"}},
      {"POST", "/c/node/" + long_name, NodeWith("10.0.0.1", http80), {"name", "longer than 128"}},
      {"DELETE", "/c/node/web", "[]", {"specs", "empty"}},
      {"DELETE",
       "/c/node/web",
       R"(["10.0.0.1|HTTP:80","10.0.0.1|HTTP:80"])",
       {"specs[1]", "duplicate", "'10.0.0.1|HTTP:80'"}},
      {"DELETE", "/c/node/web", R"(["10.0.0.1|FTP:21"])", {"specs[0]", "'10.0.0.1|FTP:21'"}},
      {"DELETE", "/c/node/web", R"(["300.1.1.1|HTTP:80"])", {"specs[0]", "'300.1.1.1|HTTP:80'"}},
      {"DELETE",
       "/c/node/web",
       R"(["10.0.0.1|HTTP:70000"])",
       {"specs[0]", "'10.0.0.1|HTTP:70000'"}},
      {"DELETE", "/c/node/web", R"([7])", {"specs[0]", "expected a node spec string"}},
      {"DELETE", "/c/node/web", R"("10.0.0.1|HTTP:80")", {"specs", "expected an array"}},
      {"DELETE", "/c/a%2Fb", "", {"name", "'a/b'"}},
      {"DELETE", "/c/" + long_name, "", {"name", "longer than 128"}},
      {"GET", "/c/" + long_name, "", {"name", "longer than 128"}},
      {"GET", "/c/web?form=xml", "", {"form", "'xml'"}},
      {"GET", "/c?form=xml", "", {"form", "'xml'"}},
      {"POST", "/c/online/web", R"("maybe")", {"body", "maybe"}},
      {"POST", "/c/online/web", "1", {"body", "expected true"}},
      {"POST", "/c/online/a%2Fb", "true", {"name", "'a/b'"}},
      {"POST", "/c/node/online/web", R"({"spec":"nospec","online":true})", {"spec", "'nospec'"}},
      {"POST", "/c/node/online/web", R"({"spec":"10.0.0.1|HTTP:80"})", {"online", "missing"}},
      {"POST", "/c/node/online/web", R"({"spec":"10.0.0.1|HTTP:80","online":3})", {"online", "3"}},
      {"POST", "/c/node/online/web", "[]", {"body", "expected an object"}},
      {"POST", "/c/nodes/web", "[]", {"body", "expected an object"}},
      {"POST", "/c/nodes/web", "{}", {"body", "neither"}},
      {"POST", "/c/nodes/web", R"({"remove":[],"add":[]})", {"remove", "empty"}},
      {"POST", "/c/nodes/web", R"({"add":[]})", {"add", "empty"}},
      {"POST", "/c/nodes/web", R"({"drop":["10.0.0.1|HTTP:80"]})", {"'drop'", "not a member"}},
      {"POST", "/c/nodes/web", R"({"remove":"10.0.0.1|HTTP:80"})", {"remove", "expected an array"}},
      {"POST",
       "/c/nodes/web",
       R"({"remove":["10.0.0.1|HTTP:80","10.0.0.1|HTTP:80"]})",
       {"remove[1]", "duplicate", "'10.0.0.1|HTTP:80'"}},
      {"POST",
       "/c/nodes/web",
       R"({"remove":["300.1.1.1|HTTP:80"]})",
       {"remove[0]", "'300.1.1.1|HTTP:80'"}},
      {"POST",
       "/c/nodes/web",
       R"({"add":[{"ip":"10.0.0.1","protos":[{"port":70000,"proto":"HTTP"}]}]})",
       {"add[0].protos[0].port", "70000"}},
      {"POST",
       "/c/nodes/web",
       R"({"add":[{"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"}]},
                  {"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"}]}]})",
       {"add[1]", "duplicate", "10.0.0.1|HTTP:80"}},
      {"POST", "/c/nodes/web", R"({"remove":["10.0.0.1|HTTP:80"],)", {"malformed JSON"}},
      {"POST", "/c/nodes/a%2Fb", R"({"remove":["10.0.0.1|HTTP:80"]})", {"name", "'a/b'"}},
  };
  for (const BadInput& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.path.substr(0, 60) + " " + c.body);
    Reply r = api_.Call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, 400) << r.raw;
    std::string msg = r.body.is_object() ? r.body.value("msg", "") : "";
    for (const std::string& needle : c.needles) {
      EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' not in: " << msg;
    }
  }
  EXPECT_TRUE(api_.fake().calls().empty());
}

TEST_F(ApiRoutes, ServiceErrorsMapToHttpCodes) {
  const std::pair<Status, int> cases[] = {
      {Status::InvalidArgument("x"), 400}, {Status::NotFound("x"), 404},
      {Status::Conflict("x"), 409},        {Status::TooLarge("x"), 413},
      {Status::Unavailable("x"), 503},     {Status::Timeout("x"), 504},
      {Status::Internal("x"), 500},
  };
  for (const auto& [status, http] : cases) {
    api_.fake().FailWritesWith(Status(status));
    ExpectError(api_.Call("POST", "/c", ClusterDoc("web")), http, {"x"});
  }
}

TEST(HttpReply, StatusMapping) {
  EXPECT_EQ(HttpStatusFor(Status::Code::kOk), 200);
  EXPECT_EQ(HttpStatusFor(Status::Code::kNotLeader), 503);
  EXPECT_EQ(HttpStatusFor(Status::Code::kTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(Status::Code::kTimeout), 504);
}

TEST(HttpReply, WriteAckRoundTrip) {
  WriteAck in{"web", 123, false};
  WriteAck out;
  ASSERT_TRUE(ParseWriteAck(WriteAckJson(in), &out));
  EXPECT_EQ(out.name, "web");
  EXPECT_EQ(out.version, 123);
  EXPECT_FALSE(out.deleted);
  ASSERT_TRUE(ParseWriteAck(WriteAckJson(WriteAck{"gone", 0, true}), &out));
  EXPECT_TRUE(out.deleted);
  EXPECT_FALSE(ParseWriteAck(json{{"name", "x"}}, &out));
  EXPECT_FALSE(ParseWriteAck(json::array(), &out));
}

// The reply text is the DOM's, byte for byte, for every kind of ack; the
// delta's part is made once and reused by every caller of the batch.
TEST(HttpReply, WriteAckTextIsTheDomsText) {
  auto delta = std::make_shared<WriteDelta>();
  delta->base_version = 40;
  delta->znode_version = 7;
  AppliedOp add;
  add.kind = AppliedOp::Kind::kAddNodes;
  Node n;
  n.ip = "10.0.0.1";
  n.protos = {{80, Proto::kHttp}, {81, Proto::kTcp}};
  n.udata = "rack \"a\"";
  n.weight = 5;
  add.nodes = {n};
  AppliedOp remove;
  remove.kind = AppliedOp::Kind::kRemoveNodes;
  remove.specs = {"10.0.0.2|HTTP:80"};
  AppliedOp online;
  online.kind = AppliedOp::Kind::kSetNodeOnline;
  online.specs = {"10.0.0.1|HTTP:80|TCP:81"};
  AppliedOp cluster_online;
  cluster_online.kind = AppliedOp::Kind::kSetClusterOnline;
  cluster_online.online = true;
  delta->ops = {add, remove, online, cluster_online};
  WriteAck ack{"web \"quoted\" \xff", 41, false};
  ack.delta = delta;
  const std::string dom = DumpJson(WriteAckJson(ack));
  EXPECT_EQ(WriteAckText(ack), dom);
  EXPECT_FALSE(delta->ops_text.empty());
  WriteAck other_caller{ack.name, 41, false};
  other_caller.delta = delta;
  EXPECT_EQ(WriteAckText(other_caller), dom);
  WriteAck parsed;
  ASSERT_TRUE(ParseWriteAck(json::parse(WriteAckText(ack)), &parsed));
  ASSERT_NE(parsed.delta, nullptr);
  EXPECT_EQ(parsed.delta->ops.size(), 4u);
  EXPECT_EQ(WriteAckText(WriteAck{"gone", 9, true}),
            DumpJson(WriteAckJson(WriteAck{"gone", 9, true})));
  EXPECT_EQ(WriteAckText(WriteAck{"web", 9, false}),
            DumpJson(WriteAckJson(WriteAck{"web", 9, false})));
}

TEST(HttpReply, InvalidUtf8NeverThrows) {
  HttpReply r = ErrorReply(Status::InvalidArgument("name: '\xff\xfe' bad"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("name:"), std::string::npos);
}

}  // namespace
}  // namespace jcm

namespace jcm {
namespace {

TEST(HistoryRoute, ServesTheProvidersAnswerForKnownClustersOnly) {
  ApiOptions o;
  FakeNameService fake;
  Cluster web;
  web.name = "web";
  web.version = 3;
  fake.SetCluster(web);
  Cluster named_history;
  named_history.name = "history";
  named_history.version = 4;
  fake.SetCluster(named_history);
  ApiServer server(o, &fake);
  server.SetHistoryProvider([](const std::string& name) {
    return nlohmann::json{
        {"cluster", name}, {"checking", true}, {"nodes", nlohmann::json::object()}};
  });
  ASSERT_TRUE(server.Start().ok());
  Reply r = Call(server.port(), "GET", "/c/web/history");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["data"]["cluster"], "web");
  ExpectError(Call(server.port(), "GET", "/c/nosuch/history"), 404, {"nosuch"});
  ExpectError(Call(server.port(), "GET", "/c/a/b/history"), 400, {"a/b"});
  // A cluster called "history" is still a cluster.
  Reply h = Call(server.port(), "GET", "/c/history");
  ASSERT_EQ(h.status, 200) << h.raw;
  EXPECT_EQ(h.body["data"]["version"], 4);
}

}  // namespace
}  // namespace jcm
