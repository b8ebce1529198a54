// Leader forwarding with real servers: a follower whose NameService answers
// NotLeader forwards writes to the leader's ApiServer, returns its reply
// unchanged, and waits for read-your-writes; loops and dead ends answer 503.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "api/leader_forwarder.h"
#include "api/metrics_api.h"
#include "model/cluster_codec.h"
#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

using nlohmann::json;

LeaderInfo Points(int port) { return LeaderInfo{true, false, "127.0.0.1:" + std::to_string(port)}; }

ApiOptions Hold(std::chrono::milliseconds hold) {
  ApiOptions o;
  o.write_hold = hold;
  return o;
}

// Without a write hold: every failure is answered at once.
class Forwarding : public ::testing::Test {
 protected:
  Forwarding() : follower_(Hold(std::chrono::milliseconds(0))) {}
  void SetUp() override {
    follower_.fake().FailWritesWith(Status::NotLeader("follower"));
    follower_.fake().SetLeader(Points(leader_.port()));
    Cluster c;
    ASSERT_TRUE(DecodeCluster(json::parse(ClusterDoc("web")), &c).ok());
    leader_.fake().SetCluster(c);
  }
  TestApi leader_;
  TestApi follower_;
};

TEST_F(Forwarding, CreateIsForwardedAndAwaitedLocally) {
  Reply r = follower_.Call("POST", "/c", ClusterDoc("api"));
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["data"], (json{{"name", "api"}, {"version", 1}}));
  EXPECT_EQ(leader_.fake().calls(), std::vector<std::string>{"PutCluster api"});
  EXPECT_EQ(follower_.fake().calls(), std::vector<std::string>{"PutCluster api"});
  ASSERT_EQ(follower_.fake().applied_waits().size(), 1u);
  WriteAck ack = follower_.fake().applied_waits()[0];
  EXPECT_EQ(ack.name, "api");
  EXPECT_EQ(ack.version, 1);
  EXPECT_FALSE(ack.deleted);
  EXPECT_TRUE(leader_.fake().applied_waits().empty());
  EXPECT_EQ(follower_.server().CountersJson()["forwarded"], 1);
  EXPECT_EQ(leader_.server().CountersJson()["forwarded"], 0);
}

// The instance the client called times the write end to end, by where it
// ran; the follower times its round trip to the leader; the leader, which
// received it forwarded, times only its own run of the write.
TEST_F(Forwarding, WritesAreTimedEndToEndByClassAndForwardsByRoundTrip) {
  ASSERT_EQ(follower_.Call("POST", "/c", ClusterDoc("api")).status, 200);
  ApiMetrics& f = follower_.server().metrics();
  ApiMetrics& l = leader_.server().metrics();
  EXPECT_EQ(f.write_request_seconds(/*forwarded=*/true).Read().count, 1u);
  EXPECT_EQ(f.write_request_seconds(false).Read().count, 0u);
  EXPECT_EQ(f.forward_seconds().Read().count, 1u);
  EXPECT_EQ(f.write_seconds().Read().count, 0u);  // NotLeader: not run here
  EXPECT_EQ(l.write_request_seconds(true).Read().count, 0u);
  EXPECT_EQ(l.write_request_seconds(false).Read().count, 0u);
  EXPECT_EQ(l.write_seconds().Read().count, 1u);
  // The end to end time holds the round trip.
  EXPECT_GE(f.write_request_seconds(true).Read().sum, f.forward_seconds().Read().sum);

  ASSERT_EQ(leader_.Call("POST", "/c", ClusterDoc("db")).status, 200);
  EXPECT_EQ(l.write_request_seconds(false).Read().count, 1u);
  EXPECT_EQ(l.write_request_seconds(true).Read().count, 0u);
  EXPECT_EQ(l.forward_seconds().Read().count, 0u);
}

