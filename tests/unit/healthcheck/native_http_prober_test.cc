// NativeHttpProber against scripted HTTP servers on loopback (127.0.0.7x and
// ::1) that this test starts and stops, plus HttpResponseScanner on its own.
//
// Timeouts run on a FakeClock: a check "times out" when the test advances the
// clock, so no test sleeps for a timeout. Everything else waits on real I/O
// with a bounded loop (2 s at most, milliseconds in practice).
#include "healthcheck/native_http_prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/unit/healthcheck/fakes.h"

namespace jcm {
namespace {

using namespace std::chrono_literals;

// What the scripted server does with its n-th request (0-based, over all
// connections).
struct Reply {
  std::string bytes;
  bool close_after = false;  // close the connection once sent
  bool silent = false;       // never answer (and keep the connection)
};

std::string Ok(const std::string& body = "ok\n", int code = 200) {
  return "HTTP/1.1 " + std::to_string(code) +
         " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nContent-Type: text/plain\r\n\r\n" + body;
}

// A single-threaded HTTP server that answers each request (anything up to an
// empty line) with whatever the script says, byte for byte.
class ScriptedServer {
 public:
  ScriptedServer(const std::string& ip, std::function<Reply(int)> script, int port = 0)
      : script_(std::move(script)) {
    const bool v6 = ip.find(':') != std::string::npos;
    listen_fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
      len = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
      len = sizeof(*a);
    }
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len), 0) << "bind " << ip;
    EXPECT_EQ(listen(listen_fd_, 64), 0);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    EXPECT_EQ(pipe(stop_pipe_), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() { Stop(); }

  // Stops serving and closes every connection (the listener too).
  void Stop() {
    if (!thread_.joinable()) return;
    [[maybe_unused]] ssize_t n = write(stop_pipe_[1], "x", 1);
    thread_.join();
    for (int fd : conns_) close(fd);
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int requests() const { return requests_.load(); }
  int closed() const { return closed_.load(); }
  std::string first_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_request_;
  }

 private:
  void Serve() {
    std::vector<std::string> bufs;
    for (;;) {
      std::vector<pollfd> pfds = {{stop_pipe_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (int fd : conns_) pfds.push_back({fd, POLLIN, 0});
      if (poll(pfds.data(), pfds.size(), 2000) < 0) return;
      if (pfds[0].revents) return;
      if (pfds[1].revents & POLLIN) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) {
          conns_.push_back(fd);
          bufs.emplace_back();
          ++accepted_;
        }
      }
      for (size_t k = 2; k < pfds.size(); ++k) {
        if (!pfds[k].revents) continue;
        const size_t c = k - 2;
        char tmp[4096];
        const ssize_t n = recv(conns_[c], tmp, sizeof(tmp), 0);
        bool drop = n <= 0;
        if (n > 0) bufs[c].append(tmp, static_cast<size_t>(n));
        size_t end;
        while (!drop && (end = bufs[c].find("\r\n\r\n")) != std::string::npos) {
          const std::string req = bufs[c].substr(0, end + 4);
          bufs[c].erase(0, end + 4);
          const int index = requests_++;
          if (index == 0) {
            std::lock_guard<std::mutex> lock(mu_);
            first_request_ = req;
          }
          const Reply r = script_(index);
          if (r.silent) continue;
          // Blocking send; fails harmlessly when the prober hung up early.
          size_t off = 0;
          while (off < r.bytes.size()) {
            const ssize_t s =
                send(conns_[c], r.bytes.data() + off, r.bytes.size() - off, MSG_NOSIGNAL);
            if (s <= 0) break;
            off += static_cast<size_t>(s);
          }
          drop = r.close_after;
        }
        if (drop) {
          close(conns_[c]);
          conns_[c] = -1;
          ++closed_;
        }
      }
      for (size_t c = conns_.size(); c-- > 0;) {
        if (conns_[c] < 0) {
          conns_.erase(conns_.begin() + static_cast<long>(c));
          bufs.erase(bufs.begin() + static_cast<long>(c));
        }
      }
    }
  }

  std::function<Reply(int)> script_;
  int listen_fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::vector<int> conns_;  // owned by the server thread until Stop
  std::thread thread_;
  std::atomic<int> accepted_{0}, requests_{0}, closed_{0};
  std::mutex mu_;
  std::string first_request_;
};

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

// Waits (bounded) until `pred` holds; for conditions on the server thread.
bool Eventually(const std::function<bool()>& pred) {
  for (int i = 0; i < 400 && !pred(); ++i) std::this_thread::sleep_for(5ms);
  return pred();
}

class NativeHttpProberTest : public ::testing::Test, public ProbeListener {
 protected:
  void SetUp() override { ASSERT_TRUE(poller_.Init().ok()); }
  void OnProbeResult(uint32_t target, CheckOutcome outcome) override {
    results_.emplace_back(target, outcome);
  }

