// jcm-bench-sub-stop: time from a target stopping to the first subscriber no
// longer picking it, over many trials, with plain polling and with long poll.
//
// Starts its own ZooKeeper and jcm-server instances on free loopback ports
// (tests/support), one HTTP-checked cluster of four real targets on
// 127.0.51.x, and K subscribers of each kind in this process. Per trial: a
// random pause (so the stop lands at any phase of the check and poll cycles),
// stop one target, then watch every subscriber's snapshot (what picks read)
// every 1 ms until none holds the node usable; restart it and wait until all
// hold it usable again.
//
//   jcm-bench-sub-stop --trials 25 --subscribers 5 --interval-ms 1000 --fall 2 --poll-ms 1000
//                      [--fastinter-ms 250]
//
// Thread-safety: a single-threaded program (the subscribers poll on their own
// threads; only thread-safe Subscriber calls are made).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <jcm/subscriber.h>

#include "tests/integration/healthcheck/loopback_http_targets.h"
#include "tests/support/http_json.h"
#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/test_env.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Flags {
  int trials = 25;
  int subscribers = 5;  // per mode
  int instances = 3;
  int interval_ms = 1000;
  int fall = 2;
  int fastinter_ms = 0;  // 0: the server's default (interval / 4)
  int poll_ms = 1000;
  int long_poll_ms = 20000;
  // 0: targets are LoopbackHttpTargets listeners, whose stop closes their
  // connections too (a crashed node). 1: httplib servers (tests/support
  // HttpTarget), which keep answering on connections already open for a
  // while after stop() -- how the figures before 2026-12-01 were taken.
  int httplib_target = 0;
};

