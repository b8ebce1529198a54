// ApiServer's lifecycle and connection handling: port 0, bind failures,
// Stop(), and keep-alive clients that must not starve the worker pool.
#include <gtest/gtest.h>

#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

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

// Two keep-alive clients sit idle on their connections while a third asks;
// with two workers, the third is served only if idle connections give their
// worker back.
Reply ThirdClientWhileTwoIdle(TestApi& api, std::chrono::milliseconds third_timeout) {
  auto hog = [&] {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", api.port());
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    return c;
  };
  auto hog1 = hog();
  auto hog2 = hog();
  EXPECT_EQ(hog1->Get("/healthz")->status, 200);
  EXPECT_EQ(hog2->Get("/healthz")->status, 200);
  httplib::Client third("127.0.0.1", api.port());
  third.set_read_timeout(third_timeout);
  Reply reply;
  if (auto res = third.Get("/healthz")) reply.status = res->status;
  // The idle connections were closed by the server; the clients reconnect.
  auto again = hog1->Get("/healthz");
  EXPECT_TRUE(again && again->status == 200);
  return reply;
}

TEST(ApiServer, IdleKeepAliveConnectionsDoNotStarveThePool) {
  ApiOptions o;
  o.worker_threads = 2;
  o.keep_alive_max_count = 100;  // even with reuse, the ~10 ms idle window frees workers
  TestApi api(o);
  auto start = std::chrono::steady_clock::now();
  Reply r = ThirdClientWhileTwoIdle(api, std::chrono::seconds(5));
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// Control: cpp-httplib's usual keep-alive settings let two idle clients hold
// both workers, and the third is not answered in time.
TEST(ApiServer, LongKeepAliveTimeoutWouldStarve) {
  ApiOptions o;
  o.worker_threads = 2;
  o.keep_alive_timeout_sec = 2;
  o.keep_alive_max_count = 100;
  TestApi api(o);
  Reply r = ThirdClientWhileTwoIdle(api, std::chrono::milliseconds(300));
  EXPECT_EQ(r.status, 0);
}

}  // namespace
}  // namespace jcm

namespace jcm {
namespace {

TEST(ApiServer, DefaultClosesAfterEachRequest) {
  TestApi api;
  httplib::Client c("127.0.0.1", api.port());
  c.set_keep_alive(true);
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Connection"), "close");
  auto again = c.Get("/healthz");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

}  // namespace
}  // namespace jcm