  void Add(uint32_t id, const std::string& ip, int port, bool keepalive = true,
           std::vector<int> ok_codes = {}) {
    ProbeTarget t;
    t.type = CheckType::kHttp;
    t.ip = ip;
    t.port = static_cast<uint16_t>(port);
    t.path = "/health";
    t.timeout_ms = 800;
    t.keepalive = keepalive;
    t.ok_codes = std::move(ok_codes);
    prober_.AddTarget(id, t);
  }
  // Runs the loop until a result arrives (real I/O, at most 2 s); the fake
  // clock does not move, so no check can time out meanwhile.
  std::optional<CheckOutcome> Await(size_t before) {
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (results_.size() == before && std::chrono::steady_clock::now() < until) {
      poller_.Wait(5);
      prober_.RunTimers(clock_.MonoMs());
    }
    if (results_.size() == before) return std::nullopt;
    EXPECT_EQ(results_.size(), before + 1) << "more than one result for one check";
    return results_.back().second;
  }
  std::optional<CheckOutcome> Check(uint32_t id) {
    const size_t before = results_.size();
    prober_.Start(id);
    EXPECT_EQ(results_.size(), before) << "result delivered from inside Start";
    return Await(before);
  }
  // Lets pending socket events (a server's FIN) reach the prober.
  void Pump(int rounds = 5) {
    for (int i = 0; i < rounds; ++i) {
      poller_.Wait(2);
      prober_.RunTimers(clock_.MonoMs());
    }
  }

  testing::FakeClock clock_;
  Poller poller_;
  NativeHttpProber prober_{&poller_, this, &clock_};
  std::vector<std::pair<uint32_t, CheckOutcome>> results_;
};

TEST_F(NativeHttpProberTest, KeepAliveUsesOneConnectionForManyChecks) {
  ScriptedServer server("127.0.0.71", [](int) { return Reply{Ok()}; });
  Add(1, "127.0.0.71", server.port());
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Check(1), CheckOutcome::kSuccess) << "check " << i;
  EXPECT_EQ(server.requests(), 20);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(prober_.connections_opened(), 1u);
  EXPECT_EQ(server.first_request(),
            "GET /health HTTP/1.1\r\nHost: 127.0.0.71:" + std::to_string(server.port()) +
                "\r\nUser-Agent: jcm-health\r\n"
                "Connection: keep-alive\r\n\r\n");
}

TEST_F(NativeHttpProberTest, ShortTargetsUseAConnectionPerCheck) {
  ScriptedServer server("127.0.0.72", [](int) { return Reply{Ok()}; });
  Add(1, "127.0.0.72", server.port(), /*keepalive=*/false);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(server.accepted(), 5);
  EXPECT_NE(server.first_request().find("Connection: close\r\n"), std::string::npos);
}

TEST_F(NativeHttpProberTest, ServerClosingAfterEachResponseStaysHealthy) {
  // Says so ("Connection: close") and closes.
  ScriptedServer polite("127.0.0.73", [](int) {
    return Reply{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true};
  });
  // Promises keep-alive, then closes anyway.
  ScriptedServer rude("127.0.0.74", [](int) { return Reply{Ok(), true}; });
  Add(1, "127.0.0.73", polite.port());
  Add(2, "127.0.0.74", rude.port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Check(1), CheckOutcome::kSuccess) << "polite, check " << i;
    ASSERT_EQ(Check(2), CheckOutcome::kSuccess) << "rude, check " << i;
  }
  EXPECT_EQ(polite.accepted(), 5);
  EXPECT_EQ(rude.accepted(), 5);
}

