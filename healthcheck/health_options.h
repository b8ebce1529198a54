// HealthOptions: server-wide defaults of the health checker. A cluster's own
// intervalMs/timeoutMs/rise/fall (CheckSettings, 0 = unset) override them.
//
// Thread-safety: a plain value, copied into the HealthChecker at construction.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "healthcheck/local_health.h"
#include "model/cluster.h"

namespace jcm {

// Which client makes the HTTP checks: NativeHttpProber (built in, one send
// and one recv per check on a persistent connection) or HttpProber
// (libcurl multi; kept for comparison and as a fallback).
enum class HttpProberKind { kNative, kCurl };

// "native" | "curl". Returns false (and leaves *out) on anything else.
inline bool ParseHttpProberKind(std::string_view text, HttpProberKind* out) {
  if (text == "native") {
    *out = HttpProberKind::kNative;
  } else if (text == "curl") {
    *out = HttpProberKind::kCurl;
  } else {
    return false;
  }
  return true;
}

inline const char* ToString(HttpProberKind kind) {
  return kind == HttpProberKind::kNative ? "native" : "curl";
}

struct HealthOptions {
  // Member id of this instance; goes into every StatusReport as the owner.
  std::string owner_id;
  int interval_ms = 1000;  // --health-interval-ms
  // Per-check timeout; 0 = 80% of the cluster's interval. Whatever is set, a
  // check's timeout is clamped to 90% of its interval so that a node's check
  // has always finished before its next one is due.
  int timeout_ms = 0;
  int rise = 1;
  int fall = 2;
  // --health-fastinter-ms: after a failed check of a node that is not down
  // (or a good check of one that is rising), check it again this soon
  // instead of a whole interval later, until it reaches fall (or rise).
  // 0: a quarter of the cluster's interval. At least 100 ms; a cluster's
  // fastInterMs overrides it; at or above the interval it is off.
  int fastinter_ms = 0;
  // --health-fastinter-max-per-sec: extra (fast) checks this instance starts
  // per second at most, so a mass failure cannot become a check storm. Past
  // it nodes wait for their ordinary check. 0 turns fast re-checks off.
  int fastinter_max_per_sec = 1000;
  // --http-prober. Native is the default: it passes every test the curl
  // prober passes, and costs a fraction of its CPU per check (see
  // bench/healthcheck/RESULTS.md).
  HttpProberKind http_prober = HttpProberKind::kNative;
  // curl prober only. libcurl walks its DNS and connection caches per multi handle after each
  // transfer; spreading targets over many multi handles keeps those walks
  // short (measured: one multi collapses at ~20,000 targets).
  int multi_handles = 64;
  // Keep-alive connections held at most. -1: RLIMIT_NOFILE (soft) minus
  // fd_reserve. Nodes past the budget are checked with a new connection per
  // check (CURLOPT_FRESH_CONNECT + CURLOPT_FORBID_REUSE).
  int max_keepalive = -1;
  // Descriptors left for everything else in the process (API, ZooKeeper,
  // short checks in flight). -1: max(512, RLIMIT_NOFILE / 10).
  int fd_reserve = -1;
  // A check started later than this after its due time makes its round
  // late. 0: max(50 ms, interval / 10).
  int late_tolerance_ms = 0;
  // --health-max-down-share: at most this share of a cluster's checked nodes
  // (at least one) may go from NORMAL to down within one interval on this
  // instance's word; a node past it stays NORMAL ("held", in the transition
  // history and health.downsHeld) and is re-checked, and goes down once the
  // window has room. 1 = no cap.
  double max_down_share = 1.0;
  // --check-source-ip: the local address every check connects from (HTTP
  // and TCP, both HTTP probers); empty: the kernel picks. Multi-homed hosts
  // choose the path with it; an IPv4 source is not used for IPv6 nodes.
  std::string source_ip;
  // --second-opinions: before a NORMAL node is published down, this many
  // other instances (the next distinct members after the owner on the hash
  // ring) are asked to probe it once; if any reaches it, it stays NORMAL and
  // is marked suspect. 0: off (unless the instance doubts itself, see
  // LocalHealth). A cluster's secondOpinions overrides it. Takes effect only
  // with an OpinionSource (HealthChecker::SetOpinionSource).
  int second_opinions = 2;
  // Peers' verdicts are awaited for the check timeout plus this; none by
  // then counts as "none reached it".
  int opinion_grace_ms = 500;
  // LocalHealth thresholds (Lifeguard). While degraded, check timeouts are
  // doubled (at most 90% of the interval) and every down verdict asks for
  // at least kDegradedOpinions second opinions.
  LocalHealthOptions local_health;
  // JCM's /sys/nscache: true = write a cluster's statuses only when they
  // changed since this instance's last write.
  bool write_cache = true;
  // Called with each check's type and seconds from its start to its
  // verdict (voided checks excepted), on a checker thread: it must be
  // cheap, thread-safe and do no I/O (jcm-server observes a histogram).
  // Empty: checks are not timed.
  std::function<void(CheckType type, double seconds)> on_check_done;
};

}  // namespace jcm
