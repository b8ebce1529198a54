// The subscriber library against instances that name a read token: with
// the token it gets the cluster; without one every poll is refused (401) and
// it holds nothing, never a removal.
#include <gtest/gtest.h>

#include <jcm/subscriber.h>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

const std::string kWrite = "sub-token-test-write-01";
const std::string kRead = "sub-token-test-read-001";

class SubTokenTest : public JcmClusterTest {
 protected:
  SubTokenTest() {
    options_.write_token = kWrite;
    options_.read_token = kRead;
    SetTestWriteToken(kWrite);
  }
  ~SubTokenTest() override { SetTestWriteToken(""); }

  std::unique_ptr<Subscriber> Start(const std::string& token) {
    SubscriberOptions o;
    for (int i = 0; i < cluster_->size(); ++i) o.servers.push_back(cluster_->address(i));
    o.clusters = {"tok"};
    o.poll_interval = milliseconds(100);
    o.long_poll_wait = milliseconds(0);
    o.token = token;
    auto created = Subscriber::Create(std::move(o));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return nullptr;
    std::unique_ptr<Subscriber> sub = std::move(created).value();
    // Unavailable when no server gave data (the token-less one); polling
    // goes on regardless.
    Status started = sub->Start();
    EXPECT_EQ(started.ok(), !token.empty()) << started.ToString();
    return sub;
  }
};

TEST_F(SubTokenTest, TheTokenOpensSubscriptionsAndItsAbsenceIsRefused) {
  HttpReply put = HttpPostJson(
      cluster_->address(0), "/c",
      ClusterDoc("tok", nlohmann::json::array({NodeDoc(NthIp(1), 8080), NodeDoc(NthIp(2), 8080)})));
  ASSERT_EQ(put.status, 200) << put.Describe();

  std::unique_ptr<Subscriber> with = Start(kRead);
  std::unique_ptr<Subscriber> without = Start("");
  ASSERT_TRUE(with && without);
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto info = with->GetCluster("tok");
        return info.ok() && info.value().source == ClusterInfo::Source::kServer &&
               info.value().nodes.size() == 2;
      },
      milliseconds(5000)));
  ASSERT_TRUE(WaitUntil([&] { return without->stats().poll_failures >= 3; }, milliseconds(5000)));
  auto info = without->GetCluster("tok");
  EXPECT_TRUE(!info.ok() || info.value().nodes.empty());
  EXPECT_EQ(with->stats().poll_failures, 0u);
}

}  // namespace
}  // namespace jcm::testing