TEST_F(NativeHttpProberTest, ReusedConnectionClosedUnderTheRequestIsRetriedOnce) {
  // The server drops the idle keep-alive connection just as the second
  // request arrives (its idle timeout racing our check): no response byte.
  // The check must succeed on a fresh connection, not count as a failure.
  ScriptedServer server("127.0.0.75", [](int n) { return n == 1 ? Reply{"", true} : Reply{Ok()}; });
  Add(1, "127.0.0.75", server.port());
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(prober_.retries(), 1u);
  EXPECT_EQ(prober_.connections_opened(), 2u);
  EXPECT_EQ(server.requests(), 3);
  // A fresh connection failing the same way is not retried again.
  ScriptedServer hangs_up("127.0.0.90", [](int) { return Reply{"", true}; });
  Add(2, "127.0.0.90", hangs_up.port());
  EXPECT_EQ(Check(2), CheckOutcome::kBadAnswer);
  EXPECT_EQ(hangs_up.requests(), 1);
}

TEST_F(NativeHttpProberTest, IdleConnectionClosedByServerIsDroppedBeforeTheNextCheck) {
  ScriptedServer server("127.0.0.76", [](int n) { return Reply{Ok(), n == 0}; });
  Add(1, "127.0.0.76", server.port());
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  ASSERT_TRUE(Eventually([&] { return server.closed() == 1; }));
  std::this_thread::sleep_for(20ms);
  Pump();  // the EPOLLRDHUP edge arrives while idle
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(prober_.retries(), 0u);
  EXPECT_EQ(prober_.connections_opened(), 2u);
}

