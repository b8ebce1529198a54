// The public Subscriber: option checks, Start/Stop, the polling thread,
// listeners, the disk cache at start. Against a fake /sub server.
#include "jcm/subscriber.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <condition_variable>
#include <cstdio>
#include <filesystem>

#include "tests/unit/subscriber/fake_sub_server.h"
#include "tests/unit/subscriber/test_clusters.h"

namespace jcm {
namespace {

using nlohmann::json;
using testing::FakeSubServer;
using testing::MakeCluster;
using testing::Reply;
using testing::StatusUnit;
using testing::UpdateUnit;

SubscriberOptions Options(std::vector<std::string> servers) {
  SubscriberOptions o;
  o.servers = std::move(servers);
  o.clusters = {"c"};
  o.poll_interval = std::chrono::milliseconds(20);
  o.connect_timeout = std::chrono::milliseconds(300);
  o.request_timeout = std::chrono::milliseconds(1000);
  return o;
}

// Collects listener events; Wait() blocks (bounded) for a matching one.
class EventLog {
 public:
  void Add(const ClusterEvent& e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  bool Wait(ClusterEvent::Kind kind, std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (e.kind == kind) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ClusterEvent> events_;
};

TEST(Subscriber, CreateRefusesBadOptions) {
  auto refused = [](SubscriberOptions o, const std::string& fragment) {
    auto r = Subscriber::Create(o);
    ASSERT_FALSE(r.ok()) << fragment;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().ToString();
  };
  refused(Options({}), "servers");
  refused(Options({"127.0.0.1"}), "127.0.0.1");
  refused(Options({"127.0.0.1:0"}), "port");
  refused(Options({"[::1]8080"}), "[::1]8080");
  SubscriberOptions o = Options({"127.0.0.1:1"});
  o.clusters = {"bad/name"};
  refused(o, "bad/name");
  o = Options({"127.0.0.1:1"});
  o.long_poll_wait = std::chrono::milliseconds(40000);
  refused(o, "long_poll_wait");
  o = Options({"127.0.0.1:1"});
  o.poll_interval = std::chrono::milliseconds(0);
  refused(o, "poll_interval");
  EXPECT_TRUE(Subscriber::Create(Options({"[::1]:8080", "localhost:80"})).ok());
  // TLS: an https:// address, and a CA file that must be readable.
  EXPECT_TRUE(Subscriber::Create(Options({"https://[::1]:8443", "http://localhost:80"})).ok());
  refused(Options({"https://127.0.0.1"}), "https://127.0.0.1");
  refused(Options({"ftp://127.0.0.1:21"}), "ftp://127.0.0.1:21");
  o = Options({"https://127.0.0.1:8443"});
  o.ca_file = "/nonexistent/ca.pem";
  refused(o, "ca_file: cannot read '/nonexistent/ca.pem'");
}

TEST(Subscriber, StartServesPicksAndThreadFollowsChanges) {
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
  auto created = Subscriber::Create(Options({server.address()}));
  ASSERT_TRUE(created.ok());
  std::unique_ptr<Subscriber> sub = std::move(created).value();
  EventLog log;
  sub->AddListener([&](const ClusterEvent& e) { log.Add(e); });
  ASSERT_TRUE(sub->Start().ok());
  EXPECT_EQ(sub->Start().code(), Status::Code::kConflict);
  // Data is there as soon as Start() returns.
  Allocator rr = sub->NewAllocator("c", Policy::kRoundRobin);
  EXPECT_EQ(rr.cluster(), "c");
  ASSERT_TRUE(rr.Pick(Protocol::kHttp).ok());
  EXPECT_TRUE(log.Wait(ClusterEvent::Kind::kUpdated, std::chrono::milliseconds(0)));

  // The polling thread picks up a status change.
  server.SetHandler([](const json& req) {
    if (req["units"][0]["version"] != 10) return Reply({});
    return Reply(
        {StatusUnit("c", {"10.0.0.1|HTTP:8001|TCP:9001", "10.0.0.2|HTTP:8002|TCP:9002"}, 5)});
  });
  ASSERT_TRUE(log.Wait(ClusterEvent::Kind::kStatusChanged));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(rr.Pick(Protocol::kHttp).ip(), "10.0.0.3");
  Result<ClusterInfo> info = sub->GetCluster("c");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->source, ClusterInfo::Source::kServer);
  EXPECT_EQ(info->version, 10);
  EXPECT_EQ(info->status_version, 5);
  ASSERT_EQ(info->nodes.size(), 3u);
  EXPECT_FALSE(info->nodes[0].usable());
  EXPECT_TRUE(info->nodes[2].usable());
  EXPECT_EQ(info->nodes[2].http_port, 8003);
  EXPECT_EQ(sub->GetCluster("other").status().code(), Status::Code::kNotFound);
  EXPECT_GE(sub->stats().polls, 2u);
  sub->Stop();
  sub->Stop();  // idempotent
}

TEST(Subscriber, NewAllocatorSubscribesAndBadNamesPickNone) {
  Cluster c = MakeCluster("late", 2, 3);
  FakeSubServer server([&](const json& req) {
    std::vector<json> units;
    for (const json& u : req["units"]) {
      if (u["name"] == "late") units.push_back(UpdateUnit(c));
    }
    return Reply(units);
  });
  auto sub = std::move(Subscriber::Create(Options({server.address()}))).value();
  EventLog log;
  sub->AddListener([&](const ClusterEvent& e) { log.Add(e); });
  sub->Start();
  Allocator late = sub->NewAllocator("late", Policy::kConsistentHash);
  ASSERT_TRUE(log.Wait(ClusterEvent::Kind::kUpdated));
  EXPECT_TRUE(late.Pick(Protocol::kAny, "k").ok());
  Allocator bad = sub->NewAllocator("no/slashes", Policy::kRoundRobin);
  EXPECT_FALSE(bad.Pick().ok());
  EXPECT_EQ(sub->Subscribe("no/slashes").code(), Status::Code::kInvalidArgument);
}

TEST(Subscriber, StopInterruptsALongPoll) {
  Cluster c = MakeCluster("c", 3, 10);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  FakeSubServer server([&](const json& req) {
    if (req["units"][0]["version"] == 0) return Reply({UpdateUnit(c)});
    // Park like a server holding a long poll, until the test ends.
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
    return Reply({testing::KindUnit("c", "RESP_NOCHANGE")});
  });
  SubscriberOptions o = Options({server.address()});
  o.long_poll_wait = std::chrono::milliseconds(20000);
  auto sub = std::move(Subscriber::Create(o)).value();
  ASSERT_TRUE(sub->Start().ok());
  // Let the thread enter its long poll.
  for (int i = 0; i < 200 && server.requests().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(server.requests().size(), 2u);
  auto t0 = std::chrono::steady_clock::now();
  sub->Stop();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(500));
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
}

TEST(Subscriber, SubscribingDuringALongPollFetchesAtOnce) {
  Cluster c = MakeCluster("c", 3, 10);
  Cluster late = MakeCluster("late", 2, 7);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  FakeSubServer server([&](const json& req) {
    std::vector<json> units;
    for (const json& u : req["units"]) {
      if (u["version"] == 0) units.push_back(UpdateUnit(u["name"] == "c" ? c : late));
    }
    if (!units.empty()) return Reply(units);
    std::unique_lock<std::mutex> lock(mu);  // park, as a long poll
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
    return Reply({testing::KindUnit("c", "RESP_NOCHANGE")});
  });
  SubscriberOptions o = Options({server.address()});
  o.long_poll_wait = std::chrono::milliseconds(20000);
  auto sub = std::move(Subscriber::Create(o)).value();
  EventLog log;
  sub->AddListener([&](const ClusterEvent& e) {
    if (e.cluster == "late") log.Add(e);
  });
  ASSERT_TRUE(sub->Start().ok());
  for (int i = 0; i < 200 && server.requests().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(server.requests().size(), 2u);  // the thread is parked
  Allocator a = sub->NewAllocator("late", Policy::kRoundRobin);
  EXPECT_TRUE(log.Wait(ClusterEvent::Kind::kUpdated, std::chrono::milliseconds(1000)));
  EXPECT_TRUE(a.Pick().ok());
  EXPECT_EQ(sub->stats().poll_failures, 0u);  // an interruption is no failure
  sub->Stop();
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
}

TEST(Subscriber, StartsFromDiskCacheWhenNoServerAnswers) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("jcm-sub-start." + std::to_string(::getpid()) + ".json"))
                               .string();
  std::remove(path.c_str());
  Cluster c = MakeCluster("c", 3, 10);
  {
    FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
    SubscriberOptions o = Options({server.address()});
    o.cache_file = path;
    auto sub = std::move(Subscriber::Create(o)).value();
    ASSERT_TRUE(sub->Start().ok());
  }
  FakeSubServer dead([](const json&) { return Reply({}); });
  dead.Stop();
  // Without a cache: Unavailable, and picks say "none".
  {
    auto sub = std::move(Subscriber::Create(Options({dead.address()}))).value();
    EXPECT_EQ(sub->Start().code(), Status::Code::kUnavailable);
    EXPECT_FALSE(sub->NewAllocator("c", Policy::kRoundRobin).Pick().ok());
  }
  // With it: picks work from the cache.
  SubscriberOptions o = Options({dead.address()});
  o.cache_file = path;
  auto sub = std::move(Subscriber::Create(o)).value();
  EventLog log;
  sub->AddListener([&](const ClusterEvent& e) { log.Add(e); });
  ASSERT_TRUE(sub->Start().ok());
  EXPECT_TRUE(log.Wait(ClusterEvent::Kind::kLoadedFromCache, std::chrono::milliseconds(0)));
  EXPECT_TRUE(sub->NewAllocator("c", Policy::kWeightedRoundRobin).Pick().ok());
  EXPECT_EQ(sub->GetCluster("c")->source, ClusterInfo::Source::kCache);
  EXPECT_GE(sub->stats().cache_loads, 1u);
  sub->Stop();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jcm
