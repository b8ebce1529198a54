// jcm-bench-sub-load: one jcm-server instance (with its own ZooKeeper, both
// on free loopback ports, started through tests/support) serving M simulated
// subscribers, each polling POST /sub (extended form, a few clusters) once a
// second. One epoll loop drives every subscriber with non-blocking sockets:
// a subscriber opens a connection per poll, sends it with "Connection:
// close", reads to EOF, closes. (Keep-alive polling, long polls and a peer
// in the same run: bench/serving/.)
//
// Polls are scheduled at fixed rate, spread evenly over the second; latency
// is measured from the scheduled start (so a client that falls behind shows
// up as latency, not as fewer requests) to the last byte of the reply.
// Each subscriber binds its own source address 127.100.x.y so the 4-tuples
// never run short. Server CPU is read from /proc/<pid>/stat.
//
//   jcm-bench-sub-load --subscribers 10000 --seconds 20 --warmup 5 --clusters 4
//
// Thread-safety: a single-threaded program.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
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
using std::chrono::milliseconds;

struct Flags {
  int subscribers = 1000;
  int seconds = 20;
  int warmup = 5;
  int clusters = 4;
  int nodes = 20;
  int http_threads = 32;
  int timeout_ms = 5000;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--subscribers")
      f->subscribers = v;
    else if (k == "--seconds")
      f->seconds = v;
    else if (k == "--warmup")
      f->warmup = v;
    else if (k == "--clusters")
      f->clusters = v;
    else if (k == "--nodes")
      f->nodes = v;
    else if (k == "--http-threads")
      f->http_threads = v;
    else if (k == "--timeout-ms")
      f->timeout_ms = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return false;
    }
  }
  return f->subscribers > 0 && f->seconds > 0 && f->clusters > 0;
}

