// HttpTarget: a tiny in-process HTTP server standing in for a node that jcm
// health-checks. It listens on 127.0.0.x:port and answers `check_path` with
// a status code and delay the test sets at any time.
//
// Thread-safety: set_status/set_delay and the counters are thread-safe;
// Start/Stop are called from the owning test thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace jcm::testing {

class HttpTarget {
 public:
  HttpTarget(std::string host, int port, std::string check_path = "/health");
  ~HttpTarget();
  HttpTarget(const HttpTarget&) = delete;
  HttpTarget& operator=(const HttpTarget&) = delete;

  // Binds and serves on a thread of its own. Returns false when the address
  // cannot be bound.
  bool Start();
  void Stop();

  void set_status(int status) { status_ = status; }
  void set_delay(std::chrono::milliseconds delay) { delay_ms_ = static_cast<int>(delay.count()); }
  // Requests seen on check_path since construction.
  int hits() const { return hits_; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  std::string host_;
  int port_;
  std::string check_path_;
  std::atomic<int> status_{200};
  std::atomic<int> delay_ms_{0};
  std::atomic<int> hits_{0};
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// TcpTarget: a listener on 127.0.0.x:port that accepts and closes every
// connection, for TCP checks.
//
// Thread-safety: Start/Stop from the owning thread; accepts() from any.
class TcpTarget {
 public:
  TcpTarget(std::string host, int port);
  ~TcpTarget();
  TcpTarget(const TcpTarget&) = delete;
  TcpTarget& operator=(const TcpTarget&) = delete;

  bool Start();
  void Stop();
  int accepts() const { return accepts_; }
  int port() const { return port_; }

 private:
  std::string host_;
  int port_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepts_{0};
  std::thread thread_;
};

}  // namespace jcm::testing
