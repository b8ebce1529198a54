#include "model/cluster_codec.h"
#include "model/validation.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace jcm {
namespace {

using nlohmann::json;

std::string ReadSample() {
  const char* src = std::getenv("JCM_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/tests/data/sample-cluster.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status DecodeText(const std::string& text, Cluster* out) {
  json doc;
  Status s = ParseJsonText(text, &doc);
  if (!s.ok()) return s;
  return DecodeCluster(doc, out);
}

TEST(ClusterCodec, LoadsJcmSampleUnchanged) {
  std::string text = ReadSample();
  ASSERT_FALSE(text.empty()) << "tests/data/sample-cluster.json not found";
  Cluster c;
  Status s = DecodeText(text, &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.name, "sudoku_solver");
  EXPECT_TRUE(c.online);
  EXPECT_EQ(c.check_type, CheckType::kHttp);
  EXPECT_EQ(c.check_file, "/health");
  ASSERT_EQ(c.nodes.size(), 3u);
  EXPECT_EQ(c.nodes[0].Spec(), "127.0.0.11|HTTP:9981|TCP:9982");
  EXPECT_EQ(c.nodes[1].udata, "rack=b");
  EXPECT_FALSE(c.nodes[2].online);
  EXPECT_EQ(c.nodes[2].Spec(), "127.0.0.13|HTTP:9981");
}

TEST(ClusterCodec, JcmFormHasOnlyJcmFields) {
  Cluster c;
  ASSERT_TRUE(DecodeText(ReadSample(), &c).ok());
  c.nodes.Mutable(0).weight = 7;
  c.check.rise = 3;
  c.panic = true;
  json j = EncodeCluster(c, ClusterJsonForm::kJcm);
  for (auto& [key, value] : j.items()) {
    EXPECT_TRUE(key == "name" || key == "online" || key == "nodes" || key == "checkFile" ||
                key == "checkType" || key == "version")
        << "unexpected cluster field " << key;
  }
  for (const json& n : j["nodes"]) {
    for (auto& [key, value] : n.items()) {
      EXPECT_TRUE(key == "ip" || key == "protos" || key == "udata" || key == "status" ||
                  key == "online" || key == "lastCheck")
          << "unexpected node field " << key;
    }
  }
}

TEST(ClusterCodec, FullFormRoundTrips) {
  Cluster c;
  ASSERT_TRUE(DecodeText(ReadSample(), &c).ok());
  c.nodes.Mutable(0).weight = 7;
  c.nodes.Mutable(0).status = NodeStatus::kNormal;
  c.check.rise = 3;
  c.check.ok_codes = {200, 204};
  c.version = 42;
  Cluster back;
  ASSERT_TRUE(DecodeCluster(EncodeCluster(c, ClusterJsonForm::kFull), &back).ok());
  EXPECT_EQ(back.nodes[0].weight, 7);
  EXPECT_EQ(back.nodes[0].status, NodeStatus::kNormal);
  EXPECT_EQ(back.check, c.check);
  EXPECT_EQ(back.version, 42);
}

TEST(ClusterCodec, SecondOpinionsZeroIsKeptAndUnsetIsOmitted) {
  Cluster c;
  ASSERT_TRUE(DecodeText(ReadSample(), &c).ok());
  EXPECT_EQ(c.check.second_opinions, -1);  // unset: the server's default
  EXPECT_FALSE(EncodeCluster(c, ClusterJsonForm::kFull).contains("secondOpinions"));
  c.check.second_opinions = 0;  // off, which is not the default
  json j = EncodeCluster(c, ClusterJsonForm::kFull);
  EXPECT_EQ(j["secondOpinions"], 0);
  Cluster back;
  ASSERT_TRUE(DecodeCluster(j, &back).ok());
  EXPECT_EQ(back.check.second_opinions, 0);
  c.check.second_opinions = 6;
  Status s = ValidateCluster(c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("secondOpinions: 6"), std::string::npos) << s.message();
  c.check.second_opinions = 5;
  EXPECT_TRUE(ValidateCluster(c).ok());
}

TEST(ClusterCodec, StoredFormDropsRuntimeState) {
  Cluster c;
  ASSERT_TRUE(DecodeText(ReadSample(), &c).ok());
  c.version = 9;
  c.nodes.Mutable(0).status = NodeStatus::kNormal;
  json j = EncodeCluster(c, ClusterJsonForm::kStored);
  EXPECT_FALSE(j.contains("version"));
  EXPECT_FALSE(j["nodes"][0].contains("status"));
}

struct BadCase {
  std::string body;
  const char* expect_in_message;
};

class BadClusterTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadClusterTest, RefusedNamingFieldAndValue) {
  Cluster c;
  Status s = DecodeText(GetParam().body, &c);
  ASSERT_FALSE(s.ok()) << GetParam().body;
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find(GetParam().expect_in_message), std::string::npos)
      << "message: " << s.message();
}

