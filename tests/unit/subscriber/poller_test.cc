// The poller against a fake /sub server on loopback, with a fake clock.
#include "subscriber/src/poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>

#include "subscriber/src/disk_cache.h"
#include "subscriber/src/httplib_transport.h"
#include "tests/unit/subscriber/fake_sub_server.h"
#include "tests/unit/subscriber/test_clusters.h"

namespace jcm {
namespace {

using internal::AllocatorAccess;
using internal::ClusterRegistry;
using internal::Poller;
using nlohmann::json;
using testing::DeltaUnit;
using testing::FakeSubServer;
using testing::KindUnit;
using testing::MakeCluster;
using testing::Reply;
using testing::StatusUnit;
using testing::UpdateUnit;

class FakeClock : public internal::Clock {
 public:
  int64_t NowMs() const override { return now_.load(); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_{1000000};
};

// A poller with its collaborators, subscribed to "c".
struct Rig {
  explicit Rig(std::vector<std::string> servers, SubscriberOptions o = {})
      : transport(std::chrono::milliseconds(300)) {
    o.servers = std::move(servers);
    o.poll_interval = std::chrono::milliseconds(1000);
    o.request_timeout = std::chrono::milliseconds(1000);
    o.backoff_initial = std::chrono::milliseconds(1000);
    o.backoff_max = std::chrono::milliseconds(8000);
    options = o;
    slot = registry.GetOrAdd("c");
    poller = std::make_unique<Poller>(options, &registry, &transport, &clock);
  }
  std::set<std::string> PickedIps(Policy policy = Policy::kRoundRobin, int n = 30) {
    Allocator a = AllocatorAccess::Make(slot, policy);
    std::set<std::string> ips;
    for (int i = 0; i < n; ++i) {
      Pick p = a.Pick(Protocol::kHttp, std::to_string(i));
      ips.insert(p ? std::string(p.ip()) : "none");
    }
    return ips;
  }

  SubscriberOptions options;
  ClusterRegistry registry;
  internal::HttplibTransport transport;
  FakeClock clock;
  std::shared_ptr<internal::ClusterSlot> slot;
  std::unique_ptr<Poller> poller;
};

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "." + std::to_string(::getpid()) + ".json"))
      .string();
}

const std::set<std::string> kAll3 = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};

TEST(Poller, RequestCarriesEveryClusterWithVersions) {
  FakeSubServer server([](const json&) { return Reply({}); });
  SubscriberOptions o;
  o.long_poll_wait = std::chrono::milliseconds(20000);
  o.tag = "unit v1";
  Rig rig({server.address()}, o);
  rig.registry.GetOrAdd("d");
  Cluster c = MakeCluster("c", 2, 123);
  c.status_version = 456;
  testing::PublishCluster(*rig.slot, c);
  rig.poller->PollOnce();
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);  // one request for all clusters
  const json& r = requests[0];
  EXPECT_EQ(r["tag"], "unit v1");
  EXPECT_EQ(r["ext"], 1);
  EXPECT_EQ(r["delta"], 1);
  EXPECT_EQ(r["waitMs"], 20000);
  ASSERT_EQ(r["units"].size(), 2u);
  EXPECT_EQ(r["units"][0], (json{{"name", "c"}, {"version", 123}, {"statusVersion", 456}}));
  EXPECT_EQ(r["units"][1], (json{{"name", "d"}, {"version", 0}, {"statusVersion", 0}}));
}

