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
// The leader's address is what it advertises: "host:port" (plain HTTP), or
// "https://host:port", which is spoken over TLS with the leader's
// certificate verified against ca_file (the system's store if empty) and
// its name or IP matched against the address. A certificate that does not
// verify means the request was never sent.
//
// Connections to the leader are kept alive in a small pool (at most
// max_idle_connections idle, each idle for at most max_idle_time, which is
// kept well under the leader's keep-alive idle timeout so the pool does not
// hand out a socket the leader is closing). A forward whose connection fails
// is not sent again: its outcome is unknown and a write is not idempotent.
//
// Thread-safety: Forward() may be called from any number of threads at once
// (it blocks; callers run it on a worker pool). The pool has its own mutex.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/api_counters.h"
#include "api/http_reply.h"
#include "api/metrics_histogram.h"
#include "api/name_service.h"
#include "model/status.h"

namespace jcm {

inline constexpr char kForwardedHeader[] = "X-Jcm-Forwarded";
// Set on a write sent again after an attempt whose outcome is unknown: the
// leader then treats "already done" as done (a spec to remove that is gone,
// a cluster to delete that is gone), so the second send cannot fail or act
// twice. Every other mutation is idempotent as it is.
inline constexpr char kRetryHeader[] = "X-Jcm-Retry";

// On a 503 from an instance that received a forwarded write but does not
// lead: nothing was applied there.
inline constexpr char kNotLeaderHeader[] = "X-Jcm-Not-Leader";

// Why a forward got no answer from the leader, which decides whether the
// write may wait for a leader and be sent again.
enum class ForwardFailure {
  kNone,            // the leader answered (any status); nothing to retry
  kNoLeader,        // none elected or known: nothing was sent
  kNotSent,         // could not connect: the leader never saw it
  kLeaderMoved,     // the addressee said it is not the leader: not applied
  kOutcomeUnknown,  // the connection failed after the request went out
  kFinal,           // a refusal that waiting cannot change
};

struct ForwardRequest {
  std::string method;  // "POST" or "DELETE"
  std::string target;  // path and query exactly as received
  std::string body;
  std::string forwarded_by;   // the incoming X-Jcm-Forwarded value; empty if none
  std::string authorization;  // the caller's Authorization header, sent on unchanged
  bool retry = false;         // sent with kRetryHeader
};

struct LeaderForwarderOptions {
  // Sent as X-Jcm-Forwarded, so the leader's logs show who forwarded.
  std::string self_address;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds read_timeout{10000};
  // Bound on the read-your-writes wait after the leader's 2xx.
  std::chrono::milliseconds apply_timeout{10000};
  // CA certificates (PEM) for https:// leaders; empty: the system's store.
  std::string ca_file;
  size_t max_idle_connections = 16;
  std::chrono::milliseconds max_idle_time{20000};
  // Observes each round trip to the leader (sent to answered or failed);
  // null: none. Must outlive the forwarder.
  MetricHistogram* round_trip_seconds = nullptr;
};

class LeaderForwarder {
 public:
  // `names` and `counters` must outlive the forwarder.
  LeaderForwarder(LeaderForwarderOptions options, const NameService* names, ApiCounters* counters);
  ~LeaderForwarder();

  // Forwards a write whose local mutation returned NotLeader. Returns the
  // leader's reply, or the Status explaining why there is none, with the
  // kind of failure in *why (kNone when the leader answered).
  Result<HttpReply> Forward(const ForwardRequest& request, ForwardFailure* why) const;

 private:
  class ClientPool;

  const LeaderForwarderOptions options_;
  const NameService* const names_;
  ApiCounters* const counters_;
  std::unique_ptr<ClientPool> pool_;
};

}  // namespace jcm