TEST_F(Forwarding, DeleteClusterIsForwarded) {
  Reply r = follower_.Call("DELETE", "/c/web");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["data"], (json{{"name", "web"}, {"deleted", true}}));
  EXPECT_FALSE(leader_.fake().GetCluster("web"));
  ASSERT_EQ(follower_.fake().applied_waits().size(), 1u);
  EXPECT_TRUE(follower_.fake().applied_waits()[0].deleted);
  EXPECT_EQ(follower_.fake().applied_waits()[0].name, "web");
}

TEST_F(Forwarding, EveryMutatingRouteIsForwarded) {
  EXPECT_EQ(follower_.Call("POST", "/c/online/web", "false").status, 200);
  EXPECT_EQ(follower_
                .Call("POST", "/c/node/web",
                      R"([{"ip":"10.0.0.9","protos":[{"port":80,"proto":"HTTP"}]}])")
                .status,
            200);
  EXPECT_EQ(
      follower_.Call("POST", "/c/node/online/web", R"({"spec":"10.0.0.9|HTTP:80","online":false})")
          .status,
      200);
  EXPECT_EQ(follower_.Call("DELETE", "/c/node/web", R"(["10.0.0.9|HTTP:80"])").status, 200);
  EXPECT_EQ(
      leader_.fake().calls(),
      (std::vector<std::string>{"SetClusterOnline web false", "AddNodes web",
                                "SetNodeOnline web 10.0.0.9|HTTP:80 false", "RemoveNodes web"}));
  EXPECT_EQ(follower_.fake().applied_waits().size(), 4u);
  EXPECT_EQ(follower_.fake().applied_waits().back().version, 4);
}

TEST_F(Forwarding, LeaderErrorComesBackUnchanged) {
  Reply direct = leader_.Call("DELETE", "/c/node/web", R"(["10.0.0.77|HTTP:80"])");
  Reply r = follower_.Call("DELETE", "/c/node/web", R"(["10.0.0.77|HTTP:80"])");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.raw, direct.raw);
  EXPECT_TRUE(follower_.fake().applied_waits().empty());
}

TEST_F(Forwarding, ForwardedRequestOnNonLeaderIs503AndNotForwardedAgain) {
  Reply r = follower_.Call("POST", "/c", ClusterDoc("api"), {{"X-Jcm-Forwarded", "10.1.1.1:80"}});
  ExpectError(r, 503, {"not the leader; leadership moved, retry"});
  EXPECT_TRUE(leader_.fake().calls().empty());
  EXPECT_EQ(follower_.server().CountersJson()["forwarded"], 0);
}

TEST_F(Forwarding, TwoInstancesBlamingEachOtherDoNotLoop) {
  TestApi other;
  other.fake().FailWritesWith(Status::NotLeader("other"));
  other.fake().SetLeader(Points(follower_.port()));
  follower_.fake().SetLeader(Points(other.port()));
  Reply r = follower_.Call("POST", "/c", ClusterDoc("api"));
  ExpectError(r, 503, {"leadership moved"});
  EXPECT_EQ(follower_.fake().calls().size(), 1u);
  EXPECT_EQ(other.fake().calls().size(), 1u);
  EXPECT_TRUE(follower_.fake().applied_waits().empty());
}

TEST_F(Forwarding, NoLeaderIs503) {
  follower_.fake().SetLeader(LeaderInfo{});
  ExpectError(follower_.Call("POST", "/c", ClusterDoc("api")), 503, {"no leader elected"});
  EXPECT_TRUE(leader_.fake().calls().empty());
}

TEST_F(Forwarding, UnreachableLeaderIs503NamingIt) {
  int dead_port = 0;
  {
    TestApi gone;
    dead_port = gone.port();
  }
  follower_.fake().SetLeader(Points(dead_port));
  std::string address = "127.0.0.1:" + std::to_string(dead_port);
  ExpectError(follower_.Call("POST", "/c", ClusterDoc("api")), 503, {address, "unreachable"});
  EXPECT_EQ(follower_.server().CountersJson()["forwardFailures"], 1);
}

