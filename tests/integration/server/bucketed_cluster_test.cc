// Issue 10 item 5 with a real ZooKeeper and three jcm-servers: a large
// cluster an older jcm stored inline (one zlib znode) loads; the first node
// added through a follower migrates it to a header plus hash buckets; all
// three instances serve the same nodes at the same version; the leader is
// SIGKILLed while adds flow and no acknowledged node is lost; buckets a
// dead leader's rewrite left behind are deleted by the next leader's first
// write. Followers one write behind apply what each header says the write
// changed, and serve what ZooKeeper's buckets hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "storage/cluster_buckets.h"
#include "storage/cluster_store.h"
#include "tests/integration/server/direct_zk_cluster_test.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kSeed = 3000;

class BucketedClusterTest : public DirectZkClusterTest {
 protected:
  BucketedClusterTest() { options_.session_timeout_ms = 2500; }

  std::string Data(const std::string& path) {
    Result<std::string> d = zk_->Get(path, nullptr, false);
    return d.ok() ? d.value() : std::string();
  }
  std::vector<std::string> Children(const std::string& path) {
    Result<std::vector<std::string>> c = zk_->GetChildren(path, false);
    return c.ok() ? c.value() : std::vector<std::string>{};
  }
  std::set<std::string> Specs(int i, const std::string& name) {
    auto c = cluster_->GetCluster(i, name);
    if (!c) return {};
    std::vector<std::string> v = SpecsOf(*c);
    return {v.begin(), v.end()};
  }
  // The leader and the two followers, once a leader is elected.
  bool LeaderAndFollowers(int* leader, int* f1, int* f2) {
    *leader = cluster_->WaitForLeader(milliseconds(5000));
    if (*leader < 0) return false;
    *f1 = cluster_->AFollower(*leader);
    *f2 = cluster_->AFollower(*leader, {*f1});
    return *f1 >= 0 && *f2 >= 0;
  }
  // Every instance in `who` holds `name` at one version; returns it (or -1).
  long long AgreedVersion(const std::vector<int>& who, const std::string& name) {
    long long v = -1;
    bool same = WaitUntil(
        [&] {
          v = cluster_->ClusterVersion(who[0], name);
          for (int i : who) {
            if (cluster_->ClusterVersion(i, name) != v) return false;
          }
          return v > 0;
        },
        milliseconds(5000));
    return same ? v : -1;
  }
};