TEST(Poller, UpdateStatusRecoveryAndRemove) {
  Cluster c = MakeCluster("c", 3, 10);
  c.status_version = 1;
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
  Rig rig({server.address()});

  Poller::Outcome out = rig.poller->PollOnce();
  ASSERT_TRUE(out.answered);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, ClusterEvent::Kind::kUpdated);
  EXPECT_EQ(out.events[0].version, 10);
  EXPECT_EQ(rig.PickedIps(), kAll3);

  // Node 2 fails its checks.
  server.SetHandler(
      [](const json&) { return Reply({StatusUnit("c", {"10.0.0.2|HTTP:8002|TCP:9002"}, 2)}); });
  out = rig.poller->PollOnce();
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, ClusterEvent::Kind::kStatusChanged);
  EXPECT_EQ(out.events[0].status_version, 2);
  for (Policy p : {Policy::kRoundRobin, Policy::kWeightedRoundRobin, Policy::kConsistentHash}) {
    EXPECT_EQ(rig.PickedIps(p, 200), (std::set<std::string>{"10.0.0.1", "10.0.0.3"}));
  }
  EXPECT_EQ(rig.poller->stats().status_changes, 1u);

  // The same answer again changes nothing (JCM's form repeats it each poll).
  out = rig.poller->PollOnce();
  EXPECT_TRUE(out.events.empty());
  EXPECT_FALSE(out.changed);

  // It recovers: an empty invalid list makes every node usable again.
  server.SetHandler([](const json&) { return Reply({StatusUnit("c", {}, 3)}); });
  out = rig.poller->PollOnce();
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(rig.PickedIps(), kAll3);
  auto snap = rig.slot->Load();
  EXPECT_EQ(snap->cluster()->status_version, 3);
  for (const Node& n : snap->cluster()->nodes) EXPECT_EQ(n.status, NodeStatus::kNormal);

  // Panic flagged by the server: all online nodes, flagged.
  server.SetHandler([](const json&) {
    return Reply(
        {StatusUnit("c", {"10.0.0.1|HTTP:8001|TCP:9001", "10.0.0.2|HTTP:8002|TCP:9002"}, 4, true)});
  });
  rig.poller->PollOnce();
  Allocator rr = AllocatorAccess::Make(rig.slot, Policy::kRoundRobin);
  EXPECT_TRUE(rr.Pick().panic());
  EXPECT_EQ(rig.PickedIps(), kAll3);

  // Removed.
  server.SetHandler([](const json&) { return Reply({KindUnit("c", "RESP_REMOVE")}); });
  out = rig.poller->PollOnce();
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, ClusterEvent::Kind::kRemoved);
  EXPECT_EQ(rig.PickedIps(), (std::set<std::string>{"none"}));
  // The next request asks from version 0 again.
  rig.poller->PollOnce();
  EXPECT_EQ(server.requests().back()["units"][0]["version"], 0);
}

TEST(Poller, JcmFormStatusWithoutVersionStillApplies) {
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
  Rig rig({server.address()});
  rig.poller->PollOnce();
  server.SetHandler([](const json&) {
    return Reply(
        {{{"name", "c"}, {"kind", "RESP_STATUS"}, {"invalids", {"10.0.0.3|HTTP:8003|TCP:9003"}}}});
  });
  rig.poller->PollOnce();
  EXPECT_EQ(rig.PickedIps(), (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
}

TEST(Poller, BadWeightsAreRefusedAndLastGoodDataKept) {
  Cluster good = MakeCluster("c", 3, 10);
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(good)}); });
  Rig rig({server.address()});
  rig.poller->PollOnce();
  ASSERT_EQ(rig.PickedIps(), kAll3);
  int refused = 0;
  for (int weight : {0, -1, 10001}) {
    Cluster bad = MakeCluster("c", 2, 20);
    json unit = UpdateUnit(bad);
    unit["cluster"]["nodes"][0]["weight"] = weight;
    server.SetHandler([unit](const json&) { return Reply({unit}); });
    Poller::Outcome out = rig.poller->PollOnce();
    EXPECT_TRUE(out.answered);
    EXPECT_FALSE(out.changed) << weight;
    EXPECT_EQ(rig.poller->stats().bad_units, static_cast<uint64_t>(++refused));
    EXPECT_EQ(rig.PickedIps(), kAll3) << weight;
    EXPECT_EQ(rig.slot->Load()->cluster()->version, 10);
  }
}

