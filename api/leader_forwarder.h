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
// Node additions and removals (POST / DELETE /c/node/{name}) for the same
// cluster from the same caller (Authorization) are merged: while one such
// forward is in flight, the ones arriving queue, and the next request to
// the leader carries all of their nodes (or specs) in one array, or, when
// both kinds queued, all of them in one POST /c/nodes/{name} {"remove",
// "add"} (removals first: the queued writes were concurrent, so that order
// is one they could have had). One lane for both kinds: with a lane each,
// the leader wrote their requests in turn, each batch waiting for the
// other's ZooKeeper write. The leader applies it as one write; every caller
// gets its ack and waits for read-your-writes as alone. If the leader refuses the merged request
// with a 4xx, nothing was applied, and each write is sent again on its own, so each caller gets the
// answer it would have had (one caller's invalid node never fails another's). A failure without an
// answer (5xx, a lost connection) is every merged caller's, as its outcome is unknown to each.
// After a send that had company, the lane's next send waits up to the last
// round trip (at most merge_linger) for more writes to join, or until as
// many wait as that send carried.
// Why: every forwarded write was an HTTP exchange with the leader, the
// largest cost of a registration through a follower (bench/zk/RESULTS.md).
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
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
  // Merge concurrent node additions / removals of one cluster (above).
  bool merge_node_writes = true;
  // After a merged send that had company, the next send of its lane waits
  // up to the last round trip, at most this, for more writes (0: never).
  std::chrono::milliseconds merge_linger{5};
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
  struct Waiter;
  // What one request to the leader got: its reply, or why there is none.
  struct Sent {
    std::optional<HttpReply> reply;
    bool not_leader = false;  // the reply carries kNotLeaderHeader
    ForwardFailure why = ForwardFailure::kNone;
    std::string error;  // without a reply
    // The reply's ack, parsed once for every caller of a merged send
    // (null: parse the reply).
    std::shared_ptr<const WriteAck> ack;
  };
  // Writes waiting to be sent together, and whether a send is in flight.
  struct Lane {
    std::deque<Waiter*> queue;
    bool sending = false;
    int users = 0;  // writes in the lane (queued or being answered)
    // The last send: whether it had company, when it ended, how long it took.
    bool busy = false;
    std::chrono::steady_clock::time_point last_done;
    std::chrono::steady_clock::duration last_round_trip{0};
    size_t last_group = 0;  // writes the last send carried
    // The sender gathering writes for its send waits here; a write joining
    // the queue wakes it (only it: the lane's other writes wait for their
    // answer on lanes_cv_).
    bool gathering = false;
    std::condition_variable gather_cv;
  };
  static constexpr size_t kMaxMergedWrites = 256;
  static constexpr size_t kMaxMergedBytes = 256 * 1024;
  // Idle lanes are kept (for the timing of their next send) up to this many.
  static constexpr size_t kMaxLanes = 1024;

  // Sends `request` with `body` (its own, or several writes' merged).
  Sent Send(const std::string& address, const ForwardRequest& request,
            const std::string& body) const;
  bool Mergeable(const ForwardRequest& request) const;
  // The write ack in a leader's 2xx reply, or null.
  static std::shared_ptr<const WriteAck> ParseAck(const std::string& body);
  // Sends `request` in its lane's next request to the leader.
  Sent SendMerged(const std::string& address, const ForwardRequest& request) const;
  // Sends `group` (writes of one lane, like `like`) as one request, or
  // marks them to go alone.
  void SendGroup(const std::string& address, const ForwardRequest& like,
                 const std::vector<Waiter*>& group) const;

  const LeaderForwarderOptions options_;
  const NameService* const names_;
  ApiCounters* const counters_;
  std::unique_ptr<ClientPool> pool_;
  mutable std::mutex lanes_mu_;
  mutable std::condition_variable lanes_cv_;
  // By leader address, target and Authorization.
  mutable std::map<std::string, Lane> lanes_;  // GUARDED_BY(lanes_mu_)
};

}  // namespace jcm
