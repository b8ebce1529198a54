// Issue 7's "what must be shown", against a real jcm-server on a real
// ZooKeeper, with default flags: slow clients cost the instance nothing,
// keep-alive and pipelining on one connection, and 2,000 long polls that
// park without threads and all hear one change.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/jcm_cluster.h"
#include "tests/support/raw_http.h"

namespace jcm::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

class ServingTest : public JcmClusterTest {
 protected:
  ServingTest() {
    options_.instances = 1;
    RaiseOpenFileLimit();  // thousands of client sockets in this process
  }
  int port() const { return std::stoi(address().substr(address().rfind(':') + 1)); }
  std::string address() const { return cluster_->address(0); }
  void CreateCluster(const std::string& name, int nodes) {
    json docs = json::array();
    for (int i = 0; i < nodes; ++i) docs.push_back(NodeDoc(NthIp(i), 8080));
    HttpReply r = HttpPostJson(address(), "/c", ClusterDoc(name, docs));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  // /sys/status "api" of the instance. Asked again while it does not answer
  // in time (a sanitizer build accepting 2,000 connections is slow).
  json Api() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto status = cluster_->Status(0);
      if (status && (*status)["api"].is_object()) return (*status)["api"];
    }
    ADD_FAILURE() << "no /sys/status from " << address();
    return json::object();
  }
};

std::string SubBody(const std::string& name, long long version, long long status_version,
                    int wait_ms) {
  json body = {
      {"tag", "serving-test"},
      {"ext", 1},
      {"waitMs", wait_ms},
      {"units", {{{"name", name}, {"version", version}, {"statusVersion", status_version}}}}};
  return body.dump();
}

std::string PostRequest(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST_F(ServingTest, TricklingClientsDoNotSilenceTheInstance) {
  CreateCluster("svc", 2);
  constexpr int kSlow = 200;
  std::vector<std::unique_ptr<RawHttp>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawHttp>(port()));
    ASSERT_TRUE(slow.back()->connected()) << i;
  }
  // One header byte a second from each, for 12 s (past the 10 s request
  // deadline, which must cut them off).
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: trickle\r\n\r\n";
    for (size_t pos = 0; pos < request.size() && !stop.load(); ++pos) {
      for (auto& s : slow) s->Send(request.substr(pos, 1));
      for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(milliseconds(100));
    }
  });
  const std::string sub = SubBody("svc", 0, 0, 0);
  int answered = 0;
  auto end = Clock::now() + std::chrono::seconds(12);
  while (Clock::now() < end) {
    auto t0 = Clock::now();
    HttpReply h = HttpGet(address(), "/healthz", milliseconds(1000));
    auto t1 = Clock::now();
    HttpReply s = HttpPost(address(), "/sub", sub, milliseconds(1000));
    auto t2 = Clock::now();
    ASSERT_EQ(h.status, 200) << h.Describe();
    ASSERT_EQ(s.status, 200) << s.Describe();
    ASSERT_EQ(s.json["units"][0]["kind"], "RESP_UPDATE") << s.body;
    EXPECT_LT(t1 - t0, milliseconds(1000));
    EXPECT_LT(t2 - t1, milliseconds(1000));
    answered += 2;
    std::this_thread::sleep_for(milliseconds(200));
  }
  stop = true;
  trickler.join();
  EXPECT_GT(answered, 40);
  // None of the trickled requests was ever answered: each was cut off.
  for (auto& s : slow) EXPECT_TRUE(s->ClosedByPeer(milliseconds(3000)));
  EXPECT_GE(Api()["http"].value("closedDeadline", 0), kSlow);
}