TEST_F(Forwarding, ReadYourWritesTimeoutIs504SayingTheWriteLanded) {
  follower_.fake().SetApplied(false);
  Reply r = follower_.Call("POST", "/c", ClusterDoc("api"));
  // Not 200: that would promise a read here shows the write.
  ExpectError(r, 504, {"applied by leader", "not caught up"});
  EXPECT_EQ(follower_.server().CountersJson()["readYourWritesTimeouts"], 1);
}

TEST_F(Forwarding, BadInputIsRefusedLocally) {
  ExpectError(follower_.Call("POST", "/c/node/web", "[]"), 400, {"nodes", "empty"});
  EXPECT_TRUE(follower_.fake().calls().empty());
  EXPECT_TRUE(leader_.fake().calls().empty());
}

// A stand-in leader that records exactly what arrives.
TEST(ForwardingWire, SendsSameMethodTargetBodyAndForwardedHeader) {
  httplib::Server recorder;
  std::mutex mu;
  std::string method, target, body, header;
  recorder.Delete("/c/node/web", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    method = req.method;
    target = req.target;
    body = req.body;
    header = req.get_header_value("X-Jcm-Forwarded");
    res.set_content(R"({"code":0,"msg":"ok","data":{"name":"web","version":77}})",
                    "application/json");
  });
  int port = recorder.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { recorder.listen_after_bind(); });
  while (!recorder.is_running()) std::this_thread::yield();

  TestApi follower;
  follower.fake().FailWritesWith(Status::NotLeader("follower"));
  follower.fake().SetLeader(Points(port));
  Reply r = follower.Call("DELETE", "/c/node/web?trace=1", R"(["10.0.0.1|TCP:81|HTTP:80"])");
  recorder.stop();
  serving.join();

  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["data"]["version"], 77);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(method, "DELETE");
  EXPECT_EQ(target, "/c/node/web?trace=1");
  EXPECT_EQ(body, R"(["10.0.0.1|TCP:81|HTTP:80"])");
  EXPECT_EQ(header, follower.server().self_address());
  ASSERT_EQ(follower.fake().applied_waits().size(), 1u);
  EXPECT_EQ(follower.fake().applied_waits()[0].version, 77);
}

// A leader that records every request, holds the first until released
// (unless `hold_first` is false), and answers with `answer` (status,
// body) for each body.
class HoldingLeader {
 public:
  using Answer = std::function<std::pair<int, std::string>(const std::string& body)>;
  explicit HoldingLeader(Answer answer, bool hold_first = true) : answer_(std::move(answer)) {
    released_ = !hold_first;
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      requests_.push_back(req.method + " " + req.path);
      const bool first = bodies_.size() == 1;
      cv_.notify_all();
      if (first) cv_.wait(lock, [&] { return released_; });
      lock.unlock();
      auto [status, body] = answer_(req.body);
      res.status = status;
      res.set_content(body, "application/json");
    };
    server_.Post("/c/node/web", handler);
    server_.Delete("/c/node/web", handler);
    server_.Post("/c/nodes/web", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    serving_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~HoldingLeader() {
    Release();
    server_.stop();
    serving_.join();
  }
  int port() const { return port_; }
  bool AwaitFirst() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !bodies_.empty(); });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  // "METHOD path" of each request, in arrival order.
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  Answer answer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread serving_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> bodies_;    // GUARDED_BY(mu_)
  std::vector<std::string> requests_;  // GUARDED_BY(mu_)
  bool released_ = false;              // GUARDED_BY(mu_)
};

// The leader's ack of every write, at version 9.
std::pair<int, std::string> Acked(const std::string&) {
  return {200, R"({"code":0,"msg":"ok","data":{"name":"web","version":9}})"};
}

// `follower` is not the leader and forwards to the one on `leader_port`.
void Follow(TestApi* follower, int leader_port) {
  follower->fake().FailWritesWith(Status::NotLeader("follower"));
  follower->fake().SetLeader(Points(leader_port));
}

std::string NodeBody(int i) {
  return R"([{"ip":"10.0.0.)" + std::to_string(i) +
         R"(","protos":[{"port":8080,"proto":"HTTP"}]}])";
}

