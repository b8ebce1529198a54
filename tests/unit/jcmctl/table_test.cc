// Table layout and the ls / get / status views, from fixed JSON.
#include <gtest/gtest.h>

#include "tools/jcmctl/cluster_views.h"
#include "tools/jcmctl/status_view.h"
#include "tools/jcmctl/table.h"

namespace jcm::ctl {
namespace {

TEST(Table, AlignsColumnsWithoutTrailingBlanks) {
  Table t({"NAME", "N", "NOTE"});
  t.AlignRight(1);
  t.AddRow({"a", "7", "x"});
  t.AddRow({"longer-name", "1234", ""});
  EXPECT_EQ(t.Render(false),
            "NAME            N  NOTE\n"
            "a               7  x\n"
            "longer-name  1234\n");
}

TEST(Table, CountsCodePointsNotBytes) {
  Table t({"U", "V"});
  t.AddRow({"é", "1"});  // 2 bytes, 1 column
  t.AddRow({"ab", "2"});
  EXPECT_EQ(t.Render(false), "U   V\né   1\nab  2\n");
  EXPECT_EQ(DisplayWidth("zone=é"), 6u);
}

TEST(Table, ColourWrapsTextButKeepsAlignment) {
  Table t({"S", "X"});
  t.AddRow({Cell("OK", Color::kGreen), "1"});
  t.AddRow({Cell("DOWN", Color::kRed), "2"});
  const std::string out = t.Render(true);
  EXPECT_EQ(out,
            "\x1b[1mS\x1b[0m     \x1b[1mX\x1b[0m\n"
            "\x1b[32mOK\x1b[0m    1\n"
            "\x1b[31mDOWN\x1b[0m  2\n");
  // Without colour no escape code at all.
  EXPECT_EQ(t.Render(false).find('\x1b'), std::string::npos);
}

nlohmann::json SampleCluster() {
  return nlohmann::json::parse(R"({
    "name": "web", "online": "ONLINE", "checkType": "HTTP", "checkFile": "/health",
    "version": 42, "statusVersion": 77, "panic": false,
    "nodes": [
      {"ip": "10.0.0.1", "protos": [{"port": 80, "proto": "HTTP"}, {"port": 81, "proto": "TCP"}],
       "online": "ONLINE", "status": "NORMAL", "lastCheck": 995000, "udata": "rack=a"},
      {"ip": "10.0.0.2", "protos": [{"port": 80, "proto": "HTTP"}], "online": "ONLINE",
       "status": "TIMEOUT", "lastCheck": 999500, "weight": 300},
      {"ip": "10.0.0.3", "protos": [{"port": 81, "proto": "TCP"}], "online": "ONLINE",
       "status": "ABNORMAL", "lastCheck": 0},
      {"ip": "10.0.0.4", "protos": [{"port": 80, "proto": "HTTP"}], "online": "ONLINE",
       "status": "INVALID"},
      {"ip": "10.0.0.5", "protos": [{"port": 80, "proto": "HTTP"}], "online": "OFFLINE",
       "status": "INVALID"}
    ]})");
}

TEST(ClusterViews, CountsByHealthWithOfflineApart) {
  HealthCounts h = CountNodes(SampleCluster());
  EXPECT_EQ(h.total, 5);
  EXPECT_EQ(h.normal, 1);
  EXPECT_EQ(h.timeout, 1);
  EXPECT_EQ(h.abnormal, 1);
  EXPECT_EQ(h.invalid, 1);
  EXPECT_EQ(h.offline, 1);
}

TEST(ClusterViews, ListShowsOneAlignedRowPerCluster) {
  nlohmann::json other = {{"name", "db"},        {"online", "OFFLINE"},
                          {"checkType", "NONE"}, {"version", 7},
                          {"panic", true},       {"nodes", nlohmann::json::array()}};
  nlohmann::json list = nlohmann::json::array({SampleCluster(), other});
  EXPECT_EQ(
      RenderClusterList(list, false),
      "NAME  STATE    NODES  NORMAL  ABNORMAL  TIMEOUT  INVALID  OFFLINE  PANIC  CHECK  "
      "VERSION\n"
      "web   ONLINE       5       1         1        1        1        1  no     HTTP        "
      "42\n"
      "db    OFFLINE      0       0         0        0        0        0  yes    NONE         "
      "7\n");
  EXPECT_EQ(RenderClusterList(nlohmann::json::array(), false), "no clusters\n");
}

TEST(ClusterViews, GetShowsHeaderAndNodeTable) {
  const std::string out = RenderCluster(SampleCluster(), 1000000, false);
  EXPECT_EQ(out,
            "Cluster:  web\n"
            "State:    ONLINE\n"
            "Check:    HTTP /health\n"
            "Version:  42 (status 77)\n"
            "Panic:    no\n"
            "Nodes:    5 (1 normal, 2 failing, 1 unchecked, 1 offline)\n"
            "\n"
            "IP        HTTP  TCP  WEIGHT  ONLINE   STATUS    LAST CHECK  UDATA\n"
            "10.0.0.1    80   81     100  ONLINE   NORMAL    5s ago      rack=a\n"
            "10.0.0.2    80    -     300  ONLINE   TIMEOUT   500ms ago\n"
            "10.0.0.3     -   81     100  ONLINE   ABNORMAL  never\n"
            "10.0.0.4    80    -     100  ONLINE   INVALID   never\n"
            "10.0.0.5    80    -     100  OFFLINE  INVALID   never\n");
}

TEST(ClusterViews, AgesReadNaturally) {
  EXPECT_EQ(FormatAge(0, 5000), "never");
  EXPECT_EQ(FormatAge(4000, 5000), "1s ago");
  EXPECT_EQ(FormatAge(4001, 5000), "999ms ago");
  EXPECT_EQ(FormatAge(1000, 1000 + 119 * 1000), "119s ago");
  EXPECT_EQ(FormatAge(1000, 1000 + 300 * 1000), "5m ago");
  EXPECT_EQ(FormatAge(1000, 1000 + 3 * 3600 * 1000LL), "3h ago");
  EXPECT_EQ(FormatAge(1000, 1000 + 50 * 3600 * 1000LL), "2d ago");
  EXPECT_EQ(FormatAge(9000, 5000), "0ms ago");  // another host's clock ahead
}

nlohmann::json SampleStatus() {
  return nlohmann::json::parse(R"({
    "self": "127.0.0.1:8601", "selfId": "jcm-0000000001", "leader": "127.0.0.1:8602",
    "zookeeper": "CONNECTED", "clusters": 4,
    "members": [
      {"id": "jcm-0000000001", "address": "127.0.0.1:8601"},
      {"id": "jcm-0000000002", "address": "127.0.0.1:8602"},
      {"id": "jcm-0000000003", "address": "127.0.0.1:8603"}],
    "health": {"checking": ["a"]}})");
}

