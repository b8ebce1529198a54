// HealthChecker against real targets on loopback: cpp-httplib servers and TCP
// listeners on 127.0.0.x that this test starts and stops. Real time, short
// intervals (300 ms); each test takes a few seconds at most. Every test runs
// with both HTTP probers (native and libcurl): they must be interchangeable.
#include "healthcheck/health_checker.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace jcm {
namespace {

using namespace std::chrono_literals;

class WaitingSink : public StatusSink {
 public:
  Status WriteStatuses(const StatusReport& report) override {
    std::lock_guard<std::mutex> lock(mu_);
    reports_.push_back(report);
    cv_.notify_all();
    return Status::Ok();
  }
  // Waits until a report of `cluster` satisfies `pred`; returns it.
  std::optional<StatusReport> WaitFor(const std::string& cluster,
                                      const std::function<bool(const StatusReport&)>& pred,
                                      std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<StatusReport> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const StatusReport& r : reports_) {
        if (r.cluster == cluster && pred(r)) {
          found = r;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  size_t Count(const std::string& cluster) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const StatusReport& r : reports_) n += r.cluster == cluster;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StatusReport> reports_;
};

// An HTTP target: GET /health answers `code` after `delay`.
class HttpTarget {
 public:
  HttpTarget(const std::string& ip, int code, std::chrono::milliseconds delay = 0ms, int port = 0)
      : ip_(ip) {
    server_.set_keep_alive_max_count(100000);
    server_.Get("/health",
                [this, code, delay](const httplib::Request& req, httplib::Response& res) {
                  if (delay.count() > 0) std::this_thread::sleep_for(delay);
                  {
                    std::lock_guard<std::mutex> lock(mu_);
                    ports_.insert(req.remote_port);
                    peers_.insert(req.remote_addr);
                    ++requests_;
                  }
                  res.status = code;
                  res.set_content("ok", "text/plain");
                });
    if (port > 0) {
      port_ = server_.bind_to_port(ip, port) ? port : -1;
    } else {
      port_ = server_.bind_to_any_port(ip);
    }
    EXPECT_GT(port_, 0) << "cannot bind " << ip;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~HttpTarget() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  size_t connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return ports_.size();
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::set<std::string> peers() {
    std::lock_guard<std::mutex> lock(mu_);
    return peers_;
  }

 private:
  std::string ip_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::set<int> ports_;
  std::set<std::string> peers_;
  int requests_ = 0;
};

// A TCP listener the kernel completes connections for (never accepted).
class TcpListener {
 public:
  explicit TcpListener(const std::string& ip) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd_, 128), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~TcpListener() { close(fd_); }
  int port() const { return port_; }
  // Source addresses of the connections queued so far (accepts them all).
  std::set<std::string> AcceptPeers() {
    std::set<std::string> peers;
    pollfd p{fd_, POLLIN, 0};
    while (poll(&p, 1, 0) == 1) {
      sockaddr_in peer{};
      socklen_t len = sizeof(peer);
      int c = accept(fd_, reinterpret_cast<sockaddr*>(&peer), &len);
      if (c < 0) break;
      char buf[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof(buf));
      peers.insert(buf);
      close(c);
    }
    return peers;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port on `ip` with nothing listening: bind, read the port, close.
int ClosedPort(const std::string& ip) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

Node HttpNode(const std::string& ip, int port) {
  Node n;
  n.ip = ip;
  n.protos = {{static_cast<uint16_t>(port), Proto::kHttp}};
  return n;
}

std::shared_ptr<const Cluster> MakeCluster(const std::string& name, std::vector<Node> nodes,
                                           CheckType type = CheckType::kHttp) {
  auto c = std::make_shared<Cluster>();
  c->name = name;
  c->check_type = type;
  c->check_file = "/health";
  c->nodes = NodeList(std::move(nodes));
  return c;
}

NodeStatus StatusOf(const StatusReport& r, const std::string& ip) {
  for (const auto& [spec, s] : r.nodes) {
    if (spec.rfind(ip + "|", 0) == 0) return s.status;
  }
  return NodeStatus::kInvalid;
}

HealthOptions FastOptions(HttpProberKind prober) {
  HealthOptions o;
  o.http_prober = prober;
  o.owner_id = "test-instance";
  o.interval_ms = 300;
  o.timeout_ms = 150;
  o.rise = 1;
  o.fall = 2;
  o.multi_handles = 4;
  return o;
}

class HealthCheckerTest : public ::testing::TestWithParam<HttpProberKind> {};

INSTANTIATE_TEST_SUITE_P(Probers, HealthCheckerTest,
                         ::testing::Values(HttpProberKind::kNative, HttpProberKind::kCurl),
                         [](const auto& info) { return std::string(ToString(info.param)); });

TEST_P(HealthCheckerTest, HealthyBadCodeRefusedAndSlowTargets) {
  HttpTarget healthy("127.0.0.21", 200);
  HttpTarget bad_code("127.0.0.22", 503);
  HttpTarget slow("127.0.0.23", 200, 400ms);
  const int refused_port = ClosedPort("127.0.0.24");
  WaitingSink sink;
  HealthChecker checker(FastOptions(GetParam()), &sink);
  ASSERT_TRUE(checker.Start().ok());
  checker.SetClusters({MakeCluster(
      "mixed", {HttpNode("127.0.0.21", healthy.port()), HttpNode("127.0.0.22", bad_code.port()),
                HttpNode("127.0.0.23", slow.port()), HttpNode("127.0.0.24", refused_port)})});
  auto r = sink.WaitFor(
      "mixed",
      [](const StatusReport& r) {
        return StatusOf(r, "127.0.0.21") == NodeStatus::kNormal &&
               StatusOf(r, "127.0.0.22") == NodeStatus::kAbnormal &&
               StatusOf(r, "127.0.0.23") == NodeStatus::kTimeout &&
               StatusOf(r, "127.0.0.24") == NodeStatus::kAbnormal;
      },
      3s);
  ASSERT_TRUE(r) << "statuses never settled as expected";
  EXPECT_EQ(r->owner, "test-instance");
  const HealthCounters& c = checker.counters();
  EXPECT_GT(c.successes.load(), 0u);
  EXPECT_GT(c.failures.load(), 0u);
  EXPECT_GT(c.timeouts.load(), 0u);
  EXPECT_EQ(c.clusters.load(), 1u);
  EXPECT_EQ(c.nodes.load(), 4u);
  checker.Stop();
}

TEST_P(HealthCheckerTest, ChangeOnlyWritesAndRecovery) {
  auto target = std::make_unique<HttpTarget>("127.0.0.31", 200);
  const int port = target->port();
  WaitingSink sink;
  HealthChecker checker(FastOptions(GetParam()), &sink);
  ASSERT_TRUE(checker.Start().ok());
  checker.SetClusters({MakeCluster("one", {HttpNode("127.0.0.31", port)})});
  ASSERT_TRUE(sink.WaitFor(
      "one", [](const StatusReport& r) { return StatusOf(r, "127.0.0.31") == NodeStatus::kNormal; },
      2s));
  // Nothing changes for four rounds: no write.
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(sink.Count("one"), 1u);
  EXPECT_GE(checker.counters().writes_skipped.load(), 3u);

  target->Stop();  // refused from now on
  ASSERT_TRUE(sink.WaitFor(
      "one",
      [](const StatusReport& r) { return StatusOf(r, "127.0.0.31") == NodeStatus::kAbnormal; },
      2s));
  EXPECT_EQ(sink.Count("one"), 2u);
  // Back on the same port: NORMAL again after one (rise 1) good round.
  HttpTarget again("127.0.0.31", 200, 0ms, port);
  ASSERT_TRUE(sink.WaitFor(
      "one", [](const StatusReport& r) { return StatusOf(r, "127.0.0.31") == NodeStatus::kNormal; },
      2s));
}

TEST_P(HealthCheckerTest, KeepAliveReusesOneConnectionShortDoesNot) {
  HttpTarget keep("127.0.0.41", 200);
  HttpTarget fresh("127.0.0.42", 200);
  WaitingSink sink;
  HealthOptions o = FastOptions(GetParam());
  o.max_keepalive = 1;  // the first target added keeps its connection
  HealthChecker checker(o, &sink);
  ASSERT_TRUE(checker.Start().ok());
  checker.SetClusters({MakeCluster("ka", {HttpNode("127.0.0.41", keep.port())})});
  std::this_thread::sleep_for(100ms);
  checker.SetClusters({MakeCluster("ka", {HttpNode("127.0.0.41", keep.port())}),
                       MakeCluster("short", {HttpNode("127.0.0.42", fresh.port())})});
  std::this_thread::sleep_for(1600ms);
  checker.Stop();
  EXPECT_GE(keep.requests(), 4);
  EXPECT_EQ(keep.connections(), 1u);
  EXPECT_GE(fresh.requests(), 4);
  EXPECT_EQ(fresh.connections(), static_cast<size_t>(fresh.requests()));
  EXPECT_EQ(checker.counters().keepalive_targets.load(), 1u);
  EXPECT_EQ(checker.counters().short_targets.load(), 1u);
}

TEST_P(HealthCheckerTest, TcpConnectChecks) {
  TcpListener open("127.0.0.51");
  const int closed = ClosedPort("127.0.0.52");
  WaitingSink sink;
  HealthChecker checker(FastOptions(GetParam()), &sink);
  ASSERT_TRUE(checker.Start().ok());
  Node a, b;
  a.ip = "127.0.0.51";
  a.protos = {{static_cast<uint16_t>(open.port()), Proto::kTcp}};
  b.ip = "127.0.0.52";
  b.protos = {{static_cast<uint16_t>(closed), Proto::kTcp}};
  checker.SetClusters({MakeCluster("tcp", {a, b}, CheckType::kTcp)});
  ASSERT_TRUE(sink.WaitFor(
      "tcp",
      [](const StatusReport& r) {
        return StatusOf(r, "127.0.0.51") == NodeStatus::kNormal &&
               StatusOf(r, "127.0.0.52") == NodeStatus::kAbnormal;
      },
      2s));
}

TEST_P(HealthCheckerTest, ClusterLeavingTheSetIsNoLongerWritten) {
  HttpTarget target("127.0.0.61", 200);
  WaitingSink sink;
  HealthOptions o = FastOptions(GetParam());
  HealthChecker checker(o, &sink);
  checker.SetWriteCache(false);  // every round written while owned
  ASSERT_TRUE(checker.Start().ok());
  checker.SetClusters({MakeCluster("gone", {HttpNode("127.0.0.61", target.port())})});
  ASSERT_TRUE(sink.WaitFor(
      "gone", [](const StatusReport& r) { return r.round >= 2; }, 2s));
  checker.SetClusters({});
  std::this_thread::sleep_for(50ms);
  const size_t n = sink.Count("gone");
  const int requests = target.requests();
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(sink.Count("gone"), n);
  EXPECT_LE(target.requests(), requests + 1);
  EXPECT_EQ(checker.counters().clusters.load(), 0u);
}

// A sink that holds its first write for 2 s, as a stalled ZooKeeper would.
class StallingSink : public WaitingSink {
 public:
  Status WriteStatuses(const StatusReport& report) override {
    if (first_.exchange(false)) {
      entered_ = true;
      std::this_thread::sleep_for(2s);
    }
    return WaitingSink::WriteStatuses(report);
  }
  std::atomic<bool> first_{true};
  std::atomic<bool> entered_{false};
};

TEST_P(HealthCheckerTest, StalledStatusWriteDoesNotStallChecks) {
  HttpTarget a("127.0.0.71", 200);
  HttpTarget b("127.0.0.72", 200);
  StallingSink sink;
  HealthChecker checker(FastOptions(GetParam()), &sink);
  ASSERT_TRUE(checker.Start().ok());
  checker.SetClusters(
      {MakeCluster("s", {HttpNode("127.0.0.71", a.port()), HttpNode("127.0.0.72", b.port())})});
  // The first round's write is the stalled one.
  for (int i = 0; i < 200 && !sink.entered_; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(sink.entered_);
  const uint64_t checks_before = checker.counters().checks.load();
  std::this_thread::sleep_for(1500ms);
  // 300 ms interval, two nodes: ~10 checks in 1.5 s, and every one answered.
  EXPECT_GE(checker.counters().checks.load(), checks_before + 8);
  EXPECT_EQ(checker.counters().timeouts.load(), 0u);
  EXPECT_EQ(checker.counters().failures.load(), 0u);
  ASSERT_TRUE(sink.WaitFor(
      "s", [](const StatusReport& r) { return StatusOf(r, "127.0.0.71") == NodeStatus::kNormal; },
      3s));
}

// --check-source-ip: HTTP (either prober) and TCP checks connect from it.
TEST_P(HealthCheckerTest, ChecksConnectFromTheSourceAddress) {
  HttpTarget http("127.0.0.91", 200);
  TcpListener tcp("127.0.0.92");
  WaitingSink sink;
  HealthOptions o = FastOptions(GetParam());
  o.source_ip = "127.0.0.93";
  HealthChecker checker(o, &sink);
  ASSERT_TRUE(checker.Start().ok());
  Node t;
  t.ip = "127.0.0.92";
  t.protos = {{static_cast<uint16_t>(tcp.port()), Proto::kTcp}};
  checker.SetClusters({MakeCluster("h", {HttpNode("127.0.0.91", http.port())}),
                       MakeCluster("t", {t}, CheckType::kTcp)});
  for (const char* name : {"h", "t"}) {
    ASSERT_TRUE(sink.WaitFor(
        name,
        [](const StatusReport& r) {
          return StatusOf(r, "127.0.0.91") == NodeStatus::kNormal ||
                 StatusOf(r, "127.0.0.92") == NodeStatus::kNormal;
        },
        2s))
        << name;
  }
  checker.Stop();
  EXPECT_EQ(http.peers(), std::set<std::string>{"127.0.0.93"});
  EXPECT_EQ(tcp.AcceptPeers(), std::set<std::string>{"127.0.0.93"});
}

TEST(HealthCheckerSourceTest, AnAddressThisHostLacksIsRefusedAtStart) {
  WaitingSink sink;
  HealthOptions o = FastOptions(HttpProberKind::kNative);
  o.source_ip = "192.0.2.1";  // TEST-NET-1: on no interface here; only bound, never sent to
  HealthChecker checker(o, &sink);
  Status s = checker.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("192.0.2.1"), std::string::npos) << s.message();
  o.source_ip = "not-an-ip";
  HealthChecker bad(o, &sink);
  s = bad.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("--check-source-ip"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace jcm