bool Usable(const jcm::Subscriber& sub, const std::string& name, const std::string& ip) {
  jcm::Result<jcm::ClusterInfo> info = sub.GetCluster(name);
  if (!info.ok()) return false;
  for (const jcm::NodeInfo& n : info.value().nodes) {
    if (n.ip == ip) return n.usable();
  }
  return false;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--trials")
      f.trials = v;
    else if (k == "--subscribers")
      f.subscribers = v;
    else if (k == "--instances")
      f.instances = v;
    else if (k == "--interval-ms")
      f.interval_ms = v;
    else if (k == "--fall")
      f.fall = v;
    else if (k == "--fastinter-ms")
      f.fastinter_ms = v;
    else if (k == "--poll-ms")
      f.poll_ms = v;
    else if (k == "--long-poll-ms")
      f.long_poll_ms = v;
    else if (k == "--httplib-target")
      f.httplib_target = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  jcm::testing::JcmClusterOptions co;
  co.instances = f.instances;
  co.extra_args = {"--log-level",   "warn", "--health-interval-ms", std::to_string(f.interval_ms),
                   "--health-rise", "1",    "--health-fall",        std::to_string(f.fall)};
  if (f.fastinter_ms > 0) {
    co.extra_args.push_back("--health-fastinter-ms");
    co.extra_args.push_back(std::to_string(f.fastinter_ms));
  }
  jcm::testing::JcmCluster cluster(co);
  std::string error;
  if (!cluster.Start(&error)) {
    std::fprintf(stderr, "cluster start failed: %s\n%s\n", error.c_str(),
                 cluster.AllLogs().c_str());
    return 1;
  }
  const std::string name = "stop-c";
  // One target per node, behind a common stop/start/host interface.
  std::vector<std::unique_ptr<jcm::testing::HttpTarget>> httplib_targets;
  jcm::testing::LoopbackHttpTargets loopback;
  std::vector<int> loopback_index;
  std::vector<std::string> hosts;
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < 4; ++i) {
    std::string host = "127.0.51." + std::to_string(i + 1);
    int port = 0;
    if (f.httplib_target) {
      port = jcm::testing::FreeLoopbackPort(host);
      httplib_targets.push_back(std::make_unique<jcm::testing::HttpTarget>(host, port, "/health"));
      if (!httplib_targets.back()->Start()) port = 0;
    } else {
      int idx = loopback.Add(host);
      loopback_index.push_back(idx);
      if (idx >= 0) port = loopback.port(idx);
    }
    if (port <= 0) {
      std::fprintf(stderr, "target %s did not start\n", host.c_str());
      return 1;
    }
    hosts.push_back(host);
    nodes.push_back(jcm::testing::NodeDoc(host, port));
  }
  auto stop_target = [&](size_t i) {
    if (f.httplib_target) {
      httplib_targets[i]->Stop();
    } else {
      loopback.Stop(loopback_index[i]);
    }
  };
  auto start_target = [&](size_t i) {
    return f.httplib_target ? httplib_targets[i]->Start() : loopback.Start(loopback_index[i]);
  };
  auto r = jcm::testing::HttpPostJson(cluster.address(0), "/c",
                                      jcm::testing::ClusterDoc(name, nodes, "HTTP"));
  if (!r.ok()) {
    std::fprintf(stderr, "create: %s\n", r.Describe().c_str());
    return 1;
  }
  std::vector<std::string> servers;
  for (int i = 0; i < cluster.size(); ++i) servers.push_back(cluster.address(i));

  // [0] plain polling, [1] long poll.
  std::vector<std::unique_ptr<jcm::Subscriber>> subs[2];
  for (int mode = 0; mode < 2; ++mode) {
    for (int k = 0; k < f.subscribers; ++k) {
      jcm::SubscriberOptions o;
      o.servers = servers;
      // Different first servers, so subscribers spread over the instances.
      std::rotate(o.servers.begin(), o.servers.begin() + (k % o.servers.size()), o.servers.end());
      o.clusters = {name};
      o.poll_interval = milliseconds(f.poll_ms);
      if (mode == 1) o.long_poll_wait = milliseconds(f.long_poll_ms);
      auto created = jcm::Subscriber::Create(o);
      if (!created.ok()) {
        std::fprintf(stderr, "subscriber: %s\n", created.status().ToString().c_str());
        return 1;
      }
      subs[mode].push_back(std::move(created).value());
      subs[mode].back()->Start();
      // Spread plain pollers over the poll cycle.
      std::this_thread::sleep_for(milliseconds(f.poll_ms / f.subscribers / 2));
    }
  }
  auto all_usable = [&](const std::string& ip, bool want) {
    for (auto& group : subs) {
      for (auto& s : group) {
        if (Usable(*s, name, ip) != want) return false;
      }
    }
    return true;
  };

  std::mt19937 rng(20261122);
  std::vector<double> first[2], last[2];
  int failed_trials = 0;
  for (int trial = 0; trial < f.trials; ++trial) {
    const size_t ti = static_cast<size_t>(trial % 4);
    const std::string& host = hosts[ti];
    if (!jcm::testing::WaitUntil([&] { return all_usable(host, true); }, milliseconds(20000))) {
      std::fprintf(stderr, "trial %d: %s never usable everywhere\n", trial, host.c_str());
      ++failed_trials;
      continue;
    }
    std::this_thread::sleep_for(
        milliseconds(std::uniform_int_distribution<int>(0, f.interval_ms)(rng)));
    Clock::time_point stopped = Clock::now();
    stop_target(ti);
    double seen[2][64];
    int pending = 2 * f.subscribers;
    std::vector<bool> done(static_cast<size_t>(pending), false);
    while (pending > 0 && Clock::now() - stopped < milliseconds(20000)) {
      for (int mode = 0; mode < 2; ++mode) {
        for (int k = 0; k < f.subscribers; ++k) {
          size_t slot = static_cast<size_t>(mode * f.subscribers + k);
          if (done[slot]) continue;
          if (!Usable(*subs[mode][static_cast<size_t>(k)], name, host)) {
            done[slot] = true;
            --pending;
            seen[mode][k] =
                std::chrono::duration<double, std::milli>(Clock::now() - stopped).count();
          }
        }
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
    if (pending > 0) {
      std::fprintf(stderr, "trial %d: %d subscribers still pick %s after 20 s\n", trial, pending,
                   host.c_str());
      ++failed_trials;
    } else {
      for (int mode = 0; mode < 2; ++mode) {
        double* b = seen[mode];
        first[mode].push_back(*std::min_element(b, b + f.subscribers));
        last[mode].push_back(*std::max_element(b, b + f.subscribers));
      }
      std::fprintf(stderr,
                   "trial %d: plain first %.0f last %.0f ms; long poll first %.0f last %.0f ms\n",
                   trial, first[0].back(), last[0].back(), first[1].back(), last[1].back());
    }
    if (!start_target(ti)) {
      std::fprintf(stderr, "target %s did not restart\n", host.c_str());
      return 1;
    }
  }
  double load1 = 0;
  if (FILE* la = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(la, "%lf", &load1) != 1) load1 = 0;
    std::fclose(la);
  }
  const char* mode_name[2] = {"plain", "longpoll"};
  for (int mode = 0; mode < 2; ++mode) {
    std::printf(
        "mode=%s trials=%zu failed_trials=%d subscribers=%d instances=%d interval_ms=%d fall=%d "
        "fastinter_ms=%d target=%s poll_ms=%d first_p50_ms=%.0f first_p99_ms=%.0f "
        "first_max_ms=%.0f "
        "last_p50_ms=%.0f "
        "last_p99_ms=%.0f loadavg1=%.2f\n",
        mode_name[mode], first[mode].size(), failed_trials, f.subscribers, f.instances,
        f.interval_ms, f.fall, f.fastinter_ms, f.httplib_target ? "httplib" : "loopback", f.poll_ms,
        Percentile(first[mode], 0.5), Percentile(first[mode], 0.99),
        first[mode].empty() ? 0 : *std::max_element(first[mode].begin(), first[mode].end()),
        Percentile(last[mode], 0.5), Percentile(last[mode], 0.99), load1);
  }
  for (auto& group : subs) {
    for (auto& s : group) s->Stop();
  }
  for (auto& t : httplib_targets) t->Stop();
  return failed_trials == 0 ? 0 : 1;
}
