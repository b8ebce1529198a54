// Hostile /sub replies and hostile disk cache files: the subscriber refuses
// them with no exception reaching the application, keeps the last good
// data, and its polling thread survives even an exception it did not expect
// (from a listener, or from a transport standing in for a bug).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "jcm/subscriber.h"
#include "subscriber/src/cluster_registry.h"
#include "subscriber/src/disk_cache.h"
#include "subscriber/src/httplib_transport.h"
#include "subscriber/src/poller.h"
#include "tests/unit/subscriber/fake_sub_server.h"
#include "tests/unit/subscriber/test_clusters.h"

namespace jcm {
namespace {

using internal::ClusterRegistry;
using internal::Poller;
using nlohmann::json;
using testing::FakeSubServer;
using testing::MakeCluster;
using testing::Reply;
using testing::UpdateUnit;

class FakeClock : public internal::Clock {
 public:
  int64_t NowMs() const override { return now_.load(); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_{1000000};
};

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "." + std::to_string(::getpid()) + ".json"))
      .string();
}

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// What a hostile or broken server might answer.
std::vector<std::string> HostileReplies() {
  const std::string kGoodHead = R"({"units":[{"name":"c","kind":"RESP_UPDATE","cluster":)";
  std::vector<std::string> r = {
      "",
      "<html>502 Bad Gateway</html>",
      "1e400",
      R"({"units":[{"name":"c","kind":"RESP_STATUS","statusVersion":1e400}]})",
      kGoodHead + R"({"name":"c","version":1e400}}]})",
      Nested(100000),
      R"({"units":5})",
      R"({"units":{"name":"c"}})",
      "[]",
      "null",
      std::string("{\"units\":[\0]}", 13),
  };
  return r;
}

// Replies that are well-formed as a whole but whose units are all bad: each
// unit is refused and counted, nothing held changes.
std::vector<std::string> HostileUnits() {
  json units = json::array();
  units.push_back(5);
  units.push_back({{"name", 7}, {"kind", "RESP_UPDATE"}});
  units.push_back({{"name", "c"}, {"kind", "RESP_UPDATE"}, {"cluster", "x"}});
  units.push_back({{"name", "c"}, {"kind", "RESP_UPDATE"}, {"cluster", {{"name", "other"}}}});
  units.push_back({{"name", "c"},
                   {"kind", "RESP_UPDATE"},
                   {"cluster", {{"name", "c"}, {"nodes", json::array({json::array({1})})}}}});
  units.push_back({{"name", "c"}, {"kind", "RESP_STATUS"}, {"invalids", "all"}});
  units.push_back({{"name", "c"}, {"kind", "RESP_STATUS"}, {"invalids", {1, 2}}});
  units.push_back({{"name", "c"}, {"kind", "RESP_WHATEVER"}});
  std::vector<std::string> out;
  for (const json& u : units) out.push_back(json{{"units", json::array({u})}}.dump());
  out.push_back(R"({"units":)" + Nested(63) + "}");  // as deep as allowed
  // A huge array of units for a cluster held: each one a no-op or refused.
  json many = json::array();
  for (int i = 0; i < 200000; ++i) many.push_back({{"name", "c"}, {"kind", "RESP_UPDATE"}});
  out.push_back(json{{"units", many}}.dump());
  return out;
}

struct Rig {
  explicit Rig(const std::string& server, std::string cache_file = "")
      : transport(std::chrono::milliseconds(300)) {
    options.servers = {server};
    options.poll_interval = std::chrono::milliseconds(1000);
    options.request_timeout = std::chrono::milliseconds(2000);
    options.backoff_initial = std::chrono::milliseconds(1000);
    options.backoff_max = std::chrono::milliseconds(1000);
    options.cache_file = std::move(cache_file);
    slot = registry.GetOrAdd("c");
    poller = std::make_unique<Poller>(options, &registry, &transport, &clock);
  }
  SubscriberOptions options;
  ClusterRegistry registry;
  internal::HttplibTransport transport;
  FakeClock clock;
  std::shared_ptr<internal::ClusterSlot> slot;
  std::unique_ptr<Poller> poller;
};