// Sends `bodies` to the follower at once (POST or DELETE /c/node/web),
// the first alone until the leader holds it and every other has reached
// the forwarder; then releases the leader. Returns each caller's status.
// (Each write with its own method.)
std::vector<int> SendWhileTheFirstIsHeld(
    TestApi* follower, HoldingLeader* leader,
    const std::vector<std::pair<std::string, std::string>>& writes) {
  std::vector<int> statuses(writes.size());
  std::vector<std::thread> callers;
  auto call = [&](size_t i) {
    statuses[i] = follower->Call(writes[i].first, "/c/node/web", writes[i].second).status;
  };
  callers.emplace_back([&] { call(0); });
  EXPECT_TRUE(leader->AwaitFirst());
  // One at a time into the lane, so its queue holds them in this order.
  for (size_t i = 1; i < writes.size(); ++i) {
    callers.emplace_back([&, i] { call(i); });
    for (int t = 0;
         t < 10000 && follower->server().CountersJson()["forwarded"] != static_cast<int>(i + 1);
         ++t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  // Every write has reached the forwarder: the others wait in its lane.
  leader->Release();
  for (std::thread& t : callers) t.join();
  return statuses;
}

std::vector<int> SendWhileTheFirstIsHeld(TestApi* follower, HoldingLeader* leader,
                                         const std::string& method,
                                         const std::vector<std::string>& bodies) {
  std::vector<std::pair<std::string, std::string>> writes;
  for (const std::string& b : bodies) writes.emplace_back(method, b);
  return SendWhileTheFirstIsHeld(follower, leader, writes);
}

// Node writes of one cluster queued behind a forward in flight go to the
// leader in one request: every node in one array, every caller answered.
TEST(ForwardingWire, NodeWritesQueuedBehindAForwardShareOneRequest) {
  HoldingLeader leader(Acked);
  TestApi follower;
  Follow(&follower, leader.port());
  std::vector<std::string> bodies;
  for (int i = 1; i <= 6; ++i) bodies.push_back(NodeBody(i));
  std::vector<int> statuses = SendWhileTheFirstIsHeld(&follower, &leader, "POST", bodies);
  for (int st : statuses) EXPECT_EQ(st, 200);
  std::vector<std::string> got = leader.bodies();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], bodies[0]);
  json merged = json::parse(got[1]);
  ASSERT_TRUE(merged.is_array());
  std::set<std::string> ips;
  for (const json& n : merged) ips.insert(n["ip"].get<std::string>());
  EXPECT_EQ(ips,
            (std::set<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}));
  json counters = follower.server().CountersJson();
  EXPECT_EQ(counters["forwarded"], 6);
  EXPECT_EQ(counters["forwardsMerged"], 1);
  EXPECT_EQ(counters["forwardsMergedWrites"], 5);
  EXPECT_EQ(counters["forwardMergeFallbacks"], 0);
  // Each caller waited for read-your-writes of the ack.
  EXPECT_EQ(follower.fake().applied_waits().size(), 6u);
}

// The leader refuses a merged request (one spec it does not hold): nothing
// was applied, each write is sent again alone, and only the caller at
// fault gets the refusal.
TEST(ForwardingWire, AMergedRequestRefusedIsSentAgainWriteByWrite) {
  HoldingLeader leader([](const std::string& body) {
    if (body.find("10.0.0.4") != std::string::npos) {
      return std::make_pair(
          404, std::string(R"({"code":404,"msg":"node '10.0.0.4|HTTP:8080' not in 'web'"})"));
    }
    return Acked(body);
  });
  TestApi follower;
  Follow(&follower, leader.port());
  std::vector<std::string> bodies;
  for (int i = 1; i <= 5; ++i) bodies.push_back("[\"10.0.0." + std::to_string(i) + "|HTTP:8080\"]");
  std::vector<int> statuses = SendWhileTheFirstIsHeld(&follower, &leader, "DELETE", bodies);
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 404, 200}));
  // The first alone, the four merged, then each of the four alone.
  EXPECT_EQ(leader.bodies().size(), 6u);
  json counters = follower.server().CountersJson();
  EXPECT_EQ(counters["forwardsMerged"], 1);
  EXPECT_EQ(counters["forwardMergeFallbacks"], 1);
}

