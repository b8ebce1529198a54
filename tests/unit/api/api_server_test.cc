// ApiServer's lifecycle and connection handling over real loopback sockets:
// port 0, bind failures, Stop(), keep-alive and pipelining, HTTP/1.0,
// deadlines for slow and idle clients, header and body limits, and the
// connection cap that evicts the longest-idle connection.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "tests/support/raw_http.h"
#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

using std::chrono::milliseconds;

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

// Waits (up to 2 s) for api.http.<counter> to reach `want`: the server
// counts a close in the handler that runs just after the client saw it.
bool AwaitHttpCounter(TestApi& api, const char* counter, int want) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    if (api.server().CountersJson()["http"][counter].get<int>() >= want) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return false;
}

TEST(ApiServer, PortZeroPicksAFreePort) {
  TestApi api;
  EXPECT_GT(api.port(), 0);
  EXPECT_EQ(api.server().self_address(), "127.0.0.1:" + std::to_string(api.port()));
  EXPECT_EQ(api.Call("GET", "/healthz").status, 200);
}

TEST(ApiServer, SelfAddressOptionIsReported) {
  ApiOptions o;
  o.self_address = "jcm-1.example:8080";
  TestApi api(o);
  Reply r = api.Call("GET", "/healthz");
  EXPECT_EQ(r.body["data"]["self"], "jcm-1.example:8080");
}

TEST(ApiServer, BusyPortIsUnavailable) {
  TestApi first;
  FakeNameService fake;
  ApiOptions o;
  o.port = first.port();
  ApiServer second(o, &fake);
  Status s = second.Start();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find(std::to_string(first.port())), std::string::npos) << s.message();
}

TEST(ApiServer, StopClosesThePortAndIsIdempotent) {
  TestApi api;
  int port = api.port();
  api.server().Stop();
  api.server().Stop();
  EXPECT_EQ(Call(port, "GET", "/healthz").status, 0);
}

TEST(ApiServer, HundredRequestsOnOneConnection) {
  TestApi api;
  RawHttp conn(api.port());
  ASSERT_TRUE(conn.connected());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(conn.Send(kHealthz)) << i;
    RawResponse r = conn.Read();
    ASSERT_EQ(r.status, 200) << "request " << i;
    EXPECT_EQ(r.headers.find("connection: close"), std::string::npos) << r.headers;
  }
  EXPECT_EQ(api.server().CountersJson()["http"]["accepted"], 1);
  EXPECT_EQ(api.server().CountersJson()["http"]["requests"], 100);
}

TEST(ApiServer, PipelinedRequestsAreAnsweredInOrder) {
  TestApi api;
  Cluster web;
  web.name = "web";
  web.version = 7;
  api.fake().SetCluster(web);
  RawHttp conn(api.port());
  // Three requests in one write; a write route among them runs on a worker
  // and must still be answered in its place.
  ASSERT_TRUE(
      conn.Send("GET /c/web HTTP/1.1\r\nHost: t\r\n\r\n"
                "POST /c/online/web HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfalse"
                "GET /c/nosuch HTTP/1.1\r\nHost: t\r\n\r\n"));
  RawResponse a = conn.Read(), b = conn.Read(), c = conn.Read();
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\"web\""), std::string::npos) << a.body;
  EXPECT_EQ(b.status, 200) << b.body;
  EXPECT_NE(b.body.find("\"version\""), std::string::npos) << b.body;
  EXPECT_EQ(c.status, 404) << c.body;
}

TEST(ApiServer, ConnectionCloseIsHonoured) {
  TestApi api;
  RawHttp conn(api.port());
  ASSERT_TRUE(conn.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  RawResponse r = conn.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.headers.find("connection: close"), std::string::npos) << r.headers;
  EXPECT_TRUE(conn.ClosedByPeer(milliseconds(2000)));
}