TEST(HostileReply, RefusedAsAFailedServerAndTheLastGoodDataStays) {
  std::string reply = Reply({UpdateUnit(MakeCluster("c", 3, 10))});
  std::mutex mu;
  FakeSubServer server([&](const json&) {
    std::lock_guard<std::mutex> lock(mu);
    return reply;
  });
  Rig rig(server.address());
  ASSERT_TRUE(rig.poller->PollOnce().answered);
  ASSERT_EQ(rig.slot->Load()->cluster()->version, 10);

  uint64_t failures = rig.poller->stats().poll_failures;
  for (const std::string& hostile : HostileReplies()) {
    {
      std::lock_guard<std::mutex> lock(mu);
      reply = hostile;
    }
    rig.clock.Advance(5000);  // past any backoff
    Poller::Outcome out = rig.poller->PollOnce();
    EXPECT_FALSE(out.answered) << hostile.substr(0, 80);
    EXPECT_EQ(rig.poller->stats().poll_failures, ++failures) << hostile.substr(0, 80);
    const Cluster* held = rig.slot->Load()->cluster();
    ASSERT_NE(held, nullptr) << hostile.substr(0, 80);
    EXPECT_EQ(held->version, 10);
    EXPECT_EQ(held->nodes.size(), 3u);
  }
  EXPECT_EQ(rig.poller->stats().exceptions_caught, 0u);  // refused by checks, not by the barrier
}

TEST(HostileReply, BadUnitsAreCountedAndSkipped) {
  std::string reply = Reply({UpdateUnit(MakeCluster("c", 3, 10))});
  std::mutex mu;
  FakeSubServer server([&](const json&) {
    std::lock_guard<std::mutex> lock(mu);
    return reply;
  });
  Rig rig(server.address());
  ASSERT_TRUE(rig.poller->PollOnce().answered);
  for (const std::string& hostile : HostileUnits()) {
    {
      std::lock_guard<std::mutex> lock(mu);
      reply = hostile;
    }
    uint64_t bad = rig.poller->stats().bad_units;
    Poller::Outcome out = rig.poller->PollOnce();
    EXPECT_TRUE(out.answered);
    EXPECT_FALSE(out.changed) << hostile.substr(0, 80);
    EXPECT_GT(rig.poller->stats().bad_units, bad) << hostile.substr(0, 80);
    ASSERT_NE(rig.slot->Load()->cluster(), nullptr);
    EXPECT_EQ(rig.slot->Load()->cluster()->version, 10);
  }
  // A good answer after all that is applied as usual.
  {
    std::lock_guard<std::mutex> lock(mu);
    reply = Reply({UpdateUnit(MakeCluster("c", 2, 11))});
  }
  ASSERT_TRUE(rig.poller->PollOnce().changed);
  EXPECT_EQ(rig.slot->Load()->cluster()->version, 11);
}

