// ApiClient's failover rules and headers, against fake API servers on
// loopback (in-process httplib servers standing in for jcm-server).
#include "tools/jcmctl/api_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

namespace jcm::ctl {
namespace {

// One fake server: answers every route with `status` and `body`, after
// `delay`, and records what it saw.
class FakeServer {
 public:
  FakeServer(int status, std::string body, std::chrono::milliseconds delay = {})
      : status_(status), body_(std::move(body)), delay_(delay) {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      {
        std::lock_guard lock(mu_);
        authorization_ = req.get_header_value("Authorization");
        last_body_ = req.body;
      }
      std::this_thread::sleep_for(delay_);
      res.status = status_;
      res.set_content(body_, "application/json");
    };
    server_.Get(".*", handler);
    server_.Post(".*", handler);
    server_.Delete(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeServer() {
    server_.stop();
    thread_.join();
  }
  ServerUrl url() const { return ServerUrl{"http", "127.0.0.1", port_}; }
  int requests() const { return requests_; }
  std::string authorization() {
    std::lock_guard lock(mu_);
    return authorization_;
  }
  std::string last_body() {
    std::lock_guard lock(mu_);
    return last_body_;
  }

 private:
  int status_;
  std::string body_;
  std::chrono::milliseconds delay_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string authorization_, last_body_;
};

const char* kOk = R"({"code":0,"msg":"ok","data":{"name":"c","version":7}})";
const char* kNoLeader = R"({"code":-1,"msg":"no leader elected","data":null})";
const char* kBadIp =
    R"({"code":-1,"msg":"nodes[0].ip: '300.1.1.1' is not an IPv4 or IPv6 literal","data":null})";

// A port nothing listens on: bind one (without listening), note it, close it.
ServerUrl DeadUrl() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ServerUrl{"http", "127.0.0.1", ntohs(addr.sin_port)};
}

TEST(ApiClient, SendsTheTokenAndOpensTheEnvelope) {
  FakeServer a(200, kOk);
  ApiClient api({a.url()}, "s3cret");
  Result<nlohmann::json> data = api.Call("POST", "/c", R"({"name":"c"})");
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(data.value()["version"], 7);
  EXPECT_EQ(a.authorization(), "Bearer s3cret");
  EXPECT_EQ(a.last_body(), R"({"name":"c"})");
  ApiClient anonymous({a.url()}, "");
  ASSERT_TRUE(anonymous.Call("GET", "/c").ok());
  EXPECT_EQ(a.authorization(), "");
}

TEST(ApiClient, MovesOnAfterConnectFailureAnd503) {
  FakeServer unavailable(503, kNoLeader);
  FakeServer good(200, kOk);
  ApiClient api({DeadUrl(), unavailable.url(), good.url()}, "");
  Result<ApiReply> r = api.Send("POST", "/c/node/c", "[]");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->http_status, 200);
  EXPECT_EQ(r->server, good.url().Base());
  EXPECT_EQ(unavailable.requests(), 1);
  EXPECT_EQ(good.requests(), 1);
}

TEST(ApiClient, A4xxIsFinalAndCarriesTheServersMessage) {
  FakeServer refusing(400, kBadIp);
  FakeServer good(200, kOk);
  ApiClient api({refusing.url(), good.url()}, "");
  Result<nlohmann::json> r = api.Call("POST", "/c/node/c", "[]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(good.requests(), 0);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "nodes[0].ip: '300.1.1.1' is not an IPv4 or IPv6 literal (HTTP 400 from " +
                refusing.url().Base() + ")");
}

TEST(ApiClient, AllFailingNamesEachServer) {
  FakeServer unavailable(503, kNoLeader);
  const ServerUrl dead = DeadUrl();
  ApiClient api({dead, unavailable.url()}, "");
  Result<nlohmann::json> r = api.Call("GET", "/c");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no server answered"), std::string::npos);
  EXPECT_NE(r.status().message().find(dead.Base() + ": cannot connect"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("no leader elected"), std::string::npos);
}

TEST(ApiClient, AWriteIsNotRepeatedAfterABrokenExchangeButAReadIs) {
  FakeServer slow(200, kOk, std::chrono::milliseconds(800));
  FakeServer good(200, kOk);
  ApiClientOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  ApiClient api({slow.url(), good.url()}, "", options);
  Result<ApiReply> write = api.Send("POST", "/c", "{}");
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.status().message().find("may or may not have been applied"), std::string::npos)
      << write.status().message();
  EXPECT_EQ(good.requests(), 0);
  Result<ApiReply> read = api.Send("GET", "/c");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->server, good.url().Base());
  EXPECT_EQ(good.requests(), 1);
}

TEST(PathEscape, KeepsNamesAndEscapesTheRest) {
  EXPECT_EQ(PathEscape("sudoku_solver-1.a"), "sudoku_solver-1.a");
  EXPECT_EQ(PathEscape("a/b c"), "a%2Fb%20c");
}

}  // namespace
}  // namespace jcm::ctl
