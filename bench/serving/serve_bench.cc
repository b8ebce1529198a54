// jcm-bench-serve: the serving layer under subscriber load (issue 7), one
// jcm-server instance with its own ZooKeeper (tests/support), or a peer HTTP
// server (nginx) given by address, driven from one epoll loop.
//
//   --mode poll      M subscribers each keep ONE keep-alive connection and
//                    POST /sub (extended form, C clusters, current versions:
//                    RESP_NOCHANGE) once a second, spread evenly over the
//                    second. Latency from the scheduled time to the last byte.
//   --mode longpoll  M subscribers each park a long poll (waitMs 30 s); once
//                    the parked count settles, one node is added to cluster
//                    load-0; each subscriber's time from the write being sent
//                    to its RESP_UPDATE is recorded; then all re-park with the
//                    versions they got. Repeated --changes times.
//   --idle K         K more connections, each sends one GET /healthz and then
//                    stays open and idle for the whole run.
//   --idle-process 1 hold the --idle connections in a second process (this
//                    program re-run as --mode idle), so the measuring loop
//                    does not carry them: what is left of their cost is the
//                    server's and the kernel's.
//   --mode idle      (internal) open --idle K connections to --peer, print
//                    "ready=N failed=F", hold them until stdin closes, then
//                    print "idle_closed=C" (those the server closed) and exit.
//   --peer H:P       drive a peer server instead of starting jcm (poll mode
//                    only); --peer-pids P1,P2 are the processes whose CPU is
//                    measured (nginx master and worker).
//
// Subscribers connect from their own source addresses (127.100.x.y, idle
// ones from 127.101.x.y) so 4-tuples never run short. CPU is utime+stime from
// /proc/<pid>/stat over the measured window; RSS is VmRSS at the end.
// Prints one line of key=value.
//
// Thread-safety: a single-threaded program.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <queue>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/proc_stats.h"
#include "tests/support/http_json.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/test_env.h"

namespace {

using Clock = std::chrono::steady_clock;
using jcm::bench::CpuSeconds;
using jcm::bench::ListenOverflows;
using jcm::bench::Percentile;
using jcm::bench::SelfCpuSeconds;
using nlohmann::json;
using std::chrono::milliseconds;

struct Flags {
  std::string mode = "poll";
  int subscribers = 1000;
  int seconds = 20;
  int warmup = 5;
  int clusters = 4;
  int nodes = 20;
  int idle = 0;
  int changes = 5;
  int max_connections = 0;  // passed to jcm-server when > 0
  int io_threads = 0;       // --http-io-threads for jcm-server when > 0
  // 1: each subscriber sends its own tag, so no two /sub bodies are equal
  // and the server's reply cache cannot answer them (the uncached path).
  int distinct_tags = 0;
  int idle_process = 0;  // 1: the idle connections live in a child process
  std::string peer;      // host:port
  std::vector<pid_t> peer_pids;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mode") {
      f->mode = v;
    } else if (k == "--subscribers") {
      f->subscribers = std::atoi(v.c_str());
    } else if (k == "--seconds") {
      f->seconds = std::atoi(v.c_str());
    } else if (k == "--warmup") {
      f->warmup = std::atoi(v.c_str());
    } else if (k == "--clusters") {
      f->clusters = std::atoi(v.c_str());
    } else if (k == "--nodes") {
      f->nodes = std::atoi(v.c_str());
    } else if (k == "--idle") {
      f->idle = std::atoi(v.c_str());
    } else if (k == "--changes") {
      f->changes = std::atoi(v.c_str());
    } else if (k == "--io-threads") {
      f->io_threads = std::atoi(v.c_str());
    } else if (k == "--idle-process") {
      f->idle_process = std::atoi(v.c_str());
    } else if (k == "--distinct-tags") {
      f->distinct_tags = std::atoi(v.c_str());
    } else if (k == "--max-connections") {
      f->max_connections = std::atoi(v.c_str());
    } else if (k == "--peer") {
      f->peer = v;
    } else if (k == "--peer-pids") {
      std::stringstream ss(v);
      std::string p;
      while (std::getline(ss, p, ',')) f->peer_pids.push_back(std::atoi(p.c_str()));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return false;
    }
  }
  if (f->mode == "idle") return !f->peer.empty() && f->idle > 0;
  return (f->mode == "poll" || f->mode == "longpoll") && f->subscribers > 0 && f->seconds > 0 &&
         (f->peer.empty() || f->mode == "poll");
}

