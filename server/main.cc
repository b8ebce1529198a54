// jcm-server: wires ZooKeeper-backed storage, health checking and the HTTP API
// together, and shuts them down in the right order on SIGTERM/SIGINT.
#include <signal.h>

#include <cstdio>
#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/api_server.h"
#include "healthcheck/health_checker.h"
#include "server/cluster_service.h"
#include "server/health_coordinator.h"
#include "server/server_config.h"

namespace {

void SetupLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("jcm");
  // One line per event: time, level, then key=value fields.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z level=%l %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

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

  // Signals are taken by sigwait() below; block them before any thread starts
  // so no other thread is interrupted by them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  jcm::ClusterService::Options service_options;
  service_options.zk_hosts = config.zk;
  service_options.zk_root = config.zk_root;
  service_options.self_address = config.advertise;
  service_options.session_timeout_ms = config.session_timeout_ms;
  service_options.panic_share = config.panic_share;
  auto service = std::make_unique<jcm::ClusterService>(service_options);

  // Each keep-alive check connection is a descriptor; take all the system
  // allows (the checker budgets against the soft limit).
  int nofile = jcm::RaiseFileLimit();
  jcm::HealthOptions health_options;
  health_options.owner_id = config.advertise;
  health_options.interval_ms = config.health_interval_ms;
  health_options.rise = config.health_rise;
  health_options.fall = config.health_fall;
  health_options.fastinter_ms = config.health_fastinter_ms;
  health_options.fastinter_max_per_sec = config.health_fastinter_max_per_sec;
  health_options.source_ip = config.check_source_ip;
  health_options.max_down_share = config.health_max_down_share;
  jcm::ParseHttpProberKind(config.http_prober, &health_options.http_prober);  // checked by CLI
  auto health = std::make_unique<jcm::HealthCoordinator>(service.get(), health_options);
  health->Attach();

  jcm::ApiOptions api_options;
  api_options.host = config.listen_host();
  api_options.port = config.listen_port();
  api_options.self_address = config.advertise;
  api_options.worker_threads = config.http_threads;
  auto api = std::make_unique<jcm::ApiServer>(api_options, service.get());

  s = api->Start();
  if (!s.ok()) {
    spdlog::critical("event=listen_failed address={} error=\"{}\"", config.listen, s.ToString());
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
      "event=started listen={} advertise={} zk={} root={} session_timeout_ms={} "
      "health_interval_ms={} nofile={}",
      config.listen, config.advertise, config.zk, config.zk_root, config.session_timeout_ms,
      config.health_interval_ms, nofile);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("event=stopping signal={}", sig);
  // Leave the election first so a successor takes over at once, then stop
  // serving, then close the session.
  service->Shutdown();
  health->Stop();
  api->Stop();
  health.reset();
  service.reset();
  spdlog::info("event=stopped");
  return 0;
}