std::string SpecBody(int i) { return "[\"10.0.0." + std::to_string(i) + "|HTTP:8080\"]"; }

// Additions and removals of one cluster queued behind a forward in flight
// share one lane: the next request to the leader is one POST
// /c/nodes/{name} with every removal, then every addition, in arrival
// order, and every caller gets the ack.
TEST(ForwardingWire, AdditionsAndRemovalsQueuedTogetherGoAsOneChange) {
  HoldingLeader leader(Acked);
  TestApi follower;
  Follow(&follower, leader.port());
  std::vector<int> statuses = SendWhileTheFirstIsHeld(&follower, &leader,
                                                      {{"POST", NodeBody(1)},
                                                       {"POST", NodeBody(2)},
                                                       {"DELETE", SpecBody(7)},
                                                       {"POST", NodeBody(3)},
                                                       {"DELETE", SpecBody(8)}});
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200, 200, 200}));
  EXPECT_EQ(leader.requests(), (std::vector<std::string>{"POST /c/node/web", "POST /c/nodes/web"}));
  json change = json::parse(leader.bodies()[1]);
  EXPECT_EQ(change["remove"], json::parse(R"(["10.0.0.7|HTTP:8080", "10.0.0.8|HTTP:8080"])"));
  ASSERT_EQ(change["add"].size(), 2u);
  EXPECT_EQ(change["add"][0]["ip"], "10.0.0.2");
  EXPECT_EQ(change["add"][1]["ip"], "10.0.0.3");
  EXPECT_EQ(change.size(), 2u);
  json counters = follower.server().CountersJson();
  EXPECT_EQ(counters["forwardsMerged"], 1);
  EXPECT_EQ(counters["forwardsMergedWrites"], 4);
  EXPECT_EQ(counters["forwardsMergedMixed"], 1);
  EXPECT_EQ(counters["forwardMergeFallbacks"], 0);
  EXPECT_EQ(follower.fake().applied_waits().size(), 5u);
}

// Removals only, queued together: one DELETE of the route, not a change.
TEST(ForwardingWire, RemovalsQueuedTogetherStayADelete) {
  HoldingLeader leader(Acked);
  TestApi follower;
  Follow(&follower, leader.port());
  std::vector<int> statuses = SendWhileTheFirstIsHeld(&follower, &leader, "DELETE",
                                                      {SpecBody(1), SpecBody(2), SpecBody(3)});
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200}));
  EXPECT_EQ(leader.requests(),
            (std::vector<std::string>{"DELETE /c/node/web", "DELETE /c/node/web"}));
  EXPECT_EQ(json::parse(leader.bodies()[1]),
            json::parse(R"(["10.0.0.2|HTTP:8080", "10.0.0.3|HTTP:8080"])"));
  EXPECT_EQ(follower.server().CountersJson()["forwardsMergedMixed"], 0);
}

// A leader that refuses the change (an older jcm without /c/nodes/{name}
// answers 404): nothing was applied, and each write goes again alone, on
// the route it came by.
TEST(ForwardingWire, AChangeTheLeaderRefusesIsSentAgainWriteByWrite) {
  HoldingLeader leader([](const std::string& body) {
    if (!body.empty() && body[0] == '{') {
      return std::make_pair(404, std::string(R"({"code":404,"msg":"no route"})"));
    }
    return Acked(body);
  });
  TestApi follower;
  Follow(&follower, leader.port());
  std::vector<int> statuses = SendWhileTheFirstIsHeld(
      &follower, &leader, {{"POST", NodeBody(1)}, {"POST", NodeBody(2)}, {"DELETE", SpecBody(3)}});
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200}));
  std::vector<std::string> got = leader.requests();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1], "POST /c/nodes/web");
  std::multiset<std::string> alone(got.begin() + 2, got.end());
  EXPECT_EQ(alone, (std::multiset<std::string>{"POST /c/node/web", "DELETE /c/node/web"}));
  EXPECT_EQ(follower.server().CountersJson()["forwardMergeFallbacks"], 1);
}