TEST(StatusView, SharesComeFromEachMembersOwnStatus) {
  const nlohmann::json s = SampleStatus();
  std::map<std::string, nlohmann::json> members = {
      {"127.0.0.1:8601", s},
      {"127.0.0.1:8602", {{"health", {{"checking", {"b", "c", "d"}}}}}},
      {"127.0.0.1:8603", nullptr}};  // did not answer
  EXPECT_EQ(RenderStatus(s, members, false),
            "Answered by: 127.0.0.1:8601 (jcm-0000000001)\n"
            "Leader:      127.0.0.1:8602\n"
            "ZooKeeper:   CONNECTED\n"
            "Clusters:    4\n"
            "\n"
            "MEMBER          ADDRESS         ROLE      CHECKING  SHARE\n"
            "jcm-0000000001  127.0.0.1:8601  follower         1    25%\n"
            "jcm-0000000002  127.0.0.1:8602  leader           3    75%\n"
            "jcm-0000000003  127.0.0.1:8603  follower         ?      ?\n");
  nlohmann::json j = StatusJson(s, members);
  ASSERT_EQ(j["checkerShare"].size(), 3u);
  EXPECT_EQ(j["checkerShare"][1]["checking"], 3);
  EXPECT_DOUBLE_EQ(j["checkerShare"][1]["share"].get<double>(), 0.75);
  EXPECT_TRUE(j["checkerShare"][2]["share"].is_null());
  EXPECT_EQ(j["leader"], "127.0.0.1:8602");  // the status itself is kept
}

}  // namespace
}  // namespace jcm::ctl
