// ZkServer: a single-node ZooKeeper (Debian's Java server) for one test,
// from a fresh temp directory on a free loopback port. Stop() and Start()
// again keep the port and the data directory, so a test can take ZooKeeper
// away and bring the same ensemble back.
//
// Thread-safety: not thread-safe; owned by one test thread. The destructor
// stops the server (by PID) and removes its directory.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "tests/support/child_process.h"
#include "tests/support/test_env.h"

namespace jcm::testing {

struct ZkServerOptions {
  int tick_time_ms = 200;
  // ZooKeeper clamps client session timeouts into [min, max].
  int min_session_timeout_ms = 1000;
  int max_session_timeout_ms = 60000;
  std::chrono::milliseconds start_timeout{30000};
};

class ZkServer {
 public:
  explicit ZkServer(ZkServerOptions options = {});
  ~ZkServer();
  ZkServer(const ZkServer&) = delete;
  ZkServer& operator=(const ZkServer&) = delete;

  // Starts (or restarts) the server and waits until it answers "ruok".
  // Returns false and fills *error when it did not within start_timeout.
  bool Start(std::string* error);
  // SIGTERM, SIGKILL after `grace`; reaps it. Data stays.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // SIGKILL at once (a crash); data stays.
  void Kill();
  // SIGSTOP / SIGCONT: a ZooKeeper that stalls (GC pause, frozen VM) with its
  // connections open.
  bool Pause();
  bool Resume();

  bool running() { return process_.running(); }
  int port() const { return port_; }
  // "127.0.0.1:PORT", what --zk takes.
  std::string connect_string() const;
  const std::string& data_dir() const { return data_dir_; }
  std::string log() const { return ReadFileOrEmpty(log_path_); }

  // Sends a four-letter command ("ruok", "srvr", "mntr", "cons") and returns
  // the reply, or "" when the server does not answer within `timeout`.
  std::string FourLetterWord(const std::string& command, std::chrono::milliseconds timeout =
                                                             std::chrono::milliseconds(1000)) const;
  // True once the server serves clients. "ruok" says imok earlier, while the
  // server is still loading, so this asks "srvr" for its mode instead.
  bool Answers() const;

 private:
  ZkServerOptions options_;
  TempDir dir_;
  std::string data_dir_;
  std::string config_path_;
  std::string log_path_;
  int port_ = 0;
  ChildProcess process_;
};

// Sends `command` to host:port and reads the reply until the peer closes.
std::string FourLetterWordTo(const std::string& host, int port, const std::string& command,
                             std::chrono::milliseconds timeout);

}  // namespace jcm::testing