long RssKb(const std::vector<pid_t>& pids) {
  long total = 0;
  for (pid_t pid : pids) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) total += std::atol(line.c_str() + 6);
    }
  }
  return total;
}

std::string PostRequest(const std::string& host, const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: " + host +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// One keep-alive client connection, non-blocking, framed by Content-Length.
struct Conn {
  int fd = -1;
  bool connected = false;
  std::string out;
  size_t sent = 0;
  std::string in;
  bool busy = false;  // a request is out and its reply not complete
  Clock::time_point started;
  in_addr source{};
  bool ever_opened = false;
};

class Loop {
 public:
  Loop(sockaddr_in dst) : dst_(dst), ep_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~Loop() { close(ep_); }

  bool Open(Conn* c, uint32_t id) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr = c->source;
    bind(c->fd, reinterpret_cast<sockaddr*>(&src), sizeof(src));
    epoll_event ev{};
    // Edge-triggered: level-triggered EPOLLOUT would report every connected
    // socket writable on every wait, so the loop would spin over all of them
    // (the cost then grows with idle connections: the client's, not the
    // server's). Reads drain to EAGAIN and writes go until the socket is
    // full, as ET requires.
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u32 = id;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c->fd, &ev);
    int rc = connect(c->fd, reinterpret_cast<sockaddr*>(&dst_), sizeof(dst_));
    c->connected = rc == 0;
    c->in.clear();
    c->busy = false;
    if (c->ever_opened) ++reopened;
    c->ever_opened = true;
    return rc == 0 || errno == EINPROGRESS;
  }
  // Adds a descriptor that is not a connection (the idle holder's stdin).
  void Watch(int fd, uint32_t id) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u32 = id;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
  void Close(Conn* c) {
    if (c->fd < 0) return;
    epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    c->fd = -1;
    c->busy = false;
  }
  void Send(Conn* c, const std::string& request) {
    c->out = request;
    c->sent = 0;
    c->busy = true;
    c->started = Clock::now();
    Flush(c);
  }
  void Flush(Conn* c) {
    if (!c->connected || c->fd < 0) return;
    while (c->sent < c->out.size()) {
      ssize_t w = send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
      if (w <= 0) return;
      c->sent += static_cast<size_t>(w);
    }
  }
  // Reads what is there; returns the complete reply body (and status) if one
  // arrived, "" otherwise; *closed when the server closed the connection.
  bool ReadReply(Conn* c, int* status, std::string* body, bool* closed) {
    char buf[65536];
    *closed = false;
    while (true) {
      ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
      if (r > 0) {
        c->in.append(buf, static_cast<size_t>(r));
        continue;
      }
      if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) *closed = true;
      break;
    }
    size_t end = c->in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    size_t length = 0;
    std::string head = c->in.substr(0, end);
    for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (size_t p = head.find("content-length:"); p != std::string::npos) {
      length = std::strtoul(head.c_str() + p + 15, nullptr, 10);
    }
    if (c->in.size() < end + 4 + length) return false;
    *status = std::atoi(c->in.c_str() + c->in.find(' ') + 1);
    *body = c->in.substr(end + 4, length);
    c->in.erase(0, end + 4 + length);
    c->busy = false;
    return true;
  }
  // What one epoll event did to a connection.
  enum class Outcome { kOpen, kConnectFailed, kClosedByPeer };
  // Handles one event of `c`: completes its connect, flushes what is queued,
  // and calls on_reply(status, body) for every complete reply. A failed
  // connect is closed here; a connection the server closed is left for the
  // caller to count and Close().
  template <typename OnReply>
  Outcome Handle(Conn* c, uint32_t e, OnReply&& on_reply) {
    if (!c->connected && (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        Close(c);
        return Outcome::kConnectFailed;
      }
      c->connected = true;
    }
    if (e & EPOLLOUT) Flush(c);
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      int status = 0;
      std::string body;
      bool closed = false;
      while (ReadReply(c, &status, &body, &closed)) on_reply(status, body);
      if (closed) return Outcome::kClosedByPeer;
    }
    return Outcome::kOpen;
  }
  int Wait(epoll_event* events, int max, long long wait_ns) {
    timespec t{static_cast<time_t>(wait_ns / 1'000'000'000),
               static_cast<long>(wait_ns % 1'000'000'000)};
    return epoll_pwait2(ep_, events, max, &t, nullptr);
  }

  long long reopened = 0;  // connections opened again after the server closed them

 private:
  sockaddr_in dst_;
  int ep_;
};

in_addr Source(int block, int i) {
  in_addr a{};
  std::string s = "127." + std::to_string(block) + "." + std::to_string(i / 250) + "." +
                  std::to_string(i % 250 + 1);
  inet_pton(AF_INET, s.c_str(), &a);
  return a;
}

std::string SubBody(const json& units, int wait_ms, const std::string& tag = "bench") {
  json body = {{"tag", tag}, {"ext", 1}, {"units", units}};
  if (wait_ms > 0) body["waitMs"] = wait_ms;
  return body.dump();
}

sockaddr_in ParseAddress(const std::string& address) {
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  std::string host = address.substr(0, address.rfind(':'));
  dst.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + address.rfind(':') + 1)));
  inet_pton(AF_INET, host.c_str(), &dst.sin_addr);
  return dst;
}

