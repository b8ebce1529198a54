// Drives a HealthChecker directly (no ZooKeeper) over N HTTP nodes on
// distinct 127.x.y.z addresses, all served by one nginx listening on the
// wildcard address, and prints one JSON line: checks per second, rounds on
// time, CPU-seconds per 10,000 checks (getrusage of this process, split into
// user and system time).
//
//   jcm-bench-healthcheck --nodes 18000 --port 18080 [--seconds 20]
//       [--warmup 3] [--per-cluster 100] [--interval 1000] [--multis 64]
//       [--max-keepalive -1] [--prober native|curl]
//       [--flapping 0 --flap-port P] [--fastinter-max-per-sec 1000]
//
// --flapping N points the first N nodes at --flap-port instead (a target
// that fails a share of its checks), so that nodes keep changing state and
// fast re-checks (fastinter) happen; --fastinter-max-per-sec 0 turns them
// off, to compare (bench/healthcheck/extra_checks.sh).
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "healthcheck/health_checker.h"

namespace {

class CountingSink : public jcm::StatusSink {
 public:
  jcm::Status WriteStatuses(const jcm::StatusReport& report) override {
    writes.fetch_add(1);
    size_t normal = 0;
    for (const auto& [spec, s] : report.nodes) normal += s.status == jcm::NodeStatus::kNormal;
    last_normal_total.fetch_add(static_cast<int64_t>(normal) - last_normal[report.cluster]);
    last_normal[report.cluster] = static_cast<int64_t>(normal);
    return jcm::Status::Ok();
  }
  std::atomic<uint64_t> writes{0};
  std::atomic<int64_t> last_normal_total{0};
  // Only touched from the checker thread.
  std::unordered_map<std::string, int64_t> last_normal;
};

// The i-th usable loopback address past 127.1.0.0, skipping .0 and .255.
std::string NodeIp(int i) {
  const int per_c = 254;
  const int c = i / per_c;
  return "127." + std::to_string(1 + c / 256) + "." + std::to_string(c % 256) + "." +
         std::to_string(i % per_c + 1);
}

double CpuSeconds(double* user, double* sys) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  *user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
  *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return *user + *sys;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 10000, port = 18080, seconds = 20, warmup = 3, per_cluster = 100, interval = 1000;
  int multis = 64, max_keepalive = -1;
  int flapping = 0, flap_port = 0, fast_cap = 1000;
  jcm::HttpProberKind prober = jcm::HttpProberKind::kNative;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--prober") {
      if (!jcm::ParseHttpProberKind(argv[i + 1], &prober)) {
        std::fprintf(stderr, "--prober: '%s' is not native or curl\n", argv[i + 1]);
        return 2;
      }
    } else if (k == "--nodes")
      nodes = v;
    else if (k == "--port")
      port = v;
    else if (k == "--seconds")
      seconds = v;
    else if (k == "--warmup")
      warmup = v;
    else if (k == "--per-cluster")
      per_cluster = v;
    else if (k == "--interval")
      interval = v;
    else if (k == "--multis")
      multis = v;
    else if (k == "--max-keepalive")
      max_keepalive = v;
    else if (k == "--flapping")
      flapping = v;
    else if (k == "--flap-port")
      flap_port = v;
    else if (k == "--fastinter-max-per-sec")
      fast_cap = v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  const int fd_limit = jcm::RaiseFileLimit();

  std::vector<std::shared_ptr<const jcm::Cluster>> clusters;
  for (int first = 0; first < nodes; first += per_cluster) {
    auto c = std::make_shared<jcm::Cluster>();
    c->name = "bench-" + std::to_string(first / per_cluster);
    c->check_file = "/health";
    for (int i = first; i < std::min(nodes, first + per_cluster); ++i) {
      jcm::Node n;
      n.ip = NodeIp(i);
      n.protos = {{static_cast<uint16_t>(i < flapping ? flap_port : port), jcm::Proto::kHttp}};
      c->nodes.push_back(std::move(n));
    }
    clusters.push_back(std::move(c));
  }

  jcm::HealthOptions o;
  o.owner_id = "bench";
  o.interval_ms = interval;
  o.multi_handles = multis;
  o.max_keepalive = max_keepalive;
  o.http_prober = prober;
  o.fastinter_max_per_sec = fast_cap;
  CountingSink sink;
  jcm::HealthChecker checker(o, &sink);
  if (jcm::Status s = checker.Start(); !s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.ToString().c_str());
    return 1;
  }
  checker.SetClusters(clusters);
  std::this_thread::sleep_for(std::chrono::seconds(warmup));

  const jcm::HealthCounters& c = checker.counters();
  auto done = [&] { return c.successes.load() + c.failures.load() + c.timeouts.load(); };
  double u0, s0, u1, s1;
  const double cpu0 = CpuSeconds(&u0, &s0);
  const uint64_t checks0 = done(), rounds0 = c.rounds.load(), late0 = c.late_rounds.load();
  const uint64_t ok0 = c.successes.load(), fail0 = c.failures.load(), to0 = c.timeouts.load();
  const uint64_t fast0 = c.fast_checks.load(), capped0 = c.fast_capped.load();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double cpu1 = CpuSeconds(&u1, &s1);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t checks = done() - checks0;
  const uint64_t rounds = c.rounds.load() - rounds0;
  const uint64_t late = c.late_rounds.load() - late0;
  nlohmann::json out = {
      {"prober", jcm::ToString(prober)},
      {"nodes", nodes},
      {"clusters", clusters.size()},
      {"seconds", wall},
      {"fdLimit", fd_limit},
      {"keepaliveBudget", checker.keepalive_budget()},
      {"keepaliveTargets", c.keepalive_targets.load()},
      {"shortTargets", c.short_targets.load()},
      {"checks", checks},
      {"checksPerSec", checks / wall},
      {"successes", c.successes.load() - ok0},
      {"failures", c.failures.load() - fail0},
      {"timeouts", c.timeouts.load() - to0},
      {"rounds", rounds},
      {"lateRounds", late},
      {"roundsOnTimePct", rounds ? 100.0 * (rounds - std::min(rounds, late)) / rounds : 0.0},
      {"cpuSeconds", cpu1 - cpu0},
      {"cpuUser", u1 - u0},
      {"cpuSys", s1 - s0},
      {"cpuPer10k", checks ? (cpu1 - cpu0) / checks * 10000 : 0.0},
      {"fastChecks", c.fast_checks.load() - fast0},
      {"fastCapped", c.fast_capped.load() - capped0},
      {"flapping", flapping},
      {"statusWrites", c.status_writes.load()},
      {"writesSkipped", c.writes_skipped.load()},
      {"normalAtEnd", sink.last_normal_total.load()},
  };
  checker.Stop();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
