#include "tests/support/zk_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace jcm::testing {

namespace {

const char* kZooKeeperJar = "/usr/share/java/zookeeper.jar";

std::string JavaBinary() {
  for (const char* candidate : {"/usr/bin/java", "/usr/lib/jvm/default-java/bin/java"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "/usr/bin/java";
}

}  // namespace

ZkServer::ZkServer(ZkServerOptions options) : options_(options), dir_("jcm-zk") {
  data_dir_ = dir_.path() + "/data";
  config_path_ = dir_.path() + "/zoo.cfg";
  log_path_ = dir_.path() + "/zookeeper.log";
  std::filesystem::create_directories(data_dir_);
  port_ = FreeLoopbackPort();
  std::ofstream cfg(config_path_);
  cfg << "tickTime=" << options_.tick_time_ms << "\n"
      << "dataDir=" << data_dir_ << "\n"
      << "clientPort=" << port_ << "\n"
      << "clientPortAddress=127.0.0.1\n"
      << "admin.enableServer=false\n"
      << "4lw.commands.whitelist=*\n"
      << "minSessionTimeout=" << options_.min_session_timeout_ms << "\n"
      << "maxSessionTimeout=" << options_.max_session_timeout_ms
      << "\n"
      // One test ZooKeeper holds little; a single snapshot keeps the disk use
      // bounded and purging needs no extra thread.
      << "autopurge.snapRetainCount=3\n"
      << "autopurge.purgeInterval=0\n";
}

ZkServer::~ZkServer() { Stop(std::chrono::milliseconds(3000)); }

std::string ZkServer::connect_string() const { return "127.0.0.1:" + std::to_string(port_); }

bool ZkServer::Start(std::string* error) {
  if (process_.running()) {
    *error = "ZooKeeper already running";
    return false;
  }
  if (port_ == 0) {
    *error = "no free loopback port";
    return false;
  }
  // -Xmx keeps several test ZooKeepers (ASan builds run next to them) small;
  // the JVM's default would claim a quarter of the machine.
  std::vector<std::string> argv = {JavaBinary(),
                                   "-Xmx256m",
                                   "-XX:+UseSerialGC",
                                   "-XX:TieredStopAtLevel=1",
                                   "-Dzookeeper.jmx.log4j.disable=true",
                                   "-cp",
                                   kZooKeeperJar,
                                   "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                                   config_path_};
  if (!process_.Start(argv, log_path_, {}, error)) return false;
  bool up = WaitUntil([&] { return !process_.running() || Answers(); }, options_.start_timeout,
                      std::chrono::milliseconds(50));
  if (!up || !process_.running()) {
    *error = "ZooKeeper did not start serving on " + connect_string() + "; log:\n" + log();
    process_.Kill();
    return false;
  }
  return true;
}

void ZkServer::Stop(std::chrono::milliseconds grace) { process_.Stop(grace); }

void ZkServer::Kill() { process_.Kill(); }

std::string ZkServer::FourLetterWord(const std::string& command,
                                     std::chrono::milliseconds timeout) const {
  return FourLetterWordTo("127.0.0.1", port_, command, timeout);
}

bool ZkServer::Answers() const {
  return FourLetterWord("srvr").find("Mode: ") != std::string::npos;
}

std::string FourLetterWordTo(const std::string& host, int port, const std::string& command,
                             std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining_ms = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<long long>(0, left.count()));
  };
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    close(fd);
    return "";
  }
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, remaining_ms()) != 1 || (p.revents & (POLLERR | POLLHUP)) != 0) {
    close(fd);
    return "";
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0 || send(fd, command.data(), command.size(), MSG_NOSIGNAL) !=
                      static_cast<ssize_t>(command.size())) {
    close(fd);
    return "";
  }
  char buf[4096];
  while (true) {
    pollfd r{fd, POLLIN, 0};
    if (poll(&r, 1, remaining_ms()) != 1) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

bool ZkServer::Pause() { return process_.Signal(SIGSTOP); }

bool ZkServer::Resume() { return process_.Signal(SIGCONT); }

}  // namespace jcm::testing
