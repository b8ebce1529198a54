// jcm-server: wires ZooKeeper-backed storage, health checking and the HTTP API
// together, and shuts them down in the right order on SIGTERM/SIGINT.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/api_server.h"
#include "api/metrics_api.h"
#include "healthcheck/health_checker.h"
#include "server/cluster_service.h"
#include "server/file_budget.h"
#include "server/health_coordinator.h"
#include "server/malloc_tuning.h"
#include "server/server_config.h"
#include "storage/zk_auth_file.h"

namespace {

void SetupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("jcm");
  // One line per event: time, level, then key=value fields.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z level=%l %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

// Set when the service finds it must not run; main() then exits with it.
std::atomic<int> g_fatal_exit{0};

}  // namespace

int main(int argc, char** argv) {
  jcm::ServerConfig config;
  bool exit_now = false;
  int exit_code = 0;
  jcm::Status s = jcm::ParseServerConfig(argc, argv, &config, &exit_now, &exit_code);
  if (exit_now) {
    if (!s.ok()) std::fprintf(stderr, "jcm-server: %s\n", s.message().c_str());
    return exit_code;
  }
  SetupLogging(config.log_level);
  jcm::TuneMallocForLargeClusters();

  // Signals are taken by sigwait() below; block them before any thread starts
  // so no other thread is interrupted by them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The latency histograms of GET /metrics; the checker and the writer
  // observe into them through plain callbacks (no dependency on api/).
  // Declared first: it outlives everything that observes into it.
  jcm::ApiMetrics metrics;

  std::string zk_auth;
  if (!config.zk_auth_file.empty()) {
    jcm::Result<std::string> auth = jcm::ReadZkAuthFile(config.zk_auth_file);
    if (!auth.ok()) {
      std::fprintf(stderr, "jcm-server: %s\n", auth.status().message().c_str());
      return 2;
    }
    zk_auth = std::move(auth).value();
  }
  jcm::Result<jcm::CheckTargetPolicy> policy =
      jcm::CheckTargetPolicy::Create(config.check_allow, config.check_deny);
  if (!policy.ok()) {
    std::fprintf(stderr, "jcm-server: %s\n", policy.status().message().c_str());
    return 2;
  }

  jcm::ClusterService::Options service_options;
  service_options.zk_hosts = config.zk;
  service_options.zk_root = config.zk_root;
  service_options.self_address = config.advertise;
  service_options.session_timeout_ms = config.session_timeout_ms;
  service_options.panic_share = config.panic_share;
  service_options.zk_auth = std::move(zk_auth);
  service_options.zk_world_read = config.zk_world_read;
  service_options.check_policy =
      std::make_shared<const jcm::CheckTargetPolicy>(std::move(policy).value());
  service_options.max_clusters = static_cast<size_t>(config.max_clusters);
  service_options.max_nodes = static_cast<size_t>(config.max_nodes);
  auto service = std::make_unique<jcm::ClusterService>(service_options);
  service->writer()->SetStoreObserver(
      [h = &metrics.write_batch_seconds()](double seconds) { h->Observe(seconds); });
  service->SetFatalHandler([](const jcm::Status& why) {
    std::fprintf(stderr, "jcm-server: refusing to run: %s\n", why.message().c_str());
    g_fatal_exit = 2;
    kill(getpid(), SIGTERM);  // taken by sigwait() below: a normal, ordered stop
  });

  // Client connections and keep-alive check connections are descriptors;
  // take all the system allows and split it (server/file_budget.h).
  int nofile = jcm::RaiseFileLimit();
  jcm::FileBudget budget = jcm::SplitFileBudget(static_cast<size_t>(nofile),
                                                static_cast<size_t>(config.max_connections));
  jcm::HealthOptions health_options;
  health_options.owner_id = config.advertise;
  health_options.interval_ms = config.health_interval_ms;
  health_options.rise = config.health_rise;
  health_options.fall = config.health_fall;
  health_options.max_keepalive = static_cast<int>(budget.checker_keepalive);
  health_options.fastinter_ms = config.health_fastinter_ms;
  health_options.fastinter_max_per_sec = config.health_fastinter_max_per_sec;
  health_options.source_ip = config.check_source_ip;
  health_options.max_down_share = config.health_max_down_share;
  health_options.second_opinions = config.second_opinions;
  jcm::ParseHttpProberKind(config.http_prober, &health_options.http_prober);  // checked by CLI
  health_options.on_check_done = [m = &metrics](jcm::CheckType type, double seconds) {
    m->check_seconds(type).Observe(seconds);
  };
  auto health = std::make_unique<jcm::HealthCoordinator>(service.get(), health_options);
  health->Attach();
  health->SetPeerTokensFile(config.tokens_file);
  health->SetPeerCaFile(config.tls_ca);

  jcm::ApiOptions api_options;
  api_options.host = config.listen_host();
  api_options.port = config.listen_port();
  api_options.self_address = config.advertise;
  api_options.worker_threads = config.http_threads;
  api_options.io_threads = config.http_io_threads;
  api_options.max_connections = budget.api_connections;
  api_options.max_parked_long_polls = static_cast<size_t>(config.max_long_polls);
  api_options.sub_max_units = static_cast<size_t>(config.sub_max_units);
  api_options.idle_timeout = std::chrono::milliseconds(config.http_idle_timeout_ms);
  api_options.request_deadline = std::chrono::milliseconds(config.http_request_deadline_ms);
  api_options.tokens_file = config.tokens_file;
  api_options.tls_cert_file = config.tls_cert;
  api_options.tls_key_file = config.tls_key;
  api_options.tls_host = config.tls_listen_host();
  api_options.tls_port = config.tls_listen_port();
  api_options.tls_ca_file = config.tls_ca;
  api_options.metrics = &metrics;
  // Long enough for a dead leader's session to expire and a successor to
  // be elected (Consul's rpc_hold_timeout plays the same part).
  api_options.write_hold = std::chrono::milliseconds(
      config.write_hold_ms > 0 ? config.write_hold_ms : config.session_timeout_ms + 2000);
  api_options.zk_reconnect_hold = std::chrono::milliseconds(config.zk_reconnect_hold_ms);
  auto api = std::make_unique<jcm::ApiServer>(api_options, service.get());
  api->SetHistoryProvider([h = health.get()](const std::string& name) { return h->History(name); });
  api->SetPeerProbe([h = health.get()](std::vector<jcm::PeerProbe> probes, auto done) {
    h->ProbeForPeer(std::move(probes), std::move(done));
  });

  s = api->Start();
  if (!s.ok()) {
    spdlog::critical("event=api_start_failed address={} error=\"{}\"", config.listen, s.ToString());
    return 1;
  }
  s = service->Start();
  if (!s.ok()) {
    spdlog::critical("event=zookeeper_failed zk={} error=\"{}\"", config.zk, s.ToString());
    api->Stop();
    return 1;
  }
  s = health->Start();
  if (!s.ok()) {
    spdlog::critical("event=health_checker_failed error=\"{}\"", s.ToString());
    service->Shutdown();
    api->Stop();
    return 1;
  }
  spdlog::info(
      "event=started listen={} tls_listen={} advertise={} zk={} root={} session_timeout_ms={} "
      "health_interval_ms={} nofile={} api_connections={} checker_keepalive={}",
      config.listen, config.tls_listen.empty() ? "-" : config.tls_listen, config.advertise,
      config.zk, config.zk_root, config.session_timeout_ms, config.health_interval_ms, nofile,
      budget.api_connections, budget.checker_keepalive);

  int sig = 0;
  // SIGHUP re-reads the tokens file and the TLS certificate; SIGTERM/SIGINT
  // stop.
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    api->ReloadTokens();
    api->ReloadTls();
  }
  spdlog::info("event=stopping signal={}", sig);
  // Leave the election first so a successor takes over at once, then stop
  // serving, then close the session.
  service->Shutdown();
  health->Stop();
  api->Stop();
  health.reset();
  service.reset();
  spdlog::info("event=stopped exit_code={}", g_fatal_exit.load());
  return g_fatal_exit.load();
}