TEST_F(BucketedClusterTest, InlineClusterMigratesAndSurvivesALeaderKill) {
  int leader = -1, f1 = -1, f2 = -1;
  ASSERT_TRUE(LeaderAndFollowers(&leader, &f1, &f2));

  // As an older jcm wrote it: the whole cluster in one zlib znode.
  Cluster old;
  old.name = "legacy";
  old.check_type = CheckType::kNone;
  for (int i = 0; i < kSeed; ++i) {
    Node n;
    n.ip = NthIp(i);
    n.protos.push_back({8080, Proto::kHttp});
    old.nodes.push_back(n);
  }
  Result<std::string> bytes = ClusterStore::Encode(old);
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(static_cast<unsigned char>(bytes.value()[0]), 0x78);  // zlib
  ASSERT_TRUE(zk_->Create(ClusterPath("legacy"), bytes.value(), 0).ok());
  ASSERT_GT(AgreedVersion({0, 1, 2}, "legacy"), 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Specs(i, "legacy").size(), static_cast<size_t>(kSeed));

  // One node added through a follower: the cluster moves to buckets.
  HttpReply add = HttpPostJson(cluster_->address(f1), "/c/node/legacy",
                               nlohmann::json::array({NodeDoc(NthIp(kSeed), 8080)}));
  ASSERT_EQ(add.status, 200) << add.Describe();
  const long long v = add.data().value("version", -1LL);
  ASSERT_EQ(AgreedVersion({0, 1, 2}, "legacy"), v);
  const std::string header = Data(ClusterPath("legacy"));
  ASSERT_TRUE(ClusterBuckets::IsHeader(header)) << header.substr(0, 40);
  ClusterBuckets::Header h;
  ASSERT_TRUE(ClusterBuckets::DecodeHeader(header, &h).ok());
  EXPECT_EQ(h.node_count, static_cast<uint32_t>(kSeed + 1));
  EXPECT_EQ(Children(ClusterPath("legacy")).size(), h.versions.size());
  for (int i = 0; i < 3; ++i) {
    std::set<std::string> specs = Specs(i, "legacy");
    EXPECT_EQ(specs.size(), static_cast<size_t>(kSeed + 1)) << cluster_->address(i);
    EXPECT_TRUE(specs.count(NodeSpec(NthIp(kSeed), 8080))) << cluster_->address(i);
  }

  // A dead leader's unfinished rewrite left buckets of a later generation.
  const std::string leftover =
      ClusterPath("legacy") + "/" + ClusterBuckets::BucketName(h.generation + 7, 0);
  ASSERT_TRUE(zk_->Create(leftover, "[]", 0).ok());

  // Adds through both followers, paced; the leader dies once 20 are acked.
  std::mutex mu;
  std::vector<int> acked;
  std::atomic<int> acked_count{0};
  std::atomic<int> acked_after_kill{0};
  std::atomic<bool> killed{false};
  std::thread sender([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(12);
    for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
      if (killed && acked_after_kill >= 5) break;
      const int target = i % 2 == 0 ? f1 : f2;
      HttpReply r = HttpPostJson(cluster_->address(target), "/c/node/legacy",
                                 nlohmann::json::array({NodeDoc(NthIp(20000 + i), 8080)}),
                                 milliseconds(3000));
      if (r.status == 200 && r.code() == 0) {
        std::lock_guard lock(mu);
        acked.push_back(i);
        ++acked_count;
        if (killed) ++acked_after_kill;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  ASSERT_TRUE(WaitUntil([&] { return acked_count >= 20; }, milliseconds(8000)));
  cluster_->server(leader).Kill();
  killed = true;
  sender.join();
  EXPECT_GT(acked_after_kill.load(), 0) << "no write served after the kill";

  const int new_leader = cluster_->WaitForLeader(milliseconds(10000), {leader});
  ASSERT_GE(new_leader, 0);
  ASSERT_NE(new_leader, leader);
  const long long final_version = AgreedVersion({f1, f2}, "legacy");
  ASSERT_GT(final_version, v);
  for (int s : {f1, f2}) {
    std::set<std::string> specs = Specs(s, "legacy");
    for (int i : acked) {
      EXPECT_TRUE(specs.count(NodeSpec(NthIp(20000 + i), 8080)))
          << "acknowledged node " << i << " missing on " << cluster_->address(s);
    }
    EXPECT_EQ(specs.size(), Specs(f1, "legacy").size());
  }
  // What ZooKeeper holds is what they serve, and the leftover is gone.
  ASSERT_TRUE(ClusterBuckets::DecodeHeader(Data(ClusterPath("legacy")), &h).ok());
  EXPECT_EQ(h.node_count, Specs(f1, "legacy").size());
  std::vector<std::string> kids = Children(ClusterPath("legacy"));
  EXPECT_EQ(kids.size(), h.versions.size());
  EXPECT_EQ(std::count(kids.begin(), kids.end(), ClusterBuckets::BucketName(h.generation + 7, 0)),
            0)
      << "leftover bucket of a dead rewrite still there";

  // Deleting the cluster takes its buckets with it.
  HttpReply del = HttpDelete(cluster_->address(f1), "/c/legacy");
  ASSERT_EQ(del.status, 200) << del.Describe();
  EXPECT_FALSE(zk_->Exists(ClusterPath("legacy"), nullptr, false).ok());
  EXPECT_TRUE(WaitUntil([&] { return !cluster_->GetCluster(f2, "legacy").has_value(); },
                        milliseconds(5000)));
}

// Writes through one follower, one at a time: the other follower is one
// write behind at each watch event and applies the header's changes (no
// bucket read); every instance then serves, node by node, what a reader of
// ZooKeeper's buckets gets.
TEST_F(BucketedClusterTest, FollowersApplyWhatEachHeaderSaysAndServeTheBuckets) {
  int leader = -1, f1 = -1, f2 = -1;
  ASSERT_TRUE(LeaderAndFollowers(&leader, &f1, &f2));
  nlohmann::json doc = {{"name", "big"}, {"checkType", "NONE"}, {"nodes", nlohmann::json::array()}};
  for (int i = 0; i < kSeed; ++i) doc["nodes"].push_back(NodeDoc(NthIp(i), 8080));
  HttpReply put = HttpPostJson(cluster_->address(leader), "/c", doc);
  ASSERT_EQ(put.status, 200) << put.Describe();
  ASSERT_TRUE(ClusterBuckets::IsHeader(Data(ClusterPath("big"))));
  ASSERT_GT(AgreedVersion({0, 1, 2}, "big"), 0);

  constexpr int kWrites = 30;
  for (int i = 0; i < kWrites; ++i) {
    HttpReply r;
    const std::string path = "/c/node/big";
    switch (i % 3) {
      case 0:
        r = HttpPostJson(cluster_->address(f1), path,
                         nlohmann::json::array({NodeDoc(NthIp(20000 + i), 8080)}));
        break;
      case 1:
        r = HttpDelete(cluster_->address(f1), path,
                       nlohmann::json::array({NodeSpec(NthIp(i), 8080)}).dump());
        break;
      default:
        r = HttpPostJson(cluster_->address(f1), "/c/node/online/big",
                         {{"spec", NodeSpec(NthIp(100 + i), 8080)}, {"online", false}});
    }
    ASSERT_EQ(r.status, 200) << i << ": " << r.Describe();
    ASSERT_EQ(AgreedVersion({0, 1, 2}, "big"), r.data().value("version", -1LL)) << i;
  }

  ClusterStore fresh(zk_.get(), options_.zk_root);
  Result<StoredCluster> stored = fresh.Load("big", false);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->cluster.nodes.size(), static_cast<size_t>(kSeed));  // 10 added, 10 removed
  EXPECT_EQ(std::count_if(stored->cluster.nodes.begin(), stored->cluster.nodes.end(),
                          [](const Node& n) { return !n.online; }),
            kWrites / 3);
  for (int s = 0; s < 3; ++s) {
    auto held = cluster_->GetCluster(s, "big");
    ASSERT_TRUE(held.has_value()) << cluster_->address(s);
    ASSERT_EQ((*held)["nodes"].size(), stored->cluster.nodes.size()) << cluster_->address(s);
    std::map<std::string, bool> online;  // by spec
    for (const nlohmann::json& n : (*held)["nodes"]) {
      online[NodeSpec(n.value("ip", ""), n["protos"][0].value("port", 0))] =
          n.value("online", "") == "ONLINE";
    }
    for (const Node& n : stored->cluster.nodes) {
      auto it = online.find(n.Spec());
      ASSERT_NE(it, online.end()) << n.Spec() << " missing on " << cluster_->address(s);
      EXPECT_EQ(it->second, n.online) << n.Spec() << " on " << cluster_->address(s);
    }
  }
  // The follower that took no write brought (almost) every version in by
  // its header: a watch event can find two writes landed, never most.
  HttpReply st = HttpGet(cluster_->address(f2), "/sys/status");
  ASSERT_EQ(st.status, 200);
  const nlohmann::json deltas = st.data()["reloads"]["headerDeltas"];
  EXPECT_GE(deltas.value("applied", 0), kWrites * 2 / 3) << deltas.dump();
  EXPECT_EQ(deltas.value("refused", -1), 0) << deltas.dump();
}

}  // namespace
}  // namespace jcm::testing
