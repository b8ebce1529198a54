// JcmServerProcess: one jcm-server started from $JCM_BIN_DIR for a test,
// listening on a fixed loopback port that survives restarts, its log in a
// file the fixture prints when a test fails.
//
// Thread-safety: not thread-safe; owned by one test thread. The destructor
// SIGKILLs it by PID.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace jcm::testing {

struct JcmServerOptions {
  std::string zk_connect;        // --zk
  std::string zk_root = "/jcm";  // --zk-root
  int port = 0;                  // 0: pick a free one
  int session_timeout_ms = 3000;
  std::vector<std::string> extra_args;
  std::string log_dir;  // where jcm-server-PORT.log goes
};

class JcmServerProcess {
 public:
  explicit JcmServerProcess(JcmServerOptions options);
  ~JcmServerProcess();
  JcmServerProcess(const JcmServerProcess&) = delete;
  JcmServerProcess& operator=(const JcmServerProcess&) = delete;

  // Launches the binary. Does not wait.
  bool Launch(std::string* error);
  // Launches and waits until GET /healthz answers 200.
  bool Start(std::string* error,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));
  bool WaitHealthy(std::chrono::milliseconds timeout);

  void Kill();  // SIGKILL, reaped
  // SIGTERM; returns true iff it exited within `grace` (else SIGKILLed).
  bool Term(std::chrono::milliseconds grace = std::chrono::milliseconds(10000));
  bool Signal(int sig) { return process_.Signal(sig); }
  // waitpid status of the last exit (after Term/Kill/Wait reaped it).
  int exit_status() const { return process_.last_status(); }
  bool Pause();   // SIGSTOP
  bool Resume();  // SIGCONT
  // Term (or Kill when `hard`) then Start on the same port and arguments.
  bool Restart(std::string* error, bool hard = false);

  bool running() { return process_.running(); }
  pid_t pid() const { return process_.pid(); }
  int port() const { return options_.port; }
  // "127.0.0.1:PORT", also what it advertises to its peers.
  std::string address() const;
  std::string log() const { return ReadFileOrEmpty(log_path_); }
  const std::string& log_path() const { return log_path_; }

 private:
  JcmServerOptions options_;
  std::string log_path_;
  ChildProcess process_;
};

}  // namespace jcm::testing