TEST(Poller, LaggingServerDoesNotRollBack) {
  Cluster newer = MakeCluster("c", 3, 10);
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(newer)}); });
  Rig rig({server.address()});
  rig.poller->PollOnce();
  Cluster older = MakeCluster("c", 1, 5);
  server.SetHandler([&](const json&) { return Reply({UpdateUnit(older)}); });
  rig.poller->PollOnce();
  EXPECT_EQ(rig.slot->Load()->cluster()->version, 10);
  EXPECT_EQ(rig.PickedIps(), kAll3);
}

// RESP_DELTA: applied to exactly the version it names as its base.
TEST(Poller, DeltaAppliesTheChangedNodesToTheVersionHeld) {
  Cluster c = MakeCluster("c", 3, 10);
  c.status_version = 4;
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
  Rig rig({server.address()});
  rig.poller->PollOnce();
  ASSERT_EQ(rig.PickedIps(), kAll3);

  // Version 11: node 2 goes offline, node 3 is removed, node 4 comes.
  Cluster fields = MakeCluster("c", 0, 11);
  fields.status_version = 5;
  Node two = testing::MakeNode(2);
  two.online = false;
  fields.nodes.push_back(two);
  fields.nodes.push_back(testing::MakeNode(4));
  server.SetHandler([&](const json&) {
    return Reply({DeltaUnit(fields, 10, 4, {"10.0.0.3|HTTP:8003|TCP:9003"})});
  });
  Poller::Outcome out = rig.poller->PollOnce();
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, ClusterEvent::Kind::kUpdated);
  EXPECT_EQ(out.events[0].version, 11);
  EXPECT_EQ(rig.PickedIps(), (std::set<std::string>{"10.0.0.1", "10.0.0.4"}));
  const Cluster* held = rig.slot->Load()->cluster();
  EXPECT_EQ(held->version, 11);
  EXPECT_EQ(held->status_version, 5);
  EXPECT_EQ(held->nodes.size(), 3u);  // 1, 2 (offline), 4
  EXPECT_EQ(rig.poller->stats().delta_updates, 1u);
  EXPECT_EQ(rig.poller->stats().updates, 2u);
  EXPECT_EQ(server.requests().back()["units"][0]["version"], 10);
  rig.poller->PollOnce();  // the next poll asks from what the delta made
  EXPECT_EQ(server.requests().back()["units"][0]["version"], 11);
  EXPECT_EQ(server.requests().back()["units"][0]["statusVersion"], 5);
}

TEST(Poller, ADeltaThatDoesNotFitWhatIsHeldIsRefused) {
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
  Rig rig({server.address()});
  rig.poller->PollOnce();

  Cluster fields = MakeCluster("c", 0, 11);
  fields.nodes.push_back(testing::MakeNode(4));
  const std::vector<json> refused = {
      DeltaUnit(fields, 9, 0, {}),                                // another base version
      DeltaUnit(fields, 10, 3, {}),                               // another base status version
      DeltaUnit(fields, 10, 0, {"10.0.0.9|HTTP:8009|TCP:9009"}),  // removes what is not held
      DeltaUnit(fields, 10, 0, {"not a spec"}),
      DeltaUnit(MakeCluster("c", 1, 10), 10, 0, {}),  // not newer than the base
  };
  for (const json& unit : refused) {
    SCOPED_TRACE(unit.dump());
    server.SetHandler([&](const json&) { return Reply({unit}); });
    Poller::Outcome out = rig.poller->PollOnce();
    EXPECT_TRUE(out.answered);
    EXPECT_FALSE(out.changed);
    EXPECT_EQ(rig.slot->Load()->cluster()->version, 10);
    EXPECT_EQ(rig.PickedIps(), kAll3);
  }
  EXPECT_EQ(rig.poller->stats().bad_units, refused.size());
  EXPECT_EQ(rig.poller->stats().delta_updates, 0u);
}