TEST_F(NativeHttpProberTest, ChunkedContentLengthAndCloseDelimitedBodies) {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n"
      "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
      "0\r\nX-Trailer: t\r\n\r\n";
  const std::string big_length = Ok(std::string(20000, 'x'));  // several reads
  ScriptedServer server("127.0.0.77",
                        [&](int n) { return Reply{n % 2 == 0 ? chunked : big_length}; });
  Add(1, "127.0.0.77", server.port());
  // Alternating on one connection: each response's end must be found
  // exactly, or the next one would be misread.
  for (int i = 0; i < 6; ++i) ASSERT_EQ(Check(1), CheckOutcome::kSuccess) << "check " << i;
  EXPECT_EQ(server.accepted(), 1);

  ScriptedServer until_close("127.0.0.78", [](int) {
    return Reply{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nno length", true};
  });
  Add(2, "127.0.0.78", until_close.port());
  ASSERT_EQ(Check(2), CheckOutcome::kSuccess);
  ASSERT_EQ(Check(2), CheckOutcome::kSuccess);
  EXPECT_EQ(until_close.accepted(), 2);
}

TEST_F(NativeHttpProberTest, NoBodyStatusesKeepTheConnection) {
  ScriptedServer server("127.0.0.79", [](int n) {
    return Reply{n % 2 == 0 ? "HTTP/1.1 204 No Content\r\n\r\n"
                            : "HTTP/1.1 304 Not Modified\r\n\r\n"};
  });
  Add(1, "127.0.0.79", server.port(), true, /*ok_codes=*/{204, 304});
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(NativeHttpProberTest, BadStatusIsABadAnswerUnlessAccepted) {
  ScriptedServer server("127.0.0.80", [](int) { return Reply{Ok("down", 503)}; });
  Add(1, "127.0.0.80", server.port());
  Add(2, "127.0.0.80", server.port(), true, /*ok_codes=*/{503});
  EXPECT_EQ(Check(1), CheckOutcome::kBadAnswer);
  EXPECT_EQ(Check(2), CheckOutcome::kSuccess);
  // A bad code is still a complete answer: the connection stays.
  EXPECT_EQ(Check(1), CheckOutcome::kBadAnswer);
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(NativeHttpProberTest, GarbageIsABadAnswer) {
  ScriptedServer server("127.0.0.81", [](int) { return Reply{"SSH-2.0-OpenSSH\r\n\r\n"}; });
  Add(1, "127.0.0.81", server.port());
  EXPECT_EQ(Check(1), CheckOutcome::kBadAnswer);
}

TEST_F(NativeHttpProberTest, SlowServerTimesOutOnTheClock) {
  ScriptedServer server("127.0.0.82", [](int) { return Reply{"", false, /*silent=*/true}; });
  Add(1, "127.0.0.82", server.port());
  auto time_out = [&](int requests_seen) {
    const size_t before = results_.size();
    prober_.Start(1);
    EXPECT_TRUE(Eventually([&] {
      Pump(1);
      return server.requests() == requests_seen;
    }));
    Pump();
    EXPECT_EQ(results_.size(), before) << "answered before the timeout";
    clock_.Advance(799);
    prober_.RunTimers(clock_.MonoMs());
    EXPECT_EQ(results_.size(), before);
    clock_.Advance(1);
    prober_.RunTimers(clock_.MonoMs());
    ASSERT_EQ(results_.size(), before + 1);
    EXPECT_EQ(results_.back().second, CheckOutcome::kNoAnswer);
  };
  time_out(1);
  // One timeout keeps the connection (the next request is pipelined behind
  // the late answer); a second one in a row gives up on it.
  time_out(2);
  EXPECT_EQ(server.accepted(), 1);
  ASSERT_TRUE(Eventually([&] { return server.closed() == 1; }));
  time_out(3);
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(NativeHttpProberTest, LateAnswerIsSkippedNotTakenForTheNextCheck) {
  // Request 0 is answered only when request 1 arrives, late answer first
  // (HTTP/1.1 answers in order): a 503 that belongs to the timed-out check.
  ScriptedServer server("127.0.0.91", [](int n) {
    if (n == 0) return Reply{"", false, true};
    return Reply{n == 1 ? Ok("late", 503) + Ok() : Ok()};
  });
  Add(1, "127.0.0.91", server.port());
  const size_t before = results_.size();
  prober_.Start(1);
  ASSERT_TRUE(Eventually([&] {
    Pump(1);
    return server.requests() == 1;
  }));
  clock_.Advance(800);
  prober_.RunTimers(clock_.MonoMs());
  ASSERT_EQ(results_.size(), before + 1);
  EXPECT_EQ(results_.back().second, CheckOutcome::kNoAnswer);
  EXPECT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(prober_.connections_opened(), 1u);
}

TEST_F(NativeHttpProberTest, RefusedIsABadAnswerNeverReportedFromStart) {
  Add(1, "127.0.0.83", ClosedPort("127.0.0.83"));
  EXPECT_EQ(Check(1), CheckOutcome::kBadAnswer);
  Add(2, "not-an-ip", 80);
  EXPECT_EQ(Check(2), CheckOutcome::kBadAnswer);
}

TEST_F(NativeHttpProberTest, BigResponseIsCutAtTheCapAndCountsByItsCode) {
  const std::string huge(1 << 20, 'x');
  ScriptedServer good("127.0.0.84", [&](int) { return Reply{Ok(huge)}; });
  ScriptedServer bad("127.0.0.85", [&](int) { return Reply{Ok(huge, 500)}; });
  ScriptedServer endless_header("127.0.0.86",
                                [&](int) { return Reply{"HTTP/1.1 200 OK\r\nX-Long: " + huge}; });
  Add(1, "127.0.0.84", good.port());
  Add(2, "127.0.0.85", bad.port());
  Add(3, "127.0.0.86", endless_header.port());
  EXPECT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(Check(2), CheckOutcome::kBadAnswer);
  EXPECT_EQ(Check(3), CheckOutcome::kSuccess);
  // Cut responses leave unread bytes: those connections are not reused.
  EXPECT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(good.accepted(), 2);
  EXPECT_EQ(prober_.connections_opened(), 4u);
}

TEST_F(NativeHttpProberTest, TargetRestartedOnTheSamePortIsHealthyAgain) {
  auto server = std::make_unique<ScriptedServer>("127.0.0.87", [](int) { return Reply{Ok()}; });
  const int port = server->port();
  Add(1, "127.0.0.87", port);
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  server->Stop();
  EXPECT_EQ(Check(1), CheckOutcome::kBadAnswer);  // refused
  ScriptedServer again(
      "127.0.0.87", [](int) { return Reply{Ok()}; }, port);
  ASSERT_EQ(again.port(), port);
  EXPECT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(again.accepted(), 1);
}

TEST_F(NativeHttpProberTest, RestartBetweenChecksWithoutPollingIsStillHealthy) {
  // The old connection dies under an idle keep-alive socket the prober has
  // not looked at; the check retries on a fresh connection to the new
  // process.
  auto server = std::make_unique<ScriptedServer>("127.0.0.88", [](int) { return Reply{Ok()}; });
  const int port = server->port();
  Add(1, "127.0.0.88", port);
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  server->Stop();
  ScriptedServer again(
      "127.0.0.88", [](int) { return Reply{Ok()}; }, port);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(prober_.retries(), 1u);
}

TEST_F(NativeHttpProberTest, Ipv6Literal) {
  ScriptedServer server("::1", [](int) { return Reply{Ok()}; });
  Add(1, "::1", server.port());
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  ASSERT_EQ(Check(1), CheckOutcome::kSuccess);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_NE(
      server.first_request().find("\r\nHost: [::1]:" + std::to_string(server.port()) + "\r\n"),
      std::string::npos);
}

TEST_F(NativeHttpProberTest, RemovedTargetReportsNothing) {
  ScriptedServer server("127.0.0.89", [](int) { return Reply{"", false, true}; });
  Add(1, "127.0.0.89", server.port());
  Add(2, "bad ip", 1);
  prober_.Start(1);
  prober_.Start(2);  // its bad-address result is queued
  prober_.RemoveTarget(1);
  prober_.RemoveTarget(2);
  Add(2, "127.0.0.89", server.port());  // same id, new target: not started
  clock_.Advance(5000);
  Pump();
  EXPECT_TRUE(results_.empty());
}

// --- HttpResponseScanner ----------------------------------------------------

struct Scan {
  bool done, failed;
  int status;
  bool keep_alive;
  size_t used;
};

// Feeds `text` in pieces of `step` bytes.
Scan Feed(const std::string& text, size_t step) {
  HttpResponseScanner s;
  s.Reset();
  size_t used = 0;
  for (size_t i = 0; i < text.size() && !s.done() && !s.failed(); i += step) {
    used += s.Feed(text.data() + i, std::min(step, text.size() - i));
  }
  return {s.done(), s.failed(), s.status(), s.keep_alive(), used};
}

TEST(HttpResponseScanner, FindsTheEndWhateverTheReadBoundaries) {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: gzip, Chunked\r\n\r\n"
      "3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
  const std::string next = "HTTP/1.1 200 OK\r\n";  // pipelined junk after the end
  for (size_t step : {1u, 2u, 7u, 1000u}) {
    Scan s = Feed(chunked + next, step);
    EXPECT_TRUE(s.done) << "step " << step;
    EXPECT_EQ(s.status, 200);
    EXPECT_TRUE(s.keep_alive);
    EXPECT_EQ(s.used, chunked.size()) << "step " << step;

    const std::string cl = "HTTP/1.1 404 Nope\r\ncontent-length:  4 \r\n\r\nbody";
    s = Feed(cl + next, step);
    EXPECT_TRUE(s.done);
    EXPECT_EQ(s.status, 404);
    EXPECT_EQ(s.used, cl.size());
  }
}

TEST(HttpResponseScanner, InterimResponsesAndConnectionRules) {
  Scan s = Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 3);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.status, 204);
  s = Feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 5);
  EXPECT_TRUE(s.done);
  EXPECT_FALSE(s.keep_alive) << "HTTP/1.0 closes by default";
  s = Feed("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", 5);
  EXPECT_TRUE(s.keep_alive);
  s = Feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 5);
  EXPECT_FALSE(s.keep_alive);

  HttpResponseScanner until_close;
  until_close.Reset();
  const std::string head = "HTTP/1.1 200 OK\r\n\r\nsome body";
  until_close.Feed(head.data(), head.size());
  EXPECT_FALSE(until_close.done());
  until_close.OnEof();
  EXPECT_TRUE(until_close.done());
  EXPECT_FALSE(until_close.keep_alive());
}

TEST(HttpResponseScanner, RejectsMalformedResponses) {
  EXPECT_TRUE(Feed("HTTP/2 200\r\n\r\n", 100).failed);
  EXPECT_TRUE(Feed("HTTP/1.1 2x0 OK\r\n\r\n", 100).failed);
  EXPECT_TRUE(
      Feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 100).failed);
  EXPECT_TRUE(Feed("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 100).failed);
  EXPECT_TRUE(Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100).failed);
  EXPECT_TRUE(Feed("HTTP/1.1 101 Switching\r\n\r\n", 100).failed);
  HttpResponseScanner cut;
  cut.Reset();
  const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  cut.Feed(partial.data(), partial.size());
  cut.OnEof();
  EXPECT_TRUE(cut.failed()) << "a body cut short is not an answer";
}

}  // namespace
}  // namespace jcm
