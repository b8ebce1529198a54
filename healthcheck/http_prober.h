// HttpProber: HTTP GET checks on libcurl's multi interface, driven by the
// checker's Poller (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION), so
// thousands of checks share one thread and a slow node costs only a timer.
//
// What measurement on this machine asked for (see shared/measured.md):
//  - CURLOPT_DNS_CACHE_TIMEOUT 0: targets are IP literals, and a cache entry
//    per IP made libcurl walk ~20,000 entries after every transfer;
//  - targets spread over `multi_handles` multi handles (target id modulo),
//    each with its own, short, connection cache;
//  - one easy handle per target, kept between checks, so each check reuses
//    the node's keep-alive connection. CURLMOPT_MAXCONNECTS of each multi is
//    its number of keep-alive targets, so idle connections are not evicted.
//    Targets marked short close their connection after each check.
//
// Outcome of a check: a response with an accepted code (any 2xx, or the
// cluster's okCodes) is a success; any other response, a refused or reset
// connection, or a malformed answer is a bad answer (ABNORMAL); no complete
// answer within the timeout is no answer (TIMEOUT).
//
// Thread-safety: owned by the checker thread; not thread-safe.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "healthcheck/clock.h"
#include "healthcheck/poller.h"
#include "healthcheck/prober.h"

namespace jcm {

class HttpProber : public Prober, public FdHandler {
 public:
  // Call curl_global_init before the first HttpProber (HealthChecker does).
  HttpProber(Poller* poller, ProbeListener* listener, int multi_handles, const Clock* clock);
  ~HttpProber() override;

  // Targets added from then on connect from `ip` (CURLOPT_INTERFACE).
  void SetSourceIp(const std::string& ip) { source_ip_ = ip; }

  void AddTarget(uint32_t target, const ProbeTarget& spec) override;
  void RemoveTarget(uint32_t target) override;
  void Start(uint32_t target) override;
  void OnFdEvent(int fd, uint32_t events) override;

  // Runs the curl timers that are due; returns nothing, results go to the
  // listener.
  void RunTimers(int64_t now_ms) override;
  // Monotonic ms of the earliest curl timer, INT64_MAX if none.
  int64_t NextTimerMs() const override;

 private:
  struct Multi;
  struct Target;
  static int SocketCallback(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int TimerCallback(CURLM* multi, long timeout_ms, void* userp);
  void Drain(Multi* m);

  Poller* poller_;
  std::string source_ip_;
  ProbeListener* listener_;
  const Clock* clock_;
  std::vector<std::unique_ptr<Multi>> multis_;
  std::vector<std::unique_ptr<Target>> targets_;  // indexed by target id
  std::vector<Multi*> fd_multi_;                  // which multi owns a socket
};

}  // namespace jcm
