// CtlProcess: runs the real jcmctl binary as a user would, with its stdout
// and stderr captured separately and its exit code, under a deadline.
//
// The child's environment is the test's minus JCM_SERVER, JCM_TOKEN and
// NO_COLOR (so a developer's shell cannot change what is tested), plus the
// given entries. stdout is a file, so output has no colour, unless
// StartOnTerminal gives the child a pseudo-terminal as stdout.
//
// Thread-safety: not thread-safe; owned by one test thread. The destructor
// SIGKILLs and reaps a child still running (by its PID).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace jcm::testing {

struct CtlResult {
  int exit_code = -1;  // -1: killed at the deadline or by a signal
  std::string out, err;
};

class CtlProcess {
 public:
  CtlProcess();
  ~CtlProcess();
  CtlProcess(const CtlProcess&) = delete;
  CtlProcess& operator=(const CtlProcess&) = delete;

  // Starts bin/jcmctl with `args`. `stdin_path` empty: /dev/null.
  bool Start(const std::vector<std::string>& args, const std::vector<std::string>& env,
             const std::string& stdin_path, std::string* error);
  // As Start, with stdout on a new pseudo-terminal (stderr still a file);
  // what the child writes there is collected by Wait, "\r\n" read as "\n".
  bool StartOnTerminal(const std::vector<std::string>& args, std::string* error);
  // Output so far (the child may still run).
  std::string Stdout() const;
  std::string Stderr() const;
  // Waits up to `timeout` for the exit; kills the child past it.
  CtlResult Wait(std::chrono::milliseconds timeout);

 private:
  bool Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
             const std::string& stdin_path, const std::string& stdout_path, std::string* error);
  void DrainTerminal();

  pid_t pid_ = -1;
  int pty_master_ = -1;
  std::string tty_out_;
  std::string out_path_, err_path_;
};

// Start + Wait.
CtlResult RunCtl(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                 const std::string& stdin_path = "",
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace jcm::testing
