// ChildProcess: one program started with posix_spawn, tracked by its PID so
// tests stop exactly what they started (never by name). Output goes to a log
// file so a failing test can show it.
//
// Thread-safety: not thread-safe; owned by one test thread. The destructor
// SIGKILLs and reaps the child if it still runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace jcm::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] (a path) with the given arguments; stdout and stderr are
  // appended to `log_path`, stdin is /dev/null. `extra_env` entries
  // ("K=V") are added to the parent's environment. Returns false (and says
  // why in *error) when the spawn fails.
  bool Start(const std::vector<std::string>& argv, const std::string& log_path,
             const std::vector<std::string>& extra_env, std::string* error);

  // True while the child has not been reaped (it may be stopped).
  bool running();
  pid_t pid() const { return pid_; }

  bool Signal(int sig);
  // Waits up to `timeout` for the child to exit and reaps it. Returns true
  // iff it exited (or was not running); *status gets waitpid's status.
  bool Wait(std::chrono::milliseconds timeout, int* status = nullptr);
  // SIGTERM, wait up to `grace`, then SIGKILL and reap. Returns true iff it
  // exited within the grace period by itself.
  bool Stop(std::chrono::milliseconds grace);
  // SIGKILL and reap.
  void Kill();

  const std::string& log_path() const { return log_path_; }
  int last_status() const { return last_status_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  int last_status_ = 0;
};

// Reads a whole file; empty when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace jcm::testing