TEST(Poller, FailsOverToTheNextServerAndBacksOff) {
  FakeSubServer down([](const json&) { return Reply({}); });
  down.Stop();  // refuses connections from now on
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer up([&](const json&) { return Reply({UpdateUnit(c)}); });
  Rig rig({down.address(), up.address()});

  Poller::Outcome out = rig.poller->PollOnce();
  EXPECT_TRUE(out.answered);
  EXPECT_EQ(rig.PickedIps(), kAll3);
  SubscriberStats s = rig.poller->stats();
  EXPECT_EQ(s.polls, 2u);
  EXPECT_EQ(s.poll_failures, 1u);
  EXPECT_EQ(s.failovers, 1u);

  // Round-robin comes back to the dead server, but it is backing off (1 s).
  rig.clock.Advance(500);
  rig.poller->PollOnce();
  EXPECT_EQ(rig.poller->stats().polls, 3u);
  EXPECT_EQ(up.requests().size(), 2u);

  // Backoff over: tried again, fails, now backs off 2 s.
  rig.clock.Advance(600);
  rig.poller->PollOnce();  // down is tried (fails, now backs off 2 s), then up
  rig.poller->PollOnce();  // down skipped
  s = rig.poller->stats();
  EXPECT_EQ(s.poll_failures, 2u);
  rig.clock.Advance(1500);  // < 2 s since the second failure
  rig.poller->PollOnce();
  rig.poller->PollOnce();
  EXPECT_EQ(rig.poller->stats().poll_failures, 2u);
  rig.clock.Advance(600);  // > 2 s
  rig.poller->PollOnce();
  rig.poller->PollOnce();
  EXPECT_EQ(rig.poller->stats().poll_failures, 3u);
}

TEST(Poller, MalformedReplyCountsAsServerFailure) {
  FakeSubServer broken([](const json&) { return std::string("<html>oops</html>"); });
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer good([&](const json&) { return Reply({UpdateUnit(c)}); });
  Rig rig({broken.address(), good.address()});
  Poller::Outcome out = rig.poller->PollOnce();
  EXPECT_TRUE(out.answered);
  EXPECT_EQ(rig.poller->stats().failovers, 1u);
  EXPECT_EQ(rig.PickedIps(), kAll3);
}

TEST(Poller, AllServersDownKeepsLastGoodData) {
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer a([&](const json&) { return Reply({UpdateUnit(c)}); });
  FakeSubServer b([&](const json&) { return Reply({UpdateUnit(c)}); });
  Rig rig({a.address(), b.address()});
  ASSERT_TRUE(rig.poller->PollOnce().answered);
  a.Stop();
  b.Stop();
  for (int i = 0; i < 3; ++i) {
    Poller::Outcome out = rig.poller->PollOnce();
    EXPECT_FALSE(out.answered);
    EXPECT_EQ(out.delay, std::chrono::milliseconds(1000));
    rig.clock.Advance(20000);
  }
  EXPECT_GE(rig.poller->stats().all_servers_down, 3u);
  EXPECT_EQ(rig.PickedIps(), kAll3);
  EXPECT_EQ(rig.slot->Load()->cluster()->version, 10);
}

