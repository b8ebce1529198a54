// All instances restarted: state is reloaded from ZooKeeper with every
// cluster's version unchanged — after a clean stop and after a crash of all.
#include <gtest/gtest.h>

#include <map>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class RestartAllTest : public JcmClusterTest {
 protected:
  RestartAllTest() { options_.session_timeout_ms = 2000; }

  struct Seen {
    long long version;
    std::vector<std::string> specs;
    std::string online;
  };

  std::map<std::string, Seen> Snapshot(int i) {
    std::map<std::string, Seen> out;
    for (const char* name : {"r-one", "r-two", "r-three"}) {
      auto c = cluster_->GetCluster(i, name);
      if (!c) continue;
      out[name] = Seen{(*c).value("version", -1LL), SpecsOf(*c), (*c)["online"].dump()};
    }
    return out;
  }

  void CreateState() {
    int leader = cluster_->AgreedLeader();
    ASSERT_GE(leader, 0);
    auto a = [&](int i) { return cluster_->address(i); };
    ASSERT_EQ(HttpPostJson(a(0), "/c",
                           ClusterDoc("r-one", nlohmann::json::array({NodeDoc(NthIp(1), 8080)})))
                  .status,
              200);
    ASSERT_EQ(
        HttpPostJson(a(1), "/c",
                     ClusterDoc("r-two", nlohmann::json::array({NodeDoc(NthIp(2), 8080, 9090)})))
            .status,
        200);
    ASSERT_EQ(HttpPostJson(a(2), "/c",
                           ClusterDoc("r-three", nlohmann::json::array({NodeDoc(NthIp(3), 8080)})))
                  .status,
              200);
    ASSERT_EQ(HttpPostJson(a(2), "/c/node/r-one", nlohmann::json::array({NodeDoc(NthIp(4), 8080)}))
                  .status,
              200);
    ASSERT_EQ(HttpPost(a(1), "/c/online/r-three", "false").status, 200);
    ASSERT_EQ(HttpDelete(a(0), "/c/node/r-two",
                         nlohmann::json::array({NodeSpec(NthIp(2), 8080, 9090)}).dump())
                  .status,
              200);
  }

  // The state after CreateState(), once every instance shows the same one
  // (the last write went through instance 0, so it has it first).
  std::map<std::string, Seen> ConvergedSnapshot() {
    std::map<std::string, Seen> before;
    auto same = [](const std::map<std::string, Seen>& x, const std::map<std::string, Seen>& y) {
      if (x.size() != y.size()) return false;
      for (const auto& [name, seen] : x) {
        auto it = y.find(name);
        if (it == y.end() || it->second.version != seen.version) return false;
      }
      return true;
    };
    EXPECT_TRUE(WaitUntil(
        [&] {
          before = Snapshot(0);
          return before.size() == 3 && same(before, Snapshot(1)) && same(before, Snapshot(2));
        },
        milliseconds(5000)))
        << "instances did not converge before the restart";
    return before;
  }

  void ExpectReloaded(const std::map<std::string, Seen>& before) {
    for (int i = 0; i < 3; ++i) {
      std::map<std::string, Seen> after;
      EXPECT_TRUE(WaitUntil(
          [&] {
            after = Snapshot(i);
            return after.size() == before.size();
          },
          milliseconds(10000)))
          << cluster_->address(i) << " has " << after.size() << " of " << before.size();
      for (const auto& [name, seen] : before) {
        ASSERT_TRUE(after.count(name)) << name << " missing on " << cluster_->address(i);
        EXPECT_EQ(after[name].version, seen.version) << name << " on " << cluster_->address(i);
        EXPECT_EQ(after[name].specs, seen.specs) << name << " on " << cluster_->address(i);
        EXPECT_EQ(after[name].online, seen.online) << name << " on " << cluster_->address(i);
      }
    }
  }
};

TEST_F(RestartAllTest, CleanRestartOfAllReloadsStateWithVersionsUnchanged) {
  CreateState();
  std::map<std::string, Seen> before = ConvergedSnapshot();
  ASSERT_TRUE(before["r-two"].specs.empty());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(cluster_->server(i).Term()) << cluster_->address(i);
  std::string error;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->server(i).Start(&error)) << error;
  ASSERT_GE(cluster_->WaitForLeader(milliseconds(15000)), 0);
  ExpectReloaded(before);
  // And the reloaded state takes writes that build on it.
  HttpReply w = HttpPostJson(cluster_->address(1), "/c/node/r-one",
                             nlohmann::json::array({NodeDoc(NthIp(9), 8080)}));
  ASSERT_EQ(w.status, 200) << w.Describe();
  EXPECT_GT(w.data().value("version", -1LL), before["r-one"].version);
  EXPECT_EQ(SpecsOf(*cluster_->GetCluster(1, "r-one")).size(), 3u);
}

TEST_F(RestartAllTest, CrashOfAllThenStartReloadsStateWithVersionsUnchanged) {
  CreateState();
  std::map<std::string, Seen> before = ConvergedSnapshot();
  ASSERT_TRUE(before["r-two"].specs.empty());
  for (int i = 0; i < 3; ++i) cluster_->server(i).Kill();
  std::string error;
  // Started at once: the dead instances' ephemeral znodes still exist until
  // their sessions expire, which the new ones must live through.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster_->server(i).Start(&error)) << error;
  ASSERT_GE(cluster_->WaitForLeader(milliseconds(options_.session_timeout_ms + 15000)), 0);
  ExpectReloaded(before);
  HttpReply w;
  EXPECT_TRUE(WaitUntil(
      [&] {
        w = HttpPostJson(cluster_->address(0), "/c/node/r-two",
                         nlohmann::json::array({NodeDoc(NthIp(8), 8080)}));
        return w.status == 200;
      },
      milliseconds(options_.session_timeout_ms + 5000)))
      << w.Describe();
}

}  // namespace
}  // namespace jcm::testing
