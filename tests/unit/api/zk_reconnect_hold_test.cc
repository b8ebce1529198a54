// A write that meets a lost ZooKeeper connection (the NameService answers
// Unavailable) waits up to zk_reconnect_hold for it to come back and is tried
// again, as a retry: the first attempt may have been applied before the
// connection dropped. Past the hold it is refused with 503.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "model/cluster_codec.h"
#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

ApiOptions ReconnectHold(milliseconds hold) {
  ApiOptions o;
  o.write_hold = milliseconds(0);  // only the reconnect hold is under test
  o.zk_reconnect_hold = hold;
  return o;
}

class ZkReconnectHold : public ::testing::Test {
 protected:
  void SetUp() override {
    Cluster c;
    ASSERT_TRUE(DecodeCluster(json::parse(ClusterDoc("web")), &c).ok());
    api_.fake().SetCluster(c);
  }
  TestApi api_{ReconnectHold(milliseconds(5000))};
};

TEST_F(ZkReconnectHold, AWriteWaitsForTheConnectionAndIsAppliedOnceItIsBack) {
  api_.fake().FailWritesWith(Status::Unavailable("not connected to ZooKeeper (CONNECTING)"));
  auto start = std::chrono::steady_clock::now();
  auto call = std::async(std::launch::async, [&] {
    return api_.Call("POST", "/c/node/web",
                     R"([{"ip":"10.0.0.9","protos":[{"port":80,"proto":"HTTP"}]}])");
  });
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(call.wait_for(milliseconds(0)), std::future_status::timeout) << "refused at once";
  api_.fake().FailWritesWith(Status::Ok());  // reconnected
  Reply r = call.get();
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  EXPECT_NE(api_.fake().GetCluster("web")->FindNode("10.0.0.9|HTTP:80"), nullptr);
  EXPECT_GE(api_.fake().calls().size(), 2u);
  EXPECT_EQ(api_.server().CountersJson()["writesHeld"], 1);
}

TEST_F(ZkReconnectHold, AWriteCutOffByTheLossIsSentAgainAsARetry) {
  // The removal went through, then the connection dropped before the reply:
  // sent again, "already gone" is done, not a 404.
  api_.fake().FailWritesWith(Status::Unavailable("ZooKeeper unavailable: multi: connection loss"));
  auto call = std::async(std::launch::async, [&] {
    return api_.Call("DELETE", "/c/node/web", R"(["10.0.0.2|HTTP:80"])");
  });
  std::this_thread::sleep_for(milliseconds(100));
  Cluster applied = *api_.fake().GetCluster("web");
  applied.nodes.RemoveIf([](const Node& n) { return n.Spec() == "10.0.0.2|HTTP:80"; });
  api_.fake().SetCluster(applied);
  api_.fake().FailWritesWith(Status::Ok());
  Reply r = call.get();
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(api_.fake().GetCluster("web")->nodes.size(), 1u);
}

TEST(ZkReconnectHoldBound, PastTheHoldTheWriteIsRefusedWith503) {
  TestApi api(ReconnectHold(milliseconds(300)));
  api.fake().FailWritesWith(Status::Unavailable("not connected to ZooKeeper (CONNECTING)"));
  auto start = std::chrono::steady_clock::now();
  ExpectError(api.Call("POST", "/c", ClusterDoc("never")), 503, {"not connected to ZooKeeper"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(3000));
  EXPECT_GE(api.fake().calls().size(), 2u);  // tried again meanwhile
}

TEST(ZkReconnectHoldBound, TheHoldCountsFromTheLossNotFromTheWrite) {
  // ZooKeeper gone for 10 s already: no reconnection is on its way.
  TestApi api(ReconnectHold(milliseconds(2000)));
  LeaderInfo gone;
  gone.connected = false;
  gone.disconnected_ms = 10000;
  api.fake().SetLeader(gone);
  api.fake().FailWritesWith(Status::Unavailable("not connected to ZooKeeper (CONNECTING)"));
  auto start = std::chrono::steady_clock::now();
  ExpectError(api.Call("POST", "/c", ClusterDoc("never")), 503, {"not connected to ZooKeeper"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(api.fake().calls().size(), 1u);
}

TEST(ZkReconnectHoldBound, OtherRefusalsAreAnsweredAtOnce) {
  TestApi api(ReconnectHold(milliseconds(5000)));
  api.fake().FailWritesWith(Status::Conflict("someone else wrote first"));
  auto start = std::chrono::steady_clock::now();
  ExpectError(api.Call("POST", "/c", ClusterDoc("web")), 409, {"someone else"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_EQ(api.fake().calls().size(), 1u);
}

}  // namespace
}  // namespace jcm