TEST(Poller, DiskCacheWrittenLoadedAndReplacedByFirstLiveAnswer) {
  const std::string path = TempPath("jcm-sub-cache");
  std::remove(path.c_str());
  Cluster v10 = MakeCluster("c", 3, 10);
  v10.nodes.Mutable(2).status = NodeStatus::kAbnormal;
  {
    FakeSubServer server([&](const json&) { return Reply({UpdateUnit(v10)}); });
    SubscriberOptions o;
    o.cache_file = path;
    Rig rig({server.address()}, o);
    rig.poller->PollOnce();
    EXPECT_EQ(rig.poller->stats().cache_writes, 1u);
    rig.poller->PollOnce();  // nothing changed: no rewrite
    EXPECT_EQ(rig.poller->stats().cache_writes, 1u);
  }
  ASSERT_TRUE(std::filesystem::exists(path));

  // "Restart" with every server down: the cache is what we have.
  FakeSubServer server([](const json&) { return Reply({}); });
  const std::string address = server.address();
  server.Stop();
  SubscriberOptions o;
  o.cache_file = path;
  Rig rig({address}, o);
  EXPECT_FALSE(rig.poller->PollOnce().answered);
  EXPECT_EQ(rig.PickedIps(), (std::set<std::string>{"none"}));
  std::vector<ClusterEvent> loaded = rig.poller->LoadCache();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].kind, ClusterEvent::Kind::kLoadedFromCache);
  EXPECT_EQ(rig.slot->Load()->source(), ClusterInfo::Source::kCache);
  EXPECT_EQ(rig.PickedIps(), (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  // Cached data is announced as version 0, so the server sends it all.
  EXPECT_EQ(json::parse(rig.poller->BuildRequest())["units"][0]["version"], 0);

  // A live server comes up with newer data: it replaces the cache.
  Cluster v11 = MakeCluster("c", 5, 11);
  FakeSubServer live([&](const json& req) {
    // Answer as a server would: the caller holds nothing.
    EXPECT_EQ(req["units"][0]["version"], 0);
    return Reply({UpdateUnit(v11)});
  });
  Rig rig2({live.address()}, o);
  rig2.poller->LoadCache();
  ASSERT_TRUE(rig2.poller->PollOnce().answered);
  EXPECT_EQ(rig2.slot->Load()->source(), ClusterInfo::Source::kServer);
  EXPECT_EQ(rig2.PickedIps().size(), 5u);
  std::vector<Cluster> on_disk;
  int skipped = 0;
  ASSERT_TRUE(internal::ReadCacheFile(path, &on_disk, &skipped).ok());
  ASSERT_EQ(on_disk.size(), 1u);
  EXPECT_EQ(on_disk[0].version, 11);
  EXPECT_EQ(on_disk[0].nodes.size(), 5u);
  std::remove(path.c_str());
}

TEST(Poller, LongPollFallsBackToIntervalWhenAnsweredEarly) {
  FakeClock* clock = nullptr;
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
  SubscriberOptions o;
  o.long_poll_wait = std::chrono::milliseconds(5000);
  Rig rig({server.address()}, o);
  clock = &rig.clock;
  // Something changed: poll again at once.
  EXPECT_EQ(rig.poller->PollOnce().delay, std::chrono::milliseconds(0));
  EXPECT_EQ(server.requests().back()["waitMs"], 5000);
  // Unchanged, answered at once: the server did not park it.
  server.SetHandler([](const json&) { return Reply({KindUnit("c", "RESP_NOCHANGE")}); });
  EXPECT_EQ(rig.poller->PollOnce().delay, std::chrono::milliseconds(1000));
  // Unchanged after the whole wait (the fake server "holds" it by moving
  // the clock): a normal long-poll timeout, poll again at once.
  server.SetHandler([clock](const json&) {
    clock->Advance(5000);
    return Reply({KindUnit("c", "RESP_NOCHANGE")});
  });
  EXPECT_EQ(rig.poller->PollOnce().delay, std::chrono::milliseconds(0));
  // A missing cluster keeps answering RESP_REMOVE at once: no tight loop.
  server.SetHandler([](const json&) { return Reply({KindUnit("c", "RESP_REMOVE")}); });
  EXPECT_EQ(rig.poller->PollOnce().delay, std::chrono::milliseconds(0));  // removal is a change
  EXPECT_EQ(rig.poller->PollOnce().delay, std::chrono::milliseconds(1000));
}

TEST(Poller, PlainPollingUsesTheInterval) {
  Cluster c = MakeCluster("c", 3, 10);
  FakeSubServer server([&](const json&) { return Reply({UpdateUnit(c)}); });
  SubscriberOptions plain;
  plain.long_poll_wait = std::chrono::milliseconds(0);
  Rig rig({server.address()}, plain);
  Poller::Outcome out = rig.poller->PollOnce();
  EXPECT_EQ(out.delay, std::chrono::milliseconds(1000));
  EXPECT_FALSE(server.requests().back().contains("waitMs"));
}

}  // namespace
}  // namespace jcm
