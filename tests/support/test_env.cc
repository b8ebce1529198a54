#include "tests/support/test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

namespace jcm::testing {

namespace {

// Binds host:port (0 = any) without SO_REUSEADDR and returns the port bound,
// or 0.
int TryBind(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return 0;
  }
  int bound = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      bound = ntohs(addr.sin_port);
    }
  }
  close(fd);
  return bound;
}

}  // namespace

int FreeLoopbackPort(const std::string& host) {
  // Below Linux's ephemeral range (32768-60999): a port handed out there can
  // be taken by any outgoing connection before our server binds it, or
  // between a server's kill and its restart on the same port.
  static std::atomic<unsigned> counter{0};
  std::mt19937 rng(
      static_cast<unsigned>(getpid()) * 7919u + counter++ +
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<int> pick(20000, 32767);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int port = pick(rng);
    if (TryBind(host, port) == port) return port;
  }
  return TryBind(host, 0);
}

std::string BinDir() {
  const char* dir = std::getenv("JCM_BIN_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return "build/bin";
}

bool WaitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
               std::chrono::milliseconds step) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  const char* keep = std::getenv("JCM_KEEP_TEST_DIRS");
  if (path_.empty() || (keep != nullptr && std::string(keep) == "1")) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void RaiseOpenFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace jcm::testing
