// LeaderForwarder: sends a write that this instance cannot apply to the
// leader, and makes the leader's answer safe to act on here.
//
// Rule: a route first calls the NameService mutation; only when that returns
// Status::NotLeader is the request forwarded. The mutation is the authority
// (Leader() is a snapshot that may already be stale), and a forwarded request
// is validated twice, once on each side, which costs microseconds.
//
// - A request that already carries X-Jcm-Forwarded is never forwarded again:
//   it answers 503 "not the leader; leadership moved, retry". With two
//   instances that each believe the other leads, a request would otherwise
//   bounce between them.
// - No leader known: 503 "no leader elected". Leader unreachable: 503 naming
//   its address.
// - On the leader's 2xx, the acknowledged {name, version|deleted} is awaited
//   locally (NameService::WaitUntilApplied) so that a read on this instance
//   right after the reply shows the write (read-your-writes). If the wait
//   times out, the leader's reply is still returned (the write happened) and
//   the timeout is counted and logged.
// - The leader's status and body are returned unchanged.
//
// One short-lived httplib::Client per forward: writes are operator-rate, and
// a fresh connection never meets a keep-alive socket the leader closed.
//
// Thread-safety: Forward() may be called from any number of threads at once;
// the forwarder holds no mutable state besides the shared atomic counters.
#pragma once

#include <chrono>
#include <string>

#include "api/api_counters.h"
#include "api/http_reply.h"
#include "api/name_service.h"
#include "model/status.h"

namespace jcm {

inline constexpr char kForwardedHeader[] = "X-Jcm-Forwarded";

struct ForwardRequest {
  std::string method;  // "POST" or "DELETE"
  std::string target;  // path and query exactly as received
  std::string body;
  std::string forwarded_by;  // the incoming X-Jcm-Forwarded value; empty if none
};

struct LeaderForwarderOptions {
  // Sent as X-Jcm-Forwarded, so the leader's logs show who forwarded.
  std::string self_address;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds read_timeout{10000};
  // Bound on the read-your-writes wait after the leader's 2xx.
  std::chrono::milliseconds apply_timeout{10000};
};

class LeaderForwarder {
 public:
  // `names` and `counters` must outlive the forwarder.
  LeaderForwarder(LeaderForwarderOptions options, const NameService* names, ApiCounters* counters);

  // Forwards a write whose local mutation returned NotLeader. Returns the
  // leader's reply, or the Status explaining why there is none.
  Result<HttpReply> Forward(const ForwardRequest& request) const;

 private:
  const LeaderForwarderOptions options_;
  const NameService* const names_;
  ApiCounters* const counters_;
};

}  // namespace jcm