constexpr char kNode[] = R"("protos":[{"port":80,"proto":"HTTP"}])";

INSTANTIATE_TEST_SUITE_P(
    Cases, BadClusterTest,
    ::testing::Values(
        BadCase{R"({"name":"a",)", "malformed JSON"},
        BadCase{R"([1,2])", "body: expected a cluster object"},
        BadCase{R"({"name":5})", "name: expected a string"}, BadCase{R"({"name":"a/b"})", "'a/b'"},
        BadCase{R"({"name":"a","nodes":[{"ip":"300.1.1.1",)" + std::string(kNode) + "}]}",
                "nodes[0].ip: '300.1.1.1'"},
        BadCase{R"({"name":"a","nodes":[{"ip":"1.2.3",)" + std::string(kNode) + "}]}",
                "nodes[0].ip: '1.2.3'"},
        BadCase{R"({"name":"a","nodes":[{"ip":"",)" + std::string(kNode) + "}]}",
                "nodes[0].ip: ''"},
        BadCase{R"({"name":"a","nodes":[{"ip":"1.1.1.1","protos":[{"port":0,"proto":"HTTP"}]}]})",
                "nodes[0].protos[0].port: 0"},
        BadCase{
            R"({"name":"a","nodes":[{"ip":"1.1.1.1","protos":[{"port":70000,"proto":"HTTP"}]}]})",
            "nodes[0].protos[0].port: 70000"},
        BadCase{
            R"({"name":"a","nodes":[{"ip":"1.1.1.1","protos":[{"port":"80","proto":"HTTP"}]}]})",
            "nodes[0].protos[0].port: expected an integer"},
        BadCase{R"({"name":"a","nodes":[{"ip":"1.1.1.1","protos":[{"port":80,"proto":"UDP"}]}]})",
                "nodes[0].protos[0].proto: 'UDP'"},
        BadCase{R"({"name":"a","checkType":"PING"})", "checkType: 'PING'"},
        BadCase{R"({"name":"a","online":"MAYBE"})", "online: 'MAYBE'"},
        BadCase{R"({"name":"a","nodes":[{"ip":"1.1.1.1",)" + std::string(kNode) +
                    R"(},{"ip":"1.1.1.1",)" + std::string(kNode) + "}]}",
                "duplicate spec '1.1.1.1|HTTP:80'"},
        BadCase{R"({"name":"a","nodes":[{"ip":"1.1.1.1","weight":0,)" + std::string(kNode) + "}]}",
                "nodes[0].weight: 0"}));

TEST(DecodeNodeList, RefusesEmptyList) {
  std::vector<Node> nodes;
  Status s = DecodeNodeList(json::array(), &nodes);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("empty"), std::string::npos);
}

TEST(DecodeNode, OrdersProtosCanonically) {
  Node n;
  json doc =
      json::parse(R"({"ip":"::1","protos":[{"port":2,"proto":"TCP"},{"port":1,"proto":"HTTP"}]})");
  ASSERT_TRUE(DecodeNode(doc, "n", &n).ok());
  EXPECT_EQ(n.Spec(), "::1|HTTP:1|TCP:2");
}

}  // namespace
}  // namespace jcm