TEST(HostileReply, OversizedReplyIsCutAtTheCapAndTheServerFailed) {
  std::string reply = Reply({UpdateUnit(MakeCluster("c", 3, 10))});
  std::mutex mu;
  FakeSubServer server([&](const json&) {
    std::lock_guard<std::mutex> lock(mu);
    return reply;
  });
  internal::HttplibTransport transport(std::chrono::milliseconds(300), /*max_reply_bytes=*/1 << 20);
  Result<std::string> r =
      transport.Post(server.address(), "/sub", "{}", std::chrono::milliseconds(2000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), reply);
  {
    std::lock_guard<std::mutex> lock(mu);
    reply = std::string(2 << 20, ' ') + reply;  // valid JSON, but over the cap
  }
  r = transport.Post(server.address(), "/sub", "{}", std::chrono::milliseconds(2000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("reply larger than 1048576 bytes"), std::string::npos)
      << r.status().message();
}

// Hostile cache files: refused whole (or per cluster), never thrown.
TEST(HostileCache, RefusedWithAStatusAndNothingLoaded) {
  const std::string path = TempPath("jcm-hostile-cache");
  const std::string kHead = R"({"format":"jcm-subscriber-cache","formatVersion":1,"clusters":)";
  const std::vector<std::pair<std::string, Status::Code>> kFiles = {
      {"", Status::Code::kInvalidArgument},
      {"\x7f"
       "ELF\x02\x01\x01",
       Status::Code::kInvalidArgument},
      {"1e400", Status::Code::kInvalidArgument},
      {kHead + R"([{"name":"c","version":1e400}]})", Status::Code::kInvalidArgument},
      {kHead + Nested(100000) + "}", Status::Code::kInvalidArgument},
      {kHead + R"("all"})", Status::Code::kInvalidArgument},
      {R"({"format":7,"clusters":[]})", Status::Code::kInvalidArgument},
      {std::string("[\"\"\"\"\"\"\"\"\"\""), Status::Code::kInvalidArgument},
  };
  for (const auto& [content, code] : kFiles) {
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << content;
    }
    std::vector<Cluster> clusters;
    int skipped = 0;
    Status s = internal::ReadCacheFile(path, &clusters, &skipped);
    EXPECT_EQ(s.code(), code) << content.substr(0, 80) << " -> " << s.ToString();
    EXPECT_TRUE(clusters.empty());

    // Through the poller too: no server, so Start()-like loading finds nothing.
    Rig rig("127.0.0.1:1", path);
    EXPECT_TRUE(rig.poller->LoadCache().empty());
    EXPECT_EQ(rig.slot->Load()->cluster(), nullptr);
  }
  // Wrong types per cluster: those are skipped, the good one loads.
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    json good = EncodeCluster(MakeCluster("c", 2, 5), ClusterJsonForm::kFull);
    f << kHead << json::array({5, "x", {{"name", "c"}, {"nodes", 1}}, good}).dump() << "}";
  }
  std::vector<Cluster> clusters;
  int skipped = 0;
  ASSERT_TRUE(internal::ReadCacheFile(path, &clusters, &skipped).ok());
  EXPECT_EQ(skipped, 3);
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0].version, 5);
  std::filesystem::remove(path);
}

TEST(HostileCache, EndlessFileIsCutAtTheCap) {
  // /dev/zero never ends: reading it whole would exhaust memory.
  std::vector<Cluster> clusters;
  int skipped = 0;
  Status s = internal::ReadCacheFile("/dev/zero", &clusters, &skipped);
  EXPECT_EQ(s.code(), Status::Code::kTooLarge) << s.ToString();
}

// A transport that throws: stands in for any exception the library did not
// expect. The polling thread must survive it and keep polling.
class ThrowingTransport : public internal::Transport {
 public:
  explicit ThrowingTransport(std::string good_reply) : good_reply_(std::move(good_reply)) {}
  Result<std::string> Post(const std::string&, const std::string&, const std::string&,
                           std::chrono::milliseconds) override {
    int n = calls_.fetch_add(1);
    if (n >= 1 && n <= 3) throw std::runtime_error("boom");
    return good_reply_;
  }
  void Cancel() override {}
  void Interrupt() override {}
  int calls() const { return calls_.load(); }

 private:
  const std::string good_reply_;
  std::atomic<int> calls_{0};
};

TEST(PollerBarrier, ExceptionsNeverReachTheApplication) {
  auto transport =
      std::make_shared<ThrowingTransport>(Reply({UpdateUnit(MakeCluster("c", 3, 10))}));
  SubscriberOptions o;
  o.servers = {"127.0.0.1:1"};
  o.clusters = {"c"};
  o.poll_interval = std::chrono::milliseconds(10);
  auto created = Subscriber::CreateForTest(o, transport, std::make_shared<internal::SteadyClock>());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Subscriber& sub = *created.value();
  std::atomic<int> listener_calls{0};
  // A listener that throws: its exception is the application's bug, but it
  // must not end the polling thread.
  sub.AddListener([&](const ClusterEvent&) {
    listener_calls.fetch_add(1);
    throw std::logic_error("listener bug");
  });
  ASSERT_TRUE(sub.Start().ok());  // first poll answered; the listener threw on this thread
  EXPECT_EQ(listener_calls.load(), 1);
  // The polling thread meets three throwing polls, then answers again.
  for (int i = 0; i < 500 && transport->calls() < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(transport->calls(), 6);
  SubscriberStats stats = sub.stats();
  EXPECT_EQ(stats.exceptions_caught, 4u);  // 1 listener + 3 transport
  Result<ClusterInfo> info = sub.GetCluster("c");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version, 10);
  sub.Stop();
}

}  // namespace
}  // namespace jcm
