// Hostile content written straight into ZooKeeper (issue 9, item 4): cluster
// documents holding 1e400, non-JSON bytes, a zlib bomb, 100,000 levels of
// nesting, a definition copied under another name, headers of the bucketed
// form naming no buckets or not JSON, and status znodes of garbage. Every instance keeps serving
// (healthz, the good clusters, /sub), none restarts, each bad znode version is logged once, and an
// instance restarted among them comes up and serves the good clusters. Plus the ZooKeeper client's
// dispatch barrier against a throwing handler.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <stdexcept>

#include "storage/cluster_buckets.h"
#include "storage/zk_client.h"
#include "tests/integration/server/direct_zk_cluster_test.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/zlib_bomb.h"

namespace jcm::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// The hostile cluster znodes, by name, each holding what its name says.
std::map<std::string, std::string> HostileClusters() {
  return {
      {"h-1e400", R"({"name":"h-1e400","intervalMs":1e400,"nodes":[]})"},
      {"h-garbage", std::string("\x00\xff\xfe garbage \x01", 13)},
      {"h-text", "this is not json"},
      {"h-bomb", ZlibBomb(R"({"name":"h-bomb","pad":")", size_t{256} << 20)},
      {"h-deep",
       R"({"name":"h-deep","nodes":)" + std::string(100000, '[') + std::string(100000, ']') + "}"},
      {"h-types", R"({"name":"h-types","nodes":[{"ip":7,"protos":"x"}],"okCodes":[4294967496]})"},
      // A copy of "good" under another name must not shadow "good".
      {"h-shadow", R"({"name":"good","nodes":[]})"},
      // Headers of the bucketed form (issue 10 item 5): one naming buckets
      // that do not exist, one that is not JSON.
      {"h-buckets",
       std::string(ClusterBuckets::kMagic) +
           R"({"buckets":[0,0],"cluster":{"name":"h-buckets"},"generation":3,"nodes":5})"},
      {"h-header", std::string(ClusterBuckets::kMagic) + "{\"buckets\":[1e400]"},
  };
}

class HostileZnodeTest : public DirectZkClusterTest {
 protected:
  std::string StatusPath(const std::string& name) const {
    return options_.zk_root + "/status/" + name;
  }
  // Creates or overwrites a znode with exactly these bytes.
  void Write(const std::string& path, const std::string& bytes) {
    Status s = zk_->Set(path, bytes, -1, nullptr);
    if (s.IsNotFound()) s = zk_->Create(path, bytes, 0).status();
    ASSERT_TRUE(s.ok()) << path << ": " << s.ToString();
  }

  void CreateGood(const std::string& name, int ip) {
    HttpReply r = HttpPostJson(cluster_->address(ip % 3), "/c",
                               ClusterDoc(name, json::array({NodeDoc(NthIp(ip), 8080)})));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  // Waits until every instance serves `name` at version >= `min_version`.
  void ExpectEverywhere(const std::string& name, long long min_version = 1) {
    for (int i = 0; i < cluster_->size(); ++i) {
      EXPECT_TRUE(WaitUntil([&] { return cluster_->ClusterVersion(i, name) >= min_version; },
                            milliseconds(10000)))
          << name << " not served by " << cluster_->address(i);
    }
  }
  void WriteHostileZnodes() {
    for (const auto& [name, bytes] : HostileClusters()) Write(ClusterPath(name), bytes);
    Write(StatusPath("good"), "JCMS\x01garbage");
    Write(StatusPath("h-status"), std::string(5000, '\xff'));
  }
  // Everything a healthy instance does, checked on instance i.
  void ExpectServing(int i, long long good_version) {
    const std::string a = cluster_->address(i);
    EXPECT_EQ(HttpGet(a, "/healthz").status, 200) << a;
    EXPECT_EQ(cluster_->ClusterVersion(i, "good"), good_version) << a;
    auto good = cluster_->GetCluster(i, "good");
    ASSERT_TRUE(good) << a;
    EXPECT_EQ(SpecsOf(*good), (std::vector<std::string>{NodeSpec(NthIp(1), 8080)})) << a;
    for (const auto& [name, bytes] : HostileClusters()) {
      EXPECT_EQ(cluster_->ClusterVersion(i, name), -1) << name << " served by " << a;
    }
    HttpReply sub = HttpPostJson(
        a, "/sub", json{{"tag", "hostile"}, {"units", {{{"name", "good"}, {"version", 0}}}}});
    ASSERT_EQ(sub.status, 200) << a << " " << sub.Describe();
    ASSERT_TRUE(sub.json.contains("units")) << sub.body;
    ASSERT_EQ(sub.json["units"].size(), 1u) << sub.body;
    EXPECT_EQ(sub.json["units"][0]["kind"], "RESP_UPDATE") << sub.body;
  }
};

TEST_F(HostileZnodeTest, EveryInstanceKeepsServingAndLogsEachBadVersionOnce) {
  CreateGood("good", 1);
  CreateGood("victim", 2);
  ExpectEverywhere("good");
  ExpectEverywhere("victim");
  const long long good_version = cluster_->ClusterVersion(0, "good");
  const long long victim_version = cluster_->ClusterVersion(0, "victim");
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i) pids.push_back(cluster_->server(i).pid());

  const int leader = cluster_->AgreedLeader();
  WriteHostileZnodes();
  // A held cluster overwritten with garbage keeps its last good definition.
  Write(ClusterPath("victim"), R"({"name":"victim","rise":1e400})");
  // Writes after the hostile ones: once every instance shows them, every
  // instance has been through the hostile znodes (each children change
  // re-reads every cluster it does not hold).
  CreateGood("after-1", 3);
  ExpectEverywhere("after-1");
  CreateGood("after-2", 4);
  ExpectEverywhere("after-2");

  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(cluster_->address(i));
    ExpectServing(i, good_version);
    EXPECT_EQ(cluster_->ClusterVersion(i, "victim"), victim_version);
    EXPECT_TRUE(cluster_->server(i).running());
    EXPECT_EQ(cluster_->server(i).pid(), pids[static_cast<size_t>(i)]) << "restarted";
    // Re-read at least twice (two children changes), logged once.
    const std::string log = cluster_->server(i).log();
    for (const auto& [name, bytes] : HostileClusters()) {
      EXPECT_EQ(Count(log, "event=cluster_znode_unreadable path=" + ClusterPath(name) + " "), 1u)
          << name;
    }
    // The instance that wrote "victim" (the leader) holds no data watch on
    // it (ClusterService arms none after its own Save), so it may never
    // re-read it; every instance that did logged it once.
    const size_t victim_logs =
        Count(log, "event=cluster_znode_unreadable path=" + ClusterPath("victim") + " ");
    if (i == leader) {
      EXPECT_LE(victim_logs, 1u);
    } else {
      EXPECT_EQ(victim_logs, 1u);
    }
    std::optional<json> st = cluster_->Status(i);
    ASSERT_TRUE(st);
    EXPECT_EQ((*st)["health"].value("statusDecodeErrors", -1), 2) << st->dump();
  }

  // A new bad version is logged again, once.
  Write(ClusterPath("h-text"), "still not json");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          return Count(cluster_->server(i).log(),
                       "event=cluster_znode_unreadable path=" + ClusterPath("h-text") + " ") == 2;
        },
        milliseconds(10000)))
        << cluster_->address(i);
  }
  // A repaired znode is served again.
  Write(ClusterPath("h-1e400"),
        ClusterDoc("h-1e400", json::array({NodeDoc(NthIp(5), 8080)})).dump());
  ExpectEverywhere("h-1e400");
  // And the instances still take writes.
  HttpReply w =
      HttpPostJson(cluster_->address(2), "/c/node/good", json::array({NodeDoc(NthIp(6), 8080)}));
  EXPECT_EQ(w.status, 200) << w.Describe();
  ExpectEverywhere("good", good_version + 1);

  // Deep nesting through the API (issue 9 item 6): a POST /c whose "nodes"
  // is 100,000 nested arrays used to kill the process with SIGSEGV.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  HttpReply post = HttpPost(cluster_->address(1), "/c", R"({"name":"deep","nodes":)" + deep + "}");
  EXPECT_EQ(post.status, 400) << post.Describe();
  EXPECT_NE(post.msg().find("body: nested deeper than 64"), std::string::npos) << post.Describe();
  HttpReply sub = HttpPost(cluster_->address(2), "/sub", R"({"units":)" + deep + "}");
  EXPECT_EQ(sub.status, 400) << sub.Describe();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(HttpGet(cluster_->address(i), "/healthz").status, 200) << cluster_->address(i);
    EXPECT_EQ(cluster_->server(i).pid(), pids[static_cast<size_t>(i)]) << "restarted";
  }
}

