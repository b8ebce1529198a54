// A cluster created while a subscriber already asks for it is visible to the
// subscriber within one poll interval of the create reply.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/subscriber/sub_fixture.h"
#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class SubVisibilityTest : public SubscriberClusterTest {
 protected:
  SubVisibilityTest() : SubscriberClusterTest(41) {}
};

TEST_F(SubVisibilityTest, NewClusterVisibleWithinOnePoll) {
  constexpr int kTrials = 6;
  std::vector<std::string> names;
  for (int i = 0; i < kTrials; ++i) names.push_back("vis-" + std::to_string(i));
  SubscriberOptions options = Options(names);
  const long long poll_ms = options.poll_interval.count();
  std::unique_ptr<Subscriber> sub = StartSubscriber(options);
  ASSERT_NE(sub, nullptr);

  std::mutex mu;
  std::map<std::string, Clock::time_point> seen;  // first kUpdated per cluster
  sub->AddListener([&](const ClusterEvent& e) {
    if (e.kind != ClusterEvent::Kind::kUpdated) return;
    std::lock_guard<std::mutex> lock(mu);
    seen.emplace(e.cluster, Clock::now());
  });
  for (const std::string& name : names) {
    Result<ClusterInfo> info = sub->GetCluster(name);
    ASSERT_TRUE(info.ok()) << name;
    EXPECT_TRUE(info.value().nodes.empty()) << name << " held before it exists";
  }

  // A bound of one poll interval, plus the poll's own round trip and the
  // write's trip through ZooKeeper to the instance polled (loopback: a few ms).
  const long long bound_ms = poll_ms + 100;
  long long worst = -1000000;
  for (int i = 0; i < kTrials; ++i) {
    const std::string& name = names[static_cast<size_t>(i)];
    nlohmann::json nodes = {NodeDoc(NthIp(100 + 2 * i), 8080), NodeDoc(NthIp(101 + 2 * i), 8080)};
    // Created through each instance in turn; checkType NONE: never contacted.
    HttpReply r = HttpPostJson(cluster_->address(i % 3), "/c", ClusterDoc(name, nodes, "NONE"));
    Clock::time_point replied = Clock::now();
    ASSERT_EQ(r.status, 200) << r.Describe();
    long long version = r.data().value("version", 0LL);
    ASSERT_TRUE(WaitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return seen.count(name) > 0;
        },
        milliseconds(bound_ms + 3000), milliseconds(5)))
        << name << " never reached the subscriber";
    long long ms;
    {
      std::lock_guard<std::mutex> lock(mu);
      ms = std::chrono::duration_cast<milliseconds>(seen[name] - replied).count();
    }
    worst = std::max(worst, ms);
    RecordProperty("visible_ms_" + std::to_string(i), static_cast<int>(ms));
    std::printf("%s visible %lld ms after the create reply (bound %lld)\n", name.c_str(), ms,
                bound_ms);
    EXPECT_LE(ms, bound_ms) << name;
    Result<ClusterInfo> info = sub->GetCluster(name);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info.value().source, ClusterInfo::Source::kServer);
    EXPECT_EQ(info.value().version, version);
    EXPECT_EQ(info.value().nodes.size(), 2u);
    // Lands at a different phase of the poll cycle each time.
    std::this_thread::sleep_for(milliseconds(poll_ms / 3 + 17 * i));
  }
  std::printf("worst: %lld ms\n", worst);
  EXPECT_EQ(sub->stats().poll_failures, 0u);
}

}  // namespace
}  // namespace jcm::testing
