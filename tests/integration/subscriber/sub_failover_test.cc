// Servers going away under a subscriber: the instance it polls is SIGKILLed
// while a thread picks in a loop (no pick fails, later changes still arrive
// through the others); then every instance is down (picks go on from the last
// data); then a new subscriber starts with every instance still down and the
// first one's disk cache (picks work from the cache), and a live answer
// replaces the cache once an instance is back.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "tests/integration/subscriber/sub_fixture.h"
#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

// Picks from its own thread in a tight loop and counts what it got.
class LoopPicker {
 public:
  explicit LoopPicker(Allocator allocator) : allocator_(std::move(allocator)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        Pick p = allocator_.Pick(Protocol::kHttp);
        ++picks_;
        if (!p) ++failures_;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  ~LoopPicker() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t picks() const { return picks_; }
  uint64_t failures() const { return failures_; }

 private:
  Allocator allocator_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> picks_{0};
  std::atomic<uint64_t> failures_{0};
  std::thread thread_;
};

class SubFailoverTest : public SubscriberClusterTest {
 protected:
  SubFailoverTest() : SubscriberClusterTest(43) {}
};

TEST_F(SubFailoverTest, KilledServerThenAllDownThenRestartFromCache) {
  const std::string name = "fo-c";
  std::vector<int> idx = CreateCheckedCluster(name, 3);
  ASSERT_FALSE(HasFailure());
  TempDir cache_dir("jcm-sub-cache");
  const std::string cache_file = cache_dir.path() + "/jcm-cache.json";

  SubscriberOptions options = Options({name});
  options.poll_interval = milliseconds(100);
  // Plain polling: the test counts polls rotating over the instances.
  options.long_poll_wait = milliseconds(0);
  options.cache_file = cache_file;
  std::unique_ptr<Subscriber> sub = StartSubscriber(options);
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int i : idx) {
          if (!HeldUsable(*sub, name, target(i).host())) return false;
        }
        return true;
      },
      milliseconds(5000)));
  LoopPicker picker(sub->NewAllocator(name, Policy::kRoundRobin));

  // 1. Kill an instance it polls (round-robin: it polls each in turn). A
  // follower, so the cluster keeps a leader for the write below.
  int leader = cluster_->WaitForLeader(milliseconds(5000));
  ASSERT_GE(leader, 0);
  const int victim = cluster_->AFollower(leader);
  SubscriberStats before = sub->stats();
  std::this_thread::sleep_for(milliseconds(300));  // picks running before the kill
  cluster_->server(victim).Kill();
  // A few polls, so the dead instance comes up in the rotation.
  ASSERT_TRUE(
      WaitUntil([&] { return sub->stats().polls >= before.polls + 8; }, milliseconds(5000)));
  SubscriberStats after = sub->stats();
  EXPECT_GT(after.poll_failures + after.failovers, before.poll_failures + before.failovers)
      << "the killed instance was never asked";
  EXPECT_EQ(after.all_servers_down, before.all_servers_down) << "two instances were still up";
  // It carries on: a change made now arrives through the survivors.
  const std::string offline_ip = target(idx[2]).host();
  const std::string offline_spec = NodeSpec(offline_ip, target(idx[2]).port());
  HttpReply r = HttpPostJson(cluster_->address(leader), "/c/node/online/" + name,
                             {{"spec", offline_spec}, {"online", false}});
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(WaitUntil([&] { return !HeldUsable(*sub, name, offline_ip); }, milliseconds(3000)))
      << "a change made after the kill never reached the subscriber";
  EXPECT_EQ(picker.failures(), 0u) << "of " << picker.picks() << " picks";

  // 2. Every instance down: the last data stays and picks go on.
  for (int i = 0; i < cluster_->size(); ++i) {
    if (i != victim) cluster_->server(i).Kill();
  }
  uint64_t down_before = sub->stats().all_servers_down;
  uint64_t picks_before = picker.picks();
  ASSERT_TRUE(WaitUntil([&] { return sub->stats().all_servers_down >= down_before + 3; },
                        milliseconds(15000)))
      << "no poll found every server down";
  std::this_thread::sleep_for(milliseconds(500));
  picker.Stop();
  EXPECT_GT(picker.picks(), picks_before + 100);
  EXPECT_EQ(picker.failures(), 0u) << "of " << picker.picks() << " picks";
  {
    Result<ClusterInfo> info = sub->GetCluster(name);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info.value().source, ClusterInfo::Source::kServer);
    EXPECT_EQ(info.value().nodes.size(), 3u);
  }
  EXPECT_GT(sub->stats().cache_writes, 0u);
  sub.reset();

  // 3. A new subscriber, servers still down, the first one's cache file.
  std::unique_ptr<Subscriber> fresh = StartSubscriber(options);  // Start() must be Ok: cache
  ASSERT_NE(fresh, nullptr);
  {
    Result<ClusterInfo> info = fresh->GetCluster(name);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info.value().source, ClusterInfo::Source::kCache);
    EXPECT_EQ(info.value().nodes.size(), 3u);
  }
  EXPECT_GT(fresh->stats().cache_loads, 0u);
  Allocator rr = fresh->NewAllocator(name, Policy::kRoundRobin);
  std::set<std::string> picked;
  for (int i = 0; i < 60; ++i) {
    Pick p = rr.Pick(Protocol::kHttp);
    ASSERT_TRUE(p) << "pick " << i << " from the cache failed";
    EXPECT_FALSE(p.panic());
    picked.insert(p.endpoint().ToString());
  }
  std::set<std::string> want = {
      target(idx[0]).host() + ":" + std::to_string(target(idx[0]).port()),
      target(idx[1]).host() + ":" + std::to_string(target(idx[1]).port())};
  EXPECT_EQ(picked, want) << "the cache must hold the node set offline";

  // 4. An instance back: the first live answer replaces the cache.
  std::string error;
  ASSERT_TRUE(cluster_->server(0).Restart(&error, /*hard=*/true)) << error;
  EXPECT_TRUE(WaitUntil(
      [&] {
        Result<ClusterInfo> info = fresh->GetCluster(name);
        return info.ok() && info.value().source == ClusterInfo::Source::kServer;
      },
      milliseconds(10000)))
      << "still serving from the cache after an instance came back";
  EXPECT_TRUE(rr.Pick(Protocol::kHttp));
}

}  // namespace
}  // namespace jcm::testing
