// Issue 9 item 4 (members): member znodes nobody of ours wrote, with a
// sequence that does not fit 64 bits or an address that is not a string,
// are logged once and skipped; every instance keeps running and serving,
// and one started afterwards starts.
#include <gtest/gtest.h>

#include "storage/zk_client.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

class HostileMembersTest : public JcmClusterTest {};

TEST_F(HostileMembersTest, BadMemberZnodesAreSkippedAndEveryInstanceServes) {
  const int leader = cluster_->WaitForLeader(milliseconds(10000));
  ASSERT_GE(leader, 0);
  ZkClient zk(ZkClient::Options{cluster_->zk().connect_string(), 4000}, [](const ZkEvent&) {});
  ASSERT_TRUE(zk.Start().ok());
  ASSERT_TRUE(zk.WaitConnected(10000));
  const std::string servers = options_.zk_root + "/servers/";
  // A sequence over 64 bits, and a member ordered before every real one
  // whose address is a number: if it counted it would be the leader.
  ASSERT_TRUE(
      zk.Create(servers + "member-99999999999999999999", R"({"address":"127.0.0.1:1"})", 0).ok());
  ASSERT_TRUE(zk.Create(servers + "member-0000000000", R"({"address":12345,"started":1})", 0).ok());
  ASSERT_TRUE(zk.Create(servers + "member-0000000001", "not json at all", 0).ok());
  // More membership events, so each instance re-reads the list a few times.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(zk.Create(servers + "other-" + std::to_string(i), "", 0).ok());
  }

  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          std::string log = cluster_->server(i).log();
          return Count(log, "member-99999999999999999999") > 0 &&
                 Count(log, "member-0000000000\"") > 0;
        },
        milliseconds(10000)))
        << cluster_->address(i) << " did not report the bad members";
  }
  EXPECT_EQ(cluster_->AgreedLeader(), leader) << "a bad znode changed the election";
  const int follower = cluster_->AFollower(leader);
  HttpReply w = HttpPostJson(cluster_->address(follower), "/c",
                             ClusterDoc("hm", nlohmann::json::array({NodeDoc(NthIp(1), 8080)})));
  ASSERT_EQ(w.status, 200) << w.Describe();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(cluster_->server(i).running()) << cluster_->address(i);
    auto st = cluster_->Status(i);
    ASSERT_TRUE(st) << cluster_->address(i);
    EXPECT_EQ((*st)["members"].size(), 3u) << st->dump();
    EXPECT_TRUE(
        WaitUntil([&] { return cluster_->ClusterVersion(i, "hm") > 0; }, milliseconds(5000)));
    std::string log = cluster_->server(i).log();
    EXPECT_EQ(Count(log, "id=\"member-99999999999999999999\""), 1u) << "logged once";
    EXPECT_EQ(Count(log, "id=\"member-0000000000\""), 1u) << "logged once";
  }

  // An instance started with them in place starts and joins.
  std::string error;
  ASSERT_TRUE(cluster_->server(follower).Restart(&error)) << error;
  EXPECT_EQ(cluster_->WaitForLeader(milliseconds(15000)), leader);
  EXPECT_TRUE(cluster_->server(follower).running());
  zk.Close();
}

}  // namespace
}  // namespace jcm::testing
