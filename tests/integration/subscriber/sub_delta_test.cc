// Delta replies with a real ZooKeeper and three jcm-servers: a
// libjcm-subscriber of a 3,000-node cluster (stored as header + buckets)
// follows thirty writes made through another instance. It gets each
// version as the changed nodes only (RESP_DELTA), and ends holding, node by
// node, what the instance it polls serves.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>

#include "tests/integration/subscriber/sub_fixture.h"
#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kSeed = 3000;
constexpr int kWrites = 30;

class SubDeltaTest : public SubscriberClusterTest {
 protected:
  SubDeltaTest() : SubscriberClusterTest(45) {}
};

// spec -> online, of what the subscriber holds.
std::map<std::string, bool> Held(const Subscriber& sub, const std::string& name) {
  std::map<std::string, bool> out;
  Result<ClusterInfo> info = sub.GetCluster(name);
  if (!info.ok()) return out;
  for (const NodeInfo& n : info.value().nodes) out[NodeSpec(n.ip, n.http_port)] = n.online;
  return out;
}

TEST_F(SubDeltaTest, ASubscriberFollowsALargeClusterByDeltas) {
  nlohmann::json doc = {{"name", "big"}, {"checkType", "NONE"}, {"nodes", nlohmann::json::array()}};
  for (int i = 0; i < kSeed; ++i) doc["nodes"].push_back(NodeDoc(NthIp(i), 8080));
  HttpReply put = HttpPostJson(cluster_->address(0), "/c", doc);
  ASSERT_EQ(put.status, 200) << put.Describe();

  // Polls instance 2 only, so every delta starts from what that instance
  // served it; writes go through instance 1.
  SubscriberOptions options = Options({"big"});
  options.servers = {cluster_->address(2)};
  std::unique_ptr<Subscriber> sub = StartSubscriber(options);
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return Held(*sub, "big").size() == kSeed; }, milliseconds(10000),
                        milliseconds(5)));

  for (int i = 0; i < kWrites; ++i) {
    HttpReply r;
    const std::string path = "/c/node/big";
    switch (i % 3) {
      case 0:
        r = HttpPostJson(cluster_->address(1), path,
                         nlohmann::json::array({NodeDoc(NthIp(20000 + i), 8080)}));
        break;
      case 1:
        r = HttpDelete(cluster_->address(1), path,
                       nlohmann::json::array({NodeSpec(NthIp(i), 8080)}).dump());
        break;
      default:
        r = HttpPostJson(cluster_->address(1), "/c/node/online/big",
                         {{"spec", NodeSpec(NthIp(100 + i), 8080)}, {"online", false}});
    }
    ASSERT_EQ(r.status, 200) << i << ": " << r.Describe();
    const long long version = r.data().value("version", -1LL);
    ASSERT_TRUE(WaitUntil(
        [&] {
          Result<ClusterInfo> info = sub->GetCluster("big");
          return info.ok() && info.value().version >= version;
        },
        milliseconds(10000), milliseconds(2)))
        << "write " << i << " (version " << version << ") never reached the subscriber";
  }

  // What the subscriber holds is what the instance serves, node by node.
  std::optional<nlohmann::json> served = cluster_->GetCluster(2, "big");
  ASSERT_TRUE(served.has_value());
  std::map<std::string, bool> want;
  for (const nlohmann::json& n : (*served)["nodes"]) {
    want[NodeSpec(n.value("ip", ""), n["protos"][0].value("port", 0))] =
        n.value("online", "") == "ONLINE";
  }
  ASSERT_EQ(want.size(), static_cast<size_t>(kSeed));  // 10 added, 10 removed
  EXPECT_EQ(Held(*sub, "big"), want);
  EXPECT_EQ(sub->GetCluster("big").value().version, (*served).value("version", -2LL));

  // Most versions came as deltas: a long poll can find two writes landed,
  // and a delta is made only from a version the instance still holds.
  SubscriberStats stats = sub->stats();
  std::printf("%d writes: %llu versions as deltas, %llu updates in all\n", kWrites,
              static_cast<unsigned long long>(stats.delta_updates),
              static_cast<unsigned long long>(stats.updates));
  EXPECT_GE(stats.delta_updates, static_cast<uint64_t>(kWrites * 2 / 3))
      << "updates " << stats.updates << ", bad units " << stats.bad_units;
  EXPECT_EQ(stats.bad_units, 0u);
  HttpReply st = HttpGet(cluster_->address(2), "/sys/status");
  ASSERT_EQ(st.status, 200);
  const nlohmann::json api = st.data()["api"];
  EXPECT_GE(api.value("subDeltaUnits", 0), kWrites * 2 / 3) << api.dump();
}

}  // namespace
}  // namespace jcm::testing