// --mode idle: the child's side of --idle-process. Opens the connections
// from 127.101.x.y, waits (at most 20 s) for each one's /healthz reply,
// reports, then holds them, counting those the server closes, until its
// parent closes stdin.
int RunIdleHolder(const Flags& flags) {
  Loop loop(ParseAddress(flags.peer));
  std::vector<Conn> conns(static_cast<size_t>(flags.idle));
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: " + flags.peer + "\r\n\r\n";
  for (int i = 0; i < flags.idle; ++i) {
    Conn* c = &conns[static_cast<size_t>(i)];
    c->source = Source(101, i);
    loop.Open(c, static_cast<uint32_t>(i));
    loop.Send(c, healthz);
  }
  // stdin is watched through the same epoll set under an id past the
  // connections.
  const uint32_t stdin_id = static_cast<uint32_t>(flags.idle);
  loop.Watch(STDIN_FILENO, stdin_id);
  std::vector<epoll_event> events(4096);
  int answered = 0, failed = 0;
  long long closed_by_server = 0;
  bool reported = false, parent_gone = false;
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(20);
  while (!parent_gone) {
    if (!reported && (answered + failed >= flags.idle || Clock::now() >= give_up)) {
      std::printf("ready=%d failed=%d\n", answered, flags.idle - answered);
      std::fflush(stdout);
      reported = true;
    }
    int n = loop.Wait(events.data(), static_cast<int>(events.size()), 100'000'000);
    for (int k = 0; k < n; ++k) {
      uint32_t id = events[static_cast<size_t>(k)].data.u32;
      if (id == stdin_id) {
        parent_gone = true;  // EOF (or anything): the run is over
        continue;
      }
      Conn* c = &conns[id];
      if (c->fd < 0) continue;
      Loop::Outcome o = loop.Handle(c, events[static_cast<size_t>(k)].events,
                                    [&](int status, const std::string&) {
                                      if (status == 200) {
                                        ++answered;
                                      } else {
                                        ++failed;
                                      }
                                    });
      if (o == Loop::Outcome::kConnectFailed) ++failed;
      if (o == Loop::Outcome::kClosedByPeer) {
        if (reported) {
          ++closed_by_server;
        } else {
          ++failed;
        }
        loop.Close(c);
      }
    }
  }
  std::printf("idle_closed=%lld\n", closed_by_server);
  return 0;
}