// A lane that gathers stops as soon as as many writes wait as its last send
// carried, not after the last round trip (at most merge_linger). Here that
// round trip is 1.5 s (the leader holds the first write) and the linger
// 10 s: a lane that waited them out would send the second request 1.5 s
// after the first's answer. (The forwarder reads the steady clock; the
// hold is real time.)
TEST(ForwardingWire, AGatheringLaneSendsOnceItsLastSendsWritesAreBack) {
  HoldingLeader leader(Acked);
  ApiOptions options;
  options.forward_merge_linger = std::chrono::seconds(10);
  TestApi follower(options);
  Follow(&follower, leader.port());
  std::vector<int> statuses(3);
  std::vector<std::thread> callers;
  callers.emplace_back(
      [&] { statuses[0] = follower.Call("POST", "/c/node/web", NodeBody(1)).status; });
  ASSERT_TRUE(leader.AwaitFirst());
  for (int i = 1; i < 3; ++i) {
    callers.emplace_back(
        [&, i] { statuses[i] = follower.Call("POST", "/c/node/web", NodeBody(i + 1)).status; });
  }
  for (int t = 0; t < 10000 && follower.server().CountersJson()["forwarded"] != 3; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto released = std::chrono::steady_clock::now();
  leader.Release();
  // The first send carried one write, so the two queued behind it are
  // enough: the lane sends them at once.
  for (int t = 0; t < 10000 && leader.bodies().size() < 2; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - released, std::chrono::milliseconds(1000));
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200}));
  EXPECT_EQ(leader.bodies().size(), 2u);
}

// Many writers at once against a leader that takes a moment per request:
// lanes turn busy and their sends gather (merge_linger); every write
// reaches the leader exactly once and every caller is answered.
TEST(ForwardingWire, ABusyLaneDeliversEveryWriteOnce) {
  HoldingLeader leader(
      [](const std::string& body) {
        // The leader's write takes a moment: writes queue behind it.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return Acked(body);
      },
      /*hold_first=*/false);
  TestApi follower;
  Follow(&follower, leader.port());
  constexpr int kWriters = 16, kEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        ok += follower.Call("POST", "/c/node/web", NodeBody(w * kEach + i + 1)).status == 200;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(ok.load(), kWriters * kEach);
  std::multiset<std::string> ips;
  for (const std::string& body : leader.bodies()) {
    for (const json& n : json::parse(body)) ips.insert(n["ip"].get<std::string>());
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kWriters * kEach));
  EXPECT_EQ(std::set<std::string>(ips.begin(), ips.end()).size(),
            static_cast<size_t>(kWriters * kEach));
  EXPECT_GT(follower.server().CountersJson()["forwardsMerged"].get<int>(), 0);
}

// Writes of different callers (Authorization) are never merged.
TEST(ForwardingWire, WritesOfDifferentCallersAreNotMerged) {
  HoldingLeader leader(Acked);
  TestApi follower;
  Follow(&follower, leader.port());
  std::vector<int> statuses(4);
  std::vector<std::thread> callers;
  callers.emplace_back(
      [&] { statuses[0] = follower.Call("POST", "/c/node/web", NodeBody(1)).status; });
  ASSERT_TRUE(leader.AwaitFirst());
  for (int i = 1; i < 4; ++i) {
    callers.emplace_back([&, i] {
      httplib::Headers h = {{"Authorization", "Bearer caller-" + std::to_string(i)}};
      statuses[i] = follower.Call("POST", "/c/node/web", NodeBody(i + 1), h).status;
    });
  }
  for (int t = 0; t < 10000 && follower.server().CountersJson()["forwarded"] != 4; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  leader.Release();
  for (std::thread& t : callers) t.join();
  for (int st : statuses) EXPECT_EQ(st, 200);
  EXPECT_EQ(leader.bodies().size(), 4u);
  EXPECT_EQ(follower.server().CountersJson()["forwardsMerged"], 0);
}

}  // namespace
}  // namespace jcm

