// Small helpers shared by the integration tests: free loopback ports, temp
// directories, polling, and where the built binaries are.
//
// Thread-safety: free functions are thread-safe; TempDir is owned by one
// thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace jcm::testing {

// A TCP port that was free on `host` a moment ago (a random one from
// 20000-32767 that binds, then closed). Another process may take it before the caller does; the
// callers start their servers right away, which is good enough on a test machine. Returns 0 on
// failure.
int FreeLoopbackPort(const std::string& host = "127.0.0.1");

// $JCM_BIN_DIR (set by ctest), else "build/bin" relative to the cwd.
std::string BinDir();

// Raises this process's open-file soft limit to its hard limit (tests and
// benchmarks that hold thousands of client sockets).
void RaiseOpenFileLimit();

// Polls `predicate` every `step` until it returns true or `timeout` passes.
// Returns true iff the predicate held. Polling is right here: the things
// waited on are real processes, not code under an injected clock.
bool WaitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds step = std::chrono::milliseconds(50));

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction unless JCM_KEEP_TEST_DIRS=1.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "jcm-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Milliseconds since `start` on the steady clock.
inline long long MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace jcm::testing