TEST_F(HostileZnodeTest, InstanceRestartedAmongBadZnodesServesTheGoodClusters) {
  CreateGood("good", 1);
  ExpectEverywhere("good");
  const long long good_version = cluster_->ClusterVersion(0, "good");
  WriteHostileZnodes();
  CreateGood("after-1", 3);
  ExpectEverywhere("after-1");

  // A crash and a clean restart, both with the bad znodes present.
  std::string error;
  ASSERT_TRUE(cluster_->server(1).Restart(&error, /*hard=*/true)) << error;
  ASSERT_TRUE(cluster_->server(2).Restart(&error, /*hard=*/false)) << error;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(cluster_->address(i));
    EXPECT_TRUE(
        WaitUntil([&] { return cluster_->ClusterVersion(i, "after-1") > 0; }, milliseconds(10000)));
    ExpectServing(i, good_version);
  }
  EXPECT_GE(cluster_->WaitForLeader(milliseconds(options_.session_timeout_ms + 15000)), 0);
}

// The dispatch thread's barrier: a handler that throws on every watch event
// does not end the process, and later events are still delivered.
TEST(ZkDispatchBarrier, ThrowingHandlerDoesNotStopTheDispatchThread) {
  ZkServer zk;
  std::string error;
  ASSERT_TRUE(zk.Start(&error)) << error;
  std::atomic<int> created{0};
  std::unique_ptr<ZkClient> client;
  client = std::make_unique<ZkClient>(ZkClient::Options{zk.connect_string(), 5000},
                                      [&](const ZkEvent& ev) {
                                        if (ev.type != ZkEvent::Type::kCreated) return;
                                        created.fetch_add(1);
                                        throw std::runtime_error("handler bug on " + ev.path);
                                      });
  ASSERT_TRUE(client->Start().ok());
  ASSERT_TRUE(client->WaitConnected(10000));
  for (int i = 0; i < 3; ++i) {
    const std::string path = "/barrier-" + std::to_string(i);
    ASSERT_TRUE(client->Exists(path, nullptr, true).IsNotFound());
    ASSERT_TRUE(client->Create(path, "", 0).ok());
    EXPECT_TRUE(WaitUntil([&] { return created.load() == i + 1; }, milliseconds(5000))) << i;
  }
  client->Close();
}

}  // namespace
}  // namespace jcm::testing