// The parent's side of --idle-process: this program re-run as --mode idle,
// its stdin and stdout on pipes; stopped by closing its stdin, then reaped
// by PID.
class IdleHolder {
 public:
  bool Start(const char* self, const std::string& address, int count) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    std::string n = std::to_string(count);
    std::vector<std::string> args = {self, "--mode", "idle", "--peer", address, "--idle", n};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, self, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to_child_ = in[1];
    from_child_ = fdopen(out[0], "r");
    if (rc != 0) {
      pid_ = -1;
      return false;
    }
    char line[128] = {0};
    if (!fgets(line, sizeof(line), from_child_)) return false;
    std::fprintf(stderr, "idle holder (pid %d): %s", static_cast<int>(pid_), line);
    return std::strstr(line, "failed=0") != nullptr;
  }
  // Closes the child's stdin, reads how many of its connections the server
  // closed during the run, and reaps it.
  long long Stop() {
    long long closed = -1;
    if (to_child_ >= 0) close(to_child_);
    to_child_ = -1;
    if (from_child_) {
      char line[128] = {0};
      if (fgets(line, sizeof(line), from_child_)) std::sscanf(line, "idle_closed=%lld", &closed);
      fclose(from_child_);
      from_child_ = nullptr;
    }
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return closed;
  }
  ~IdleHolder() {
    if (pid_ > 0) kill(pid_, SIGTERM);
    Stop();
  }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  FILE* from_child_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(
        stderr,
        "usage: jcm-bench-serve [--mode poll|longpoll] [--subscribers M] [--seconds S] "
        "[--warmup W] [--clusters C] [--nodes N] [--idle K] [--changes K] "
        "[--max-connections N] [--io-threads N] [--distinct-tags 0|1] [--idle-process 0|1] "
        "[--peer HOST:PORT "
        "--peer-pids P1,P2]\n");
    return 2;
  }
  jcm::testing::RaiseOpenFileLimit();
  if (flags.mode == "idle") return RunIdleHolder(flags);

  std::unique_ptr<jcm::testing::JcmCluster> cluster;
  std::string address = flags.peer;
  std::vector<pid_t> pids = flags.peer_pids;
  json units = json::array();
  if (flags.peer.empty()) {
    jcm::testing::JcmClusterOptions co;
    co.instances = 1;
    co.extra_args = {"--log-level", "warn"};
    if (flags.io_threads > 0) {
      co.extra_args.push_back("--http-io-threads");
      co.extra_args.push_back(std::to_string(flags.io_threads));
    }
    if (flags.max_connections > 0) {
      co.extra_args.push_back("--max-connections");
      co.extra_args.push_back(std::to_string(flags.max_connections));
    }
    cluster = std::make_unique<jcm::testing::JcmCluster>(co);
    std::string error;
    if (!cluster->Start(&error)) {
      std::fprintf(stderr, "cluster start failed: %s\n%s\n", error.c_str(),
                   cluster->AllLogs().c_str());
      return 1;
    }
    address = cluster->address(0);
    pids = {cluster->server(0).pid()};
    for (int c = 0; c < flags.clusters; ++c) {
      std::string name = "load-" + std::to_string(c);
      json nodes = json::array();
      for (int n = 0; n < flags.nodes; ++n) {
        nodes.push_back(jcm::testing::NodeDoc(jcm::testing::NthIp(c * 1000 + n + 1), 8080));
      }
      auto r =
          jcm::testing::HttpPostJson(address, "/c", jcm::testing::ClusterDoc(name, nodes, "NONE"));
      if (!r.ok()) {
        std::fprintf(stderr, "create %s: %s\n", name.c_str(), r.Describe().c_str());
        return 1;
      }
    }
    // The owner writes first statuses shortly after a create: let it, then
    // take the versions every subscriber holds.
    std::this_thread::sleep_for(milliseconds(2000));
    for (int c = 0; c < flags.clusters; ++c) {
      auto got = cluster->GetCluster(0, "load-" + std::to_string(c));
      if (!got) return 1;
      units.push_back({{"name", "load-" + std::to_string(c)},
                       {"version", got->value("version", 0LL)},
                       {"statusVersion", got->value("statusVersion", 0LL)}});
    }
  } else {
    for (int c = 0; c < flags.clusters; ++c) {
      units.push_back(
          {{"name", "load-" + std::to_string(c)}, {"version", 1}, {"statusVersion", 1}});
    }
  }
  Loop loop(ParseAddress(address));
  const int m = flags.subscribers;
  // With --idle-process the idle connections are the child's, not ours.
  IdleHolder idle_holder;
  const int own_idle = flags.idle_process ? 0 : flags.idle;
  if (flags.idle_process && flags.idle > 0 &&
      !idle_holder.Start("/proc/self/exe", address, flags.idle)) {
    std::fprintf(stderr, "the idle holder could not open its %d connections\n", flags.idle);
    return 1;
  }
  // ids: [0, m) subscribers, [m, m + own_idle) idle connections, then the writer.
  std::vector<Conn> conns(static_cast<size_t>(m + own_idle + 1));
  for (int i = 0; i < m; ++i) conns[static_cast<size_t>(i)].source = Source(100, i);
  for (int i = 0; i < own_idle; ++i) conns[static_cast<size_t>(m + i)].source = Source(101, i);
  const uint32_t writer_id = static_cast<uint32_t>(m + own_idle);
  conns[writer_id].source = Source(102, 0);
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: " + address + "\r\n\r\n";
  for (int i = 0; i < own_idle; ++i) {
    Conn* c = &conns[static_cast<size_t>(m + i)];
    loop.Open(c, static_cast<uint32_t>(m + i));
    loop.Send(c, healthz);
  }
  std::vector<epoll_event> events(4096);
  long long failures = 0, changed = 0, idle_closed = 0;
  size_t reply_bytes = 0;

  auto handle_io = [&](int n, auto&& on_reply) {
    for (int k = 0; k < n; ++k) {
      uint32_t id = events[static_cast<size_t>(k)].data.u32;
      Conn* c = &conns[id];
      if (c->fd < 0) continue;
      Loop::Outcome o =
          loop.Handle(c, events[static_cast<size_t>(k)].events,
                      [&](int status, const std::string& body) { on_reply(id, c, status, body); });
      if (o == Loop::Outcome::kConnectFailed) ++failures;
      if (o == Loop::Outcome::kClosedByPeer) {
        if (c->busy) ++failures;
        if (id >= static_cast<uint32_t>(m) && id < writer_id) ++idle_closed;
        loop.Close(c);
      }
    }
  };

  double cpu0 = 0, self0 = 0, wall = 0;
  long long overflows0 = 0;
  std::vector<double> lat_ms;
  long long parked_min = -1;
  std::vector<double> change_last_ms, change_ack_ms;

  if (flags.mode == "poll") {
    const std::string shared_request = PostRequest(address, "/sub", SubBody(units, 0));
    std::vector<std::string> own_requests;
    if (flags.distinct_tags) {
      for (int i = 0; i < m; ++i) {
        own_requests.push_back(
            PostRequest(address, "/sub", SubBody(units, 0, "bench-" + std::to_string(i))));
      }
    }
    using Due = std::pair<Clock::time_point, int>;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
    const Clock::time_point t0 = Clock::now() + milliseconds(200);
    for (int i = 0; i < m; ++i) {
      due.push({t0 + std::chrono::microseconds(static_cast<long long>(i) * 1000000 / m), i});
    }
    const Clock::time_point from = t0 + std::chrono::seconds(flags.warmup);
    const Clock::time_point to = from + std::chrono::seconds(flags.seconds);
    std::vector<Clock::time_point> scheduled(static_cast<size_t>(m));
    long long skipped = 0;
    bool measuring = false;
    auto on_reply = [&](uint32_t id, Conn*, int status, const std::string& body) {
      if (id >= static_cast<uint32_t>(m)) return;
      Clock::time_point s = scheduled[id];
      if (s < from || s >= to) return;
      if (status != 200) {
        ++failures;
        return;
      }
      if (reply_bytes == 0) reply_bytes = body.size();
      if (flags.peer.empty() && body.find("RESP_NOCHANGE") == std::string::npos) ++changed;
      lat_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    };
    while (true) {
      Clock::time_point now = Clock::now();
      if (!measuring && now >= from) {
        measuring = true;
        cpu0 = CpuSeconds(pids);
        self0 = SelfCpuSeconds();
        overflows0 = ListenOverflows();
      }
      if (now >= to + milliseconds(2000)) break;
      while (!due.empty() && due.top().first <= now) {
        auto [when, i] = due.top();
        due.pop();
        if (when >= to) continue;
        due.push({when + std::chrono::seconds(1), i});
        Conn* c = &conns[static_cast<size_t>(i)];
        if (c->busy) {
          if (when >= from) ++skipped;
          continue;
        }
        if (c->fd < 0) loop.Open(c, static_cast<uint32_t>(i));
        scheduled[static_cast<size_t>(i)] = when;
        loop.Send(c, flags.distinct_tags ? own_requests[static_cast<size_t>(i)] : shared_request);
      }
      long long wait_ns = 50'000'000;
      if (!due.empty()) {
        wait_ns = std::clamp<long long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(due.top().first - Clock::now())
                .count(),
            0, 50'000'000);
      }
      int n = loop.Wait(events.data(), static_cast<int>(events.size()), wait_ns);
      handle_io(n, on_reply);
    }
    wall = std::chrono::duration<double>(to - from).count();
    std::fprintf(stderr, "skipped polls (previous still running): %lld\n", skipped);
  } else {
    // Long polls. Per subscriber: the units it holds (versions move).
    std::vector<json> held(static_cast<size_t>(m), units);
    std::vector<Clock::time_point> answered(static_cast<size_t>(m));
    Clock::time_point change_sent{};
    int round = -1;
    int answered_this_round = 0;
    auto repoll = [&](int i) {
      loop.Send(&conns[static_cast<size_t>(i)],
                PostRequest(address, "/sub", SubBody(held[static_cast<size_t>(i)], 30000)));
    };
    // While a change is being delivered, replies are only timestamped as
    // they arrive and kept; they are parsed and their subscribers poll again
    // once the round is over. Parsing each reply and building the next
    // request at once made this single client thread the bottleneck: the
    // last answer's time was mostly the client working through the first
    // ones (about 0.2 ms each on a loaded machine).
    bool deferring = false;
    std::vector<std::pair<uint32_t, std::string>> deferred;
    auto absorb = [&](uint32_t id, const std::string& body) {
      json reply = json::parse(body, nullptr, false);
      if (reply.is_object()) {
        json& h = held[id];
        for (size_t u = 0; u < reply["units"].size() && u < h.size(); ++u) {
          const json& unit = reply["units"][u];
          if (unit["kind"] == "RESP_UPDATE") {
            h[u]["version"] = unit["cluster"]["version"];
            h[u]["statusVersion"] = unit["cluster"].value("statusVersion", 0LL);
          } else if (unit["kind"] == "RESP_STATUS") {
            h[u]["statusVersion"] = unit["statusVersion"];
          }
        }
      }
      repoll(static_cast<int>(id));
    };
    auto on_reply = [&](uint32_t id, Conn*, int status, const std::string& body) {
      if (id == writer_id) {
        if (round >= 0 && status == 200) {
          change_ack_ms.push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - change_sent).count());
        }
        return;
      }
      if (id >= static_cast<uint32_t>(m)) return;
      if (status != 200) {
        ++failures;
        return;
      }
      const bool update = body.find("RESP_UPDATE") != std::string::npos;
      if (update && round >= 0 && answered[id] < change_sent) {
        answered[id] = Clock::now();
        ++answered_this_round;
        ++changed;
        lat_ms.push_back(
            std::chrono::duration<double, std::milli>(answered[id] - change_sent).count());
      }
      if (deferring) {
        deferred.emplace_back(id, body);
        return;
      }
      absorb(id, body);
    };
    for (int i = 0; i < m; ++i) {
      loop.Open(&conns[static_cast<size_t>(i)], static_cast<uint32_t>(i));
      repoll(i);
    }
    auto pump = [&](milliseconds d) {
      Clock::time_point until = Clock::now() + d;
      while (Clock::now() < until) {
        int n = loop.Wait(events.data(), static_cast<int>(events.size()), 10'000'000);
        handle_io(n, on_reply);
      }
    };
    auto parked_now = [&]() -> long long {
      auto st = cluster->Status(0);
      return st ? (*st)["api"].value("longPollsParked", -1LL) : -1;
    };
    pump(milliseconds(1000 * flags.warmup));
    cpu0 = CpuSeconds(pids);
    self0 = SelfCpuSeconds();
    overflows0 = ListenOverflows();
    Clock::time_point start = Clock::now();
    for (round = 0; round < flags.changes; ++round) {
      // Settle: everyone parked (or as many as will).
      long long parked = -1;
      for (int t = 0; t < 100; ++t) {
        pump(milliseconds(50));
        parked = parked_now();
        if (parked >= m) break;
      }
      parked_min = parked_min < 0 ? parked : std::min(parked_min, parked);
      answered_this_round = 0;
      json node = json::array({jcm::testing::NodeDoc(jcm::testing::NthIp(900000 + round), 8080)});
      Conn* w = &conns[writer_id];
      if (w->fd < 0) loop.Open(w, writer_id);
      deferring = true;
      change_sent = Clock::now();
      loop.Send(w, PostRequest(address, "/c/node/load-0", node.dump()));
      Clock::time_point until = change_sent + std::chrono::seconds(5);
      Clock::time_point last = change_sent;
      while (Clock::now() < until && answered_this_round < m) {
        int n = loop.Wait(events.data(), static_cast<int>(events.size()), 10'000'000);
        handle_io(n, on_reply);
      }
      deferring = false;
      for (auto& [id, body] : deferred) absorb(id, body);
      deferred.clear();
      for (int i = 0; i < m; ++i) last = std::max(last, answered[static_cast<size_t>(i)]);
      change_last_ms.push_back(
          std::chrono::duration<double, std::milli>(last - change_sent).count());
      std::fprintf(stderr, "change %d: parked %lld, answered %d, last %.1f ms\n", round, parked,
                   answered_this_round, change_last_ms.back());
    }
    wall = std::chrono::duration<double>(Clock::now() - start).count();
  }
  const long long reconnects = loop.reopened;
  if (flags.idle_process && flags.idle > 0) idle_closed = idle_holder.Stop();
  const double cpu = CpuSeconds(pids) - cpu0;
  const double self = SelfCpuSeconds() - self0;
  long rss = RssKb(pids);
  const long long overflows = ListenOverflows() - overflows0;
  json http;
  if (cluster) {
    if (auto st = cluster->Status(0)) http = (*st)["api"]["http"];
  }
  double load1 = 0;
  {
    std::ifstream la("/proc/loadavg");
    la >> load1;
  }
  std::printf(
      "mode=%s target=%s subscribers=%d idle=%d seconds=%.1f replies=%zu rps=%.0f "
      "failures=%lld changed=%lld reconnects=%lld idle_closed=%lld p50_ms=%.2f p90_ms=%.2f "
      "p99_ms=%.2f max_ms=%.1f server_cpu_cores=%.3f server_cpu_us_per_reply=%.1f "
      "client_cpu_cores=%.2f rss_mb=%.1f reply_bytes=%zu",
      flags.mode.c_str(), flags.peer.empty() ? "jcm" : "peer", m, flags.idle, wall, lat_ms.size(),
      static_cast<double>(lat_ms.size()) / wall, failures, changed, reconnects, idle_closed,
      Percentile(lat_ms, 0.5), Percentile(lat_ms, 0.9), Percentile(lat_ms, 0.99),
      lat_ms.empty() ? 0 : *std::max_element(lat_ms.begin(), lat_ms.end()), cpu / wall,
      lat_ms.empty() ? 0 : cpu * 1e6 / static_cast<double>(lat_ms.size()), self / wall,
      static_cast<double>(rss) / 1024.0, reply_bytes);
  if (flags.mode == "longpoll") {
    std::printf(
        " parked_min=%lld changes=%zu last_answer_p50_ms=%.1f last_answer_max_ms=%.1f "
        "write_ack_p50_ms=%.1f",
        parked_min, change_last_ms.size(), Percentile(change_last_ms, 0.5),
        change_last_ms.empty() ? 0
                               : *std::max_element(change_last_ms.begin(), change_last_ms.end()),
        Percentile(change_ack_ms, 0.5));
  }
  if (!http.is_null()) {
    std::printf(
        " accepted=%lld closed_evicted=%lld closed_idle=%lld refused_at_cap=%lld "
        "accept_queue_max=%lld",
        http.value("accepted", 0LL), http.value("closedEvicted", 0LL),
        http.value("closedIdle", 0LL), http.value("refusedAtCap", 0LL),
        http.value("acceptQueueMax", 0LL));
  }
  std::printf(" listen_overflows=%lld loadavg1=%.2f\n", overflows, load1);
  return 0;
}