struct Sub {
  int fd = -1;
  Clock::time_point scheduled;  // start of the poll in flight
  size_t sent = 0;
  std::string reply;
  in_addr source{};
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: jcm-bench-sub-load [--subscribers M] [--seconds S] [--warmup W] "
                 "[--clusters C] [--nodes N] [--http-threads T] [--timeout-ms MS]\n");
    return 2;
  }
  jcm::testing::RaiseOpenFileLimit();

  jcm::testing::JcmClusterOptions co;
  co.instances = 1;
  co.extra_args = {"--log-level", "warn", "--http-threads", std::to_string(flags.http_threads)};
  jcm::testing::JcmCluster cluster(co);
  std::string error;
  if (!cluster.Start(&error)) {
    std::fprintf(stderr, "cluster start failed: %s\n%s\n", error.c_str(),
                 cluster.AllLogs().c_str());
    return 1;
  }
  const std::string address = cluster.address(0);
  const pid_t server_pid = cluster.server(0).pid();

  // C clusters of N nodes each, checkType NONE (never contacted).
  nlohmann::json units = nlohmann::json::array();
  for (int c = 0; c < flags.clusters; ++c) {
    std::string name = "load-" + std::to_string(c);
    nlohmann::json nodes = nlohmann::json::array();
    for (int n = 0; n < flags.nodes; ++n)
      nodes.push_back(jcm::testing::NodeDoc(jcm::testing::NthIp(c * 1000 + n + 1), 8080));
    auto r =
        jcm::testing::HttpPostJson(address, "/c", jcm::testing::ClusterDoc(name, nodes, "NONE"));
    if (!r.ok()) {
      std::fprintf(stderr, "create %s: %s\n", name.c_str(), r.Describe().c_str());
      return 1;
    }
  }
  // The owner writes first statuses shortly after a create (statusVersion
  // moves): wait for that, then take the versions every subscriber holds.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  for (int c = 0; c < flags.clusters; ++c) {
    std::string name = "load-" + std::to_string(c);
    auto got = cluster.GetCluster(0, name);
    if (!got) return 1;
    units.push_back({{"name", name},
                     {"version", got->value("version", 0LL)},
                     {"statusVersion", got->value("statusVersion", 0LL)}});
  }
  // Steady state: every subscriber holds the current versions, so answers
  // are RESP_NOCHANGE (the common case once subscribers are up to date).
  const std::string body = nlohmann::json{{"tag", "load"}, {"ext", 1}, {"units", units}}.dump();
  {
    auto probe = jcm::testing::HttpPost(address, "/sub", body);
    std::fprintf(stderr, "probe reply (%d): %s\n", probe.status, probe.body.c_str());
  }
  const std::string request =
      "POST /sub HTTP/1.1\r\nHost: " + address +
      "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;

  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(cluster.server(0).port()));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);

  const int m = flags.subscribers;
  std::vector<Sub> subs(static_cast<size_t>(m));
  for (int i = 0; i < m; ++i) {
    std::string src = "127.100." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    inet_pton(AF_INET, src.c_str(), &subs[static_cast<size_t>(i)].source);
  }
  int ep = epoll_create1(0);
  using Due = std::pair<Clock::time_point, int>;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
  const Clock::time_point t0 = Clock::now() + milliseconds(100);
  for (int i = 0; i < m; ++i) {
    due.push({t0 + std::chrono::microseconds(static_cast<long long>(i) * 1000000 / m), i});
  }
  const Clock::time_point measure_from = t0 + std::chrono::seconds(flags.warmup);
  const Clock::time_point measure_to = measure_from + std::chrono::seconds(flags.seconds);

  std::vector<double> lat_ms;
  lat_ms.reserve(static_cast<size_t>(m) * static_cast<size_t>(flags.seconds) + 16);
  long long failures = 0, changed = 0, started = 0, max_inflight = 0, inflight = 0;
  long long fail_connect = 0, fail_status = 0, fail_timeout = 0, skipped = 0;
  double server_cpu0 = 0, self_cpu0 = 0;
  bool measuring = false;
  std::string sample_reply;
  std::vector<epoll_event> events(4096);

  auto finish = [&](int i, bool ok, int why) {
    Sub& s = subs[static_cast<size_t>(i)];
    epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
    close(s.fd);
    s.fd = -1;
    --inflight;
    bool in_window = s.scheduled >= measure_from && s.scheduled < measure_to;
    if (in_window) {
      if (ok && s.reply.compare(0, 12, "HTTP/1.1 200") == 0) {
        lat_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - s.scheduled).count());
        if (sample_reply.empty()) sample_reply = s.reply;
        if (s.reply.find("RESP_NOCHANGE") == std::string::npos ||
            s.reply.find("RESP_UPDATE") != std::string::npos ||
            s.reply.find("RESP_STATUS") != std::string::npos) {
          ++changed;
        }
      } else {
        ++failures;
        if (!ok && why == 1)
          ++fail_connect;
        else if (!ok && why == 2)
          ++fail_timeout;
        else
          ++fail_status;
      }
    }
    s.reply.clear();
    s.sent = 0;
  };

  while (true) {
    Clock::time_point now = Clock::now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      server_cpu0 = jcm::bench::CpuSeconds({server_pid});
      self_cpu0 = jcm::bench::SelfCpuSeconds();
    }
    if (now >= measure_to + milliseconds(flags.timeout_ms) ||
        (now >= measure_to && inflight == 0)) {
      break;
    }
    // Start every poll that is due.
    while (!due.empty() && due.top().first <= now) {
      auto [when, i] = due.top();
      due.pop();
      if (when < measure_to) due.push({when + std::chrono::seconds(1), i});
      Sub& s = subs[static_cast<size_t>(i)];
      if (when >= measure_to) continue;
      if (s.fd >= 0) {  // previous poll still running: skip, as a client would
        if (when >= measure_from) ++skipped;
        continue;
      }
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        std::fprintf(stderr, "socket: %s\n", strerror(errno));
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr = s.source;
      bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src));
      s.fd = fd;
      s.scheduled = when;
      ++started;
      ++inflight;
      max_inflight = std::max(max_inflight, inflight);
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
      ev.data.u32 = static_cast<uint32_t>(i);
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      int rc = connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));
      if (rc < 0 && errno != EINPROGRESS) finish(i, false, 1);
    }
    // Sleep exactly until the next poll is due (epoll_pwait2 takes a
    // nanosecond timeout; a millisecond one would spin or start polls late).
    long long wait_ns = 50'000'000;
    if (!due.empty()) {
      auto until =
          std::chrono::duration_cast<std::chrono::nanoseconds>(due.top().first - Clock::now())
              .count();
      wait_ns = std::clamp<long long>(until, 0, 50'000'000);
    }
    timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000),
                     static_cast<long>(wait_ns % 1'000'000'000)};
    int n = epoll_pwait2(ep, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
    for (int k = 0; k < n; ++k) {
      int i = static_cast<int>(events[static_cast<size_t>(k)].data.u32);
      Sub& s = subs[static_cast<size_t>(i)];
      if (s.fd < 0) continue;
      uint32_t e = events[static_cast<size_t>(k)].events;
      if (s.sent < request.size() && (e & EPOLLOUT)) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          finish(i, false, 1);
          continue;
        }
        ssize_t w = send(s.fd, request.data() + s.sent, request.size() - s.sent, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          finish(i, false, 1);
          continue;
        }
        if (w > 0) s.sent += static_cast<size_t>(w);
        if (s.sent == request.size()) {
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.u32 = static_cast<uint32_t>(i);
          epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &ev);
        }
      }
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        char buf[16384];
        while (true) {
          ssize_t r = recv(s.fd, buf, sizeof(buf), 0);
          if (r > 0) {
            s.reply.append(buf, static_cast<size_t>(r));
            continue;
          }
          if (r == 0) {
            finish(i, true, 0);
          } else if (errno != EAGAIN) {
            finish(i, !s.reply.empty(), 1);
          }
          break;
        }
      }
    }
    // Time out polls stuck longer than timeout_ms.
    if (n == 0 || (started & 1023) == 0) {
      Clock::time_point limit = Clock::now() - milliseconds(flags.timeout_ms);
      for (int i = 0; i < m; ++i) {
        if (subs[static_cast<size_t>(i)].fd >= 0 && subs[static_cast<size_t>(i)].scheduled < limit)
          finish(i, false, 2);
      }
    }
  }
  const double wall = std::chrono::duration<double>(measure_to - measure_from).count();
  const double server_cpu = jcm::bench::CpuSeconds({server_pid}) - server_cpu0;
  const double self_cpu = jcm::bench::SelfCpuSeconds() - self_cpu0;
  double load1 = 0;
  {
    std::ifstream la("/proc/loadavg");
    la >> load1;
  }
  size_t ok = lat_ms.size();
  double p50 = jcm::bench::Percentile(lat_ms, 0.50), p90 = jcm::bench::Percentile(lat_ms, 0.90),
         p99 = jcm::bench::Percentile(lat_ms, 0.99), p999 = jcm::bench::Percentile(lat_ms, 0.999);
  double mx = lat_ms.empty() ? 0 : *std::max_element(lat_ms.begin(), lat_ms.end());
  std::printf(
      "subscribers=%d clusters=%d nodes=%d seconds=%d ok=%zu rps=%.0f failures=%lld "
      "(connect=%lld timeout=%lld status=%lld) changed_replies=%lld p50_ms=%.2f p90_ms=%.2f "
      "p99_ms=%.2f p999_ms=%.2f max_ms=%.1f server_cpu_cores=%.2f client_cpu_cores=%.2f "
      "max_inflight=%lld skipped_polls=%lld loadavg1=%.2f\n",
      m, flags.clusters, flags.nodes, flags.seconds, ok, static_cast<double>(ok) / wall, failures,
      fail_connect, fail_timeout, fail_status, changed, p50, p90, p99, p999, mx, server_cpu / wall,
      self_cpu / wall, max_inflight, skipped, load1);
  std::fprintf(stderr, "sample reply: %s\n", sample_reply.c_str());
  close(ep);
  return 0;
}