namespace jcm {
namespace {

// A TCP server that reads one request and closes without answering: the
// sender cannot know whether it was applied.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      std::string got;
      while (got.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      ::close(c);
    });
  }
  ~BlackHole() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

class HeldWrites : public ::testing::Test {
 protected:
  HeldWrites() : follower_(Hold(std::chrono::milliseconds(5000))) {}
  void SetUp() override {
    follower_.fake().FailWritesWith(Status::NotLeader("follower"));
    Cluster c;
    ASSERT_TRUE(DecodeCluster(json::parse(ClusterDoc("web")), &c).ok());
    leader_.fake().SetCluster(c);
  }
  TestApi leader_;
  TestApi follower_;
};

TEST_F(HeldWrites, AWriteWaitsForALeaderToBeElected) {
  follower_.fake().SetLeader(LeaderInfo{});
  auto start = std::chrono::steady_clock::now();
  auto call = std::async(std::launch::async,
                         [&] { return follower_.Call("POST", "/c", ClusterDoc("held")); });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(call.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  follower_.fake().SetLeader(Points(leader_.port()));  // elected
  Reply r = call.get();
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_EQ(leader_.fake().calls(), std::vector<std::string>{"PutCluster held"});
  EXPECT_EQ(follower_.server().CountersJson()["writesHeld"], 1);
}

TEST_F(HeldWrites, AnInstanceThatNoLongerLeadsMakesTheWriteWaitNotFail) {
  // The follower still points at an instance that lost the lead: it answers
  // 503 saying so, and applied nothing.
  TestApi former(Hold(std::chrono::milliseconds(5000)));
  former.fake().FailWritesWith(Status::NotLeader("former"));
  former.fake().SetLeader(Points(leader_.port()));
  follower_.fake().SetLeader(Points(former.port()));
  auto call = std::async(std::launch::async,
                         [&] { return follower_.Call("POST", "/c/online/web", "false"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  follower_.fake().SetLeader(Points(leader_.port()));  // the election reached it
  Reply r = call.get();
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(leader_.fake().calls(), std::vector<std::string>{"SetClusterOnline web false"});
  EXPECT_GE(former.fake().calls().size(), 1u);  // tried there, refused, nothing applied
}

TEST_F(HeldWrites, AnUnknownOutcomeIsResentSoThatDoingItTwiceIsHarmless) {
  BlackHole hole;
  follower_.fake().SetLeader(Points(hole.port()));
  // Removing a node the leader does not have: a first send would be 404; a
  // send after an unknown outcome means "it may be gone already" and passes.
  auto call = std::async(std::launch::async, [&] {
    return follower_.Call("DELETE", "/c/node/web", R"(["10.9.9.9|HTTP:80"])");
  });
  for (int i = 0; i < 100 && hole.requests() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(hole.requests(), 1);
  follower_.fake().SetLeader(Points(leader_.port()));
  Reply r = call.get();
  EXPECT_EQ(r.status, 200) << r.raw;
  // One removal tried (NotFound), none repeated: nothing was left to remove.
  EXPECT_EQ(leader_.fake().calls(), std::vector<std::string>{"RemoveNodes web"});
  EXPECT_EQ(leader_.fake().GetCluster("web")->nodes.size(), 2u);
  // Without the retry marker the same request is refused.
  ExpectError(leader_.Call("DELETE", "/c/node/web", R"(["10.9.9.9|HTTP:80"])"), 404, {});
}

TEST_F(HeldWrites, TheHoldIsBounded) {
  TestApi quick(Hold(std::chrono::milliseconds(300)));
  quick.fake().FailWritesWith(Status::NotLeader("quick"));
  quick.fake().SetLeader(LeaderInfo{});
  auto start = std::chrono::steady_clock::now();
  ExpectError(quick.Call("POST", "/c", ClusterDoc("never")), 503, {"no leader elected"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
}

}  // namespace
}  // namespace jcm