TEST(ApiServer, Http10IsServedAndClosedUnlessKeepAlive) {
  TestApi api;
  RawHttp plain(api.port());
  ASSERT_TRUE(plain.Send("GET /healthz HTTP/1.0\r\n\r\n"));
  RawResponse r = plain.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(plain.ClosedByPeer(milliseconds(2000)));

  RawHttp keep(api.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(keep.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_EQ(keep.Read().status, 200) << i;
  }
}

// The reply head is written by hand (api/http_server.cc FormatHead): pin
// its exact bytes, as Beast's serializer wrote them before, for each case
// of the Connection header.
TEST(ApiServer, ReplyHeadsAreExact) {
  TestApi api;
  RawHttp keep(api.port());
  ASSERT_TRUE(keep.Send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"));
  RawResponse r = keep.Read();
  EXPECT_EQ(r.headers,
            "http/1.1 404 not found\r\ncontent-type: application/json\r\ncontent-length: " +
                std::to_string(r.body.size()));
  ASSERT_TRUE(keep.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  r = keep.Read();
  EXPECT_EQ(r.headers,
            "http/1.1 200 ok\r\ncontent-type: application/json\r\nconnection: "
            "close\r\ncontent-length: " +
                std::to_string(r.body.size()));

  RawHttp old(api.port());
  ASSERT_TRUE(old.Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = old.Read();
  EXPECT_EQ(r.headers,
            "http/1.0 200 ok\r\ncontent-type: application/json\r\nconnection: "
            "keep-alive\r\ncontent-length: " +
                std::to_string(r.body.size()));
  ASSERT_TRUE(old.Send("GET /healthz HTTP/1.0\r\n\r\n"));
  r = old.Read();
  EXPECT_EQ(r.headers, "http/1.0 200 ok\r\ncontent-type: application/json\r\ncontent-length: " +
                           std::to_string(r.body.size()));
}

TEST(ApiServer, SlowClientIsCutAtTheRequestDeadlineAndOthersAreServed) {
  ApiOptions o;
  o.request_deadline = milliseconds(400);
  o.io_threads = 1;  // one event loop: a blocked loop would show at once
  TestApi api(o);
  std::vector<std::unique_ptr<RawHttp>> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<RawHttp>(api.port()));
    ASSERT_TRUE(slow.back()->Send("GET /healthz HTTP/1.1\r\nHo"));
  }
  // Trickle one byte each every 100 ms for 1.5 s, well past the deadline,
  // while others ask; every answer comes at once.
  for (int round = 0; round < 15; ++round) {
    for (auto& s : slow) s->Send("s");
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(api.Call("GET", "/healthz").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1000));
    std::this_thread::sleep_for(milliseconds(100));
  }
  // The deadline is for the whole request, not per read: although each kept
  // sending, all were cut off while still trickling (a per-read timeout
  // would have kept every one open).
  for (auto& s : slow) EXPECT_TRUE(s->ClosedByPeer(milliseconds(1)));
  EXPECT_TRUE(AwaitHttpCounter(api, "closedDeadline", 50));
  EXPECT_EQ(api.server().CountersJson()["http"]["closedDeadline"], 50);
}

TEST(ApiServer, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  ApiOptions o;
  o.idle_timeout = milliseconds(200);
  TestApi api(o);
  RawHttp conn(api.port());
  ASSERT_TRUE(conn.Send(kHealthz));
  EXPECT_EQ(conn.Read().status, 200);
  EXPECT_TRUE(conn.ClosedByPeer(milliseconds(2000)));
  EXPECT_TRUE(AwaitHttpCounter(api, "closedIdle", 1));
  EXPECT_EQ(api.server().CountersJson()["http"]["closedIdle"], 1);
}

TEST(ApiServer, OversizedHeadersAre431) {
  TestApi api;
  RawHttp conn(api.port());
  ASSERT_TRUE(conn.Send("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"));
  RawResponse r = conn.Read();
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.body.find("16384"), std::string::npos) << r.body;
}

TEST(ApiServer, AnyContentTypeIsReadUpToTheLimit) {
  TestApi api;
  // 300 nodes: far over the 8 KB that cpp-httplib allowed form-encoded
  // bodies; curl -d sends exactly this content type.
  std::string nodes = "[";
  for (int i = 0; i < 300; ++i) {
    if (i) nodes += ',';
    nodes += R"({"ip":"10.1.)" + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
             R"(","protos":[{"port":80,"proto":"HTTP"}]})";
  }
  nodes += "]";
  std::string doc = R"({"name":"big","nodes":)" + nodes + "}";
  ASSERT_GT(doc.size(), 12000u);
  httplib::Client client("127.0.0.1", api.port());
  auto res = client.Post("/c", doc, "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  ASSERT_NE(api.fake().GetCluster("big"), nullptr);
  EXPECT_EQ(api.fake().GetCluster("big")->nodes.size(), 300u);
}

TEST(ApiServer, ExpectContinueIsAnswered) {
  TestApi api;
  RawHttp conn(api.port());
  ASSERT_TRUE(conn.Send(
      "POST /c HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  RawResponse cont = conn.Read();
  EXPECT_EQ(cont.status, 100);
  ASSERT_TRUE(conn.Send("{}"));
  RawResponse r = conn.Read();
  EXPECT_EQ(r.status, 400) << r.body;  // {} is not a cluster: the body was read and judged
  EXPECT_NE(r.body.find("name"), std::string::npos) << r.body;
}

TEST(ApiServer, AtTheCapTheLongestIdleConnectionMakesRoom) {
  ApiOptions o;
  o.max_connections = 3;
  TestApi api(o);
  std::vector<std::unique_ptr<RawHttp>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<RawHttp>(api.port()));
    ASSERT_TRUE(idle.back()->Send(kHealthz));
    ASSERT_EQ(idle.back()->Read().status, 200);
    // The server takes it as idle once its reply is written, which may be
    // a moment after the client read it: wait, so the order is known.
    ASSERT_TRUE(AwaitHttpCounter(api, "waiting", i + 1));
  }
  // A fourth client is served; the first (longest idle) is closed for it.
  EXPECT_EQ(api.Call("GET", "/healthz").status, 200);
  EXPECT_TRUE(idle[0]->ClosedByPeer(milliseconds(2000)));
  ASSERT_TRUE(idle[2]->Send(kHealthz));
  EXPECT_EQ(idle[2]->Read().status, 200);
  EXPECT_TRUE(AwaitHttpCounter(api, "closedEvicted", 1));
  nlohmann::json http = api.server().CountersJson()["http"];
  EXPECT_EQ(http["refusedAtCap"], 0);
  EXPECT_EQ(http["maxConnections"], 3);
}

}  // namespace
}  // namespace jcm