TEST_F(ServingTest, HundredRequestsOnOneConnectionAndPipelined) {
  CreateCluster("ka", 3);
  RawHttp conn(port());
  ASSERT_TRUE(conn.connected());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(conn.Send("GET /c/ka HTTP/1.1\r\nHost: t\r\n\r\n"));
    RawResponse r = conn.Read();
    ASSERT_EQ(r.status, 200) << "request " << i;
  }
  // Pipelined: a read, a write (run on a worker), a /sub and a miss, sent in
  // one go, answered in that order.
  std::string batch = "GET /c/ka HTTP/1.1\r\nHost: t\r\n\r\n" +
                      PostRequest("/c/node/ka", json::array({NodeDoc(NthIp(50), 8080)}).dump()) +
                      PostRequest("/sub", SubBody("ka", 0, 0, 0)) +
                      "GET /c/nosuch HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_TRUE(conn.Send(batch));
  RawResponse get = conn.Read(), add = conn.Read(), sub = conn.Read(), miss = conn.Read();
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(json::parse(get.body)["data"]["nodes"].size(), 3u) << get.body;
  EXPECT_EQ(add.status, 200) << add.body;
  ASSERT_EQ(sub.status, 200) << sub.body;
  // The /sub came after the write on the same connection: it sees 4 nodes.
  EXPECT_EQ(json::parse(sub.body)["units"][0]["cluster"]["nodes"].size(), 4u) << sub.body;
  EXPECT_EQ(miss.status, 404);
  EXPECT_GE(Api()["http"].value("accepted", 0), 1);
}

TEST_F(ServingTest, TwoThousandLongPollsParkAndAllHearOneChange) {
  CreateCluster("lp", 2);
  // The versions to hold, settled: a short long poll holding them times out
  // unchanged. (A checkType NONE cluster has no checker, so no status write
  // moves statusVersion after the create.)
  ASSERT_TRUE(
      WaitUntil([&] { return cluster_->GetCluster(0, "lp").has_value(); }, milliseconds(15000)));
  long long version = 0, status_version = 0;
  bool settled = false;
  for (int attempt = 0; attempt < 20 && !settled; ++attempt) {
    auto current = cluster_->GetCluster(0, "lp");
    ASSERT_TRUE(current);
    version = (*current)["version"].get<long long>();
    status_version = current->value("statusVersion", 0LL);
    HttpReply probe = HttpPost(address(), "/sub", SubBody("lp", version, status_version, 300));
    settled = probe.status == 200 && probe.json["units"][0]["kind"] == "RESP_NOCHANGE";
  }
  ASSERT_TRUE(settled) << "the cluster's versions kept moving";
  constexpr int kPolls = 2000;
  std::vector<std::unique_ptr<RawHttp>> polls;
  const std::string request = PostRequest("/sub", SubBody("lp", version, status_version, 20000));
  for (int i = 0; i < kPolls; ++i) {
    polls.push_back(std::make_unique<RawHttp>(port()));
    ASSERT_TRUE(polls.back()->connected()) << i;
    ASSERT_TRUE(polls.back()->Send(request)) << i;
  }
  // At least 95 % park (all should).
  int parked = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    parked = Api().value("longPollsParked", 0);
    if (parked >= kPolls) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_GE(parked, kPolls * 95 / 100);
  if (parked < kPolls * 95 / 100) {
    RawResponse early = polls[0]->Read(milliseconds(100));
    ADD_FAILURE() << "the first poll was answered without parking: " << early.status << " "
                  << early.body;
  }
  EXPECT_EQ(Api()["longPollsRefused"], 0);

  auto change = Clock::now();
  HttpReply add = HttpPostJson(address(), "/c/node/lp", json::array({NodeDoc(NthIp(9), 8080)}));
  ASSERT_EQ(add.status, 200) << add.Describe();
  int updates = 0;
  Clock::duration last{};
  for (auto& p : polls) {
    auto left =
        std::chrono::duration_cast<milliseconds>(change + std::chrono::seconds(2) - Clock::now());
    RawResponse r = p->Read(std::max(left, milliseconds(1)));
    if (r.status != 200) continue;
    json units = json::parse(r.body)["units"];
    if (units[0]["kind"] == "RESP_UPDATE" && units[0]["cluster"]["nodes"].size() == 3) {
      ++updates;
      last = Clock::now() - change;
    }
  }
  EXPECT_EQ(updates, kPolls) << "within 2 s of the change";
  EXPECT_LT(last, std::chrono::seconds(2));
  std::printf("2000 long polls: %d parked, last RESP_UPDATE read %lld ms after the change\n",
              parked,
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(last).count()));
}

}  // namespace
}  // namespace jcm::testing
