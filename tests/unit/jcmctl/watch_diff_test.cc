// The change lines of `jcmctl watch`: node states from cluster documents and
// from RESP_STATUS's invalids, and their diff.
#include <gtest/gtest.h>

#include "tools/jcmctl/node_change.h"

namespace jcm::ctl {
namespace {

using K = NodeChange::Kind;

nlohmann::json Node(const std::string& ip, const std::string& status, bool online = true,
                    int tcp = 0) {
  nlohmann::json protos = nlohmann::json::array();
  if (tcp) protos.push_back({{"port", tcp}, {"proto", "TCP"}});  // TCP listed first on purpose
  protos.push_back({{"port", 80}, {"proto", "HTTP"}});
  return {{"ip", ip},
          {"protos", protos},
          {"online", online ? "ONLINE" : "OFFLINE"},
          {"status", status}};
}

nlohmann::json Cluster(std::vector<nlohmann::json> nodes) {
  return {{"name", "c"}, {"nodes", nodes}};
}

// RESP_DELTA: removed specs go, listed nodes are set (new or changed).
TEST(WatchDiff, DeltaRemovesAndSetsWhatItNames) {
  NodeStates held = StatesOfCluster(Cluster(
      {Node("10.0.0.1", "NORMAL"), Node("10.0.0.2", "NORMAL"), Node("10.0.0.3", "NORMAL")}));
  NodeStates now =
      ApplyDelta(held, nlohmann::json::array({"10.0.0.1|HTTP:80", 7}),
                 Cluster({Node("10.0.0.2", "TIMEOUT"), Node("10.0.0.4", "INVALID", true, 81)}));
  ASSERT_EQ(now.size(), 3u);
  EXPECT_EQ(now.count("10.0.0.1|HTTP:80"), 0u);
  EXPECT_EQ(now["10.0.0.2|HTTP:80"].status, "TIMEOUT");
  EXPECT_EQ(now["10.0.0.3|HTTP:80"].status, "NORMAL");
  EXPECT_EQ(now["10.0.0.4|HTTP:80|TCP:81"].status, "INVALID");
  std::vector<NodeChange> changes = DiffNodes(held, now);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0], (NodeChange{K::kRemoved, "10.0.0.1|HTTP:80", ""}));
  EXPECT_EQ(changes[1].kind, K::kAdded);
  EXPECT_EQ(changes[1].spec, "10.0.0.4|HTTP:80|TCP:81");
  EXPECT_EQ(changes[2], (NodeChange{K::kDown, "10.0.0.2|HTTP:80", "TIMEOUT"}));
  // A malformed delta changes nothing it cannot read.
  EXPECT_EQ(ApplyDelta(held, "not an array", nlohmann::json()), held);
}

TEST(WatchDiff, StatesAreKeyedByCanonicalSpec) {
  NodeStates s = StatesOfCluster(Cluster({Node("10.0.0.1", "NORMAL", true, 81)}));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.begin()->first, "10.0.0.1|HTTP:80|TCP:81");
  EXPECT_TRUE(s.begin()->second.usable());
  EXPECT_TRUE(StatesOfCluster(nlohmann::json::object()).empty());
}

TEST(WatchDiff, ReportsEveryKindOfChange) {
  NodeStates before = StatesOfCluster(Cluster({
      Node("10.0.0.1", "NORMAL"),          // goes down
      Node("10.0.0.2", "TIMEOUT"),         // comes up
      Node("10.0.0.3", "NORMAL"),          // removed
      Node("10.0.0.4", "NORMAL"),          // switched offline
      Node("10.0.0.5", "INVALID", false),  // switched online, not checked yet
      Node("10.0.0.6", "NORMAL"),          // unchanged
  }));
  NodeStates after = StatesOfCluster(Cluster({
      Node("10.0.0.1", "ABNORMAL"), Node("10.0.0.2", "NORMAL"), Node("10.0.0.4", "INVALID", false),
      Node("10.0.0.5", "INVALID"), Node("10.0.0.6", "NORMAL"),
      Node("10.0.0.7", "INVALID"),  // added
  }));
  std::vector<NodeChange> want = {
      {K::kRemoved, "10.0.0.3|HTTP:80", ""},        {K::kAdded, "10.0.0.7|HTTP:80", "INVALID"},
      {K::kDown, "10.0.0.1|HTTP:80", "ABNORMAL"},   {K::kUp, "10.0.0.2|HTTP:80", "NORMAL"},
      {K::kOffline, "10.0.0.4|HTTP:80", "INVALID"}, {K::kOnline, "10.0.0.5|HTTP:80", "INVALID"},
  };
  EXPECT_EQ(DiffNodes(before, after), want);
  EXPECT_TRUE(DiffNodes(after, after).empty());
}

TEST(WatchDiff, OnlineAndAlreadyNormalAlsoSaysUp) {
  NodeStates before = StatesOfCluster(Cluster({Node("10.0.0.1", "NORMAL", false)}));
  NodeStates after = StatesOfCluster(Cluster({Node("10.0.0.1", "NORMAL", true)}));
  std::vector<NodeChange> want = {{K::kOnline, "10.0.0.1|HTTP:80", "NORMAL"},
                                  {K::kUp, "10.0.0.1|HTTP:80", "NORMAL"}};
  EXPECT_EQ(DiffNodes(before, after), want);
}

TEST(WatchDiff, InvalidsMarkDownAndEverythingElseNormal) {
  NodeStates held =
      StatesOfCluster(Cluster({Node("10.0.0.1", "NORMAL"), Node("10.0.0.2", "TIMEOUT"),
                               Node("10.0.0.3", "INVALID", false)}));
  NodeStates now = ApplyInvalids(held, {"10.0.0.1|HTTP:80", "10.0.0.3|HTTP:80"});
  EXPECT_EQ(now["10.0.0.1|HTTP:80"].status, "DOWN");
  EXPECT_EQ(now["10.0.0.2|HTTP:80"].status, "NORMAL");
  EXPECT_EQ(now["10.0.0.3|HTTP:80"].status, "INVALID");  // stays offline and unchanged
  std::vector<NodeChange> want = {{K::kDown, "10.0.0.1|HTTP:80", "DOWN"},
                                  {K::kUp, "10.0.0.2|HTTP:80", "NORMAL"}};
  EXPECT_EQ(DiffNodes(held, now), want);
}

TEST(WatchDiff, LinesCarryTimeClusterKindSpecStatus) {
  // 2026-12-01T00:30:12.345Z
  const int64_t t = 1796085012345LL;
  EXPECT_EQ(FormatTimestamp(t), "2026-12-01T00:30:12.345Z");
  EXPECT_EQ(FormatChangeLine(t, "web", {K::kAdded, "10.0.0.7|HTTP:80", "INVALID"}),
            "2026-12-01T00:30:12.345Z  web  added    10.0.0.7|HTTP:80  INVALID");
  EXPECT_EQ(FormatChangeLine(t, "web", {K::kRemoved, "10.0.0.3|HTTP:80", ""}),
            "2026-12-01T00:30:12.345Z  web  removed  10.0.0.3|HTTP:80");
  nlohmann::json j = ChangeJson(t, "web", {K::kDown, "10.0.0.1|HTTP:80", "TIMEOUT"});
  EXPECT_EQ(j, nlohmann::json::parse(R"({"time":"2026-12-01T00:30:12.345Z","cluster":"web",
      "change":"down","spec":"10.0.0.1|HTTP:80","status":"TIMEOUT"})"));
}

}  // namespace
}  // namespace jcm::ctl
