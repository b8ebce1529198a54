// Poller: one /sub round trip at a time, and what follows from its answer.
//
// PollOnce() sends every subscribed cluster with the versions held (the
// extended form, docs/subscribe-protocol.md) to the next server in
// round-robin order. A server that fails (connect error, timeout, non-200,
// malformed reply) is skipped for an exponentially growing backoff and the
// next server is asked within the same poll, so one dead server costs one
// connect attempt, not a poll interval. When no server answers nothing is
// changed: the last good data stays.
//
// Replies and the cache file are hostile input: anything that is not a
// well-formed answer (bad JSON, 1e400, deep nesting, wrong types) is a
// failed server or a refused unit, never an exception; a barrier around
// each reply and around the cache turns any exception left into that too.
//
// Each answered unit becomes a new snapshot published to its slot:
// RESP_UPDATE replaces the cluster; RESP_DELTA applies the changed nodes to
// the version held (exactly the one it was made from); RESP_STATUS marks the listed specs
// unusable and every other node usable again; RESP_REMOVE empties the slot;
// RESP_NOCHANGE does nothing. After a change the disk cache is rewritten.
//
// Thread-safety: owned by one thread at a time (Start(), then the polling
// thread); stats() and Cancel() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "jcm/subscriber.h"
#include "subscriber/src/clock.h"
#include "subscriber/src/cluster_registry.h"
#include "subscriber/src/transport.h"

namespace jcm::internal {

class Poller {
 public:
  struct Outcome {
    bool answered = false;               // some server gave a valid reply
    bool changed = false;                // some slot got a new snapshot
    std::chrono::milliseconds delay{0};  // wait this long before the next poll
    std::vector<ClusterEvent> events;
  };

  // `registry`, `transport` and `clock` must outlive the Poller.
  Poller(const SubscriberOptions& options, ClusterRegistry* registry, Transport* transport,
         const Clock* clock);

  Outcome PollOnce();

  // Loads the disk cache into every subscribed slot that holds nothing.
  // Returns one kLoadedFromCache event per cluster loaded.
  std::vector<ClusterEvent> LoadCache();

  // The request body PollOnce() would send now.
  std::string BuildRequest() const;

  void Cancel() { transport_->Cancel(); }
  // A cluster was subscribed: end a long poll in flight so that the next
  // request (sent at once, to the same server) carries it.
  void Interrupt() { transport_->Interrupt(); }
  SubscriberStats stats() const;
  // An exception was stopped by a barrier (the poller's or its owner's).
  void CountException() { counters_.exceptions_caught.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct ServerState {
    std::string address;
    int failures = 0;
    int64_t retry_at_ms = 0;
  };
  struct Counters {
    std::atomic<uint64_t> polls{0}, poll_failures{0}, failovers{0}, all_servers_down{0}, updates{0},
        status_changes{0}, delta_updates{0}, removes{0}, bad_units{0}, cache_writes{0},
        cache_write_failures{0}, cache_loads{0}, exceptions_caught{0};
  };

  // Applies a reply. Returns InvalidArgument if the reply as a whole is not
  // a /sub answer (the server is then treated as failed); bad single units
  // are counted and skipped.
  Status ApplyReply(const std::string& body, Outcome* outcome);
  // ApplyReply behind a barrier: an exception counts as a malformed reply.
  Status ApplyReplyCaught(const std::string& body, Outcome* outcome);
  // Empties `slot` (the cluster is gone or OFFLINE) if it held anything.
  void PublishRemoved(ClusterSlot& slot, Outcome* outcome);
  // A new definition from a live answer: published, or removed if OFFLINE.
  void PublishDefinition(ClusterSlot& slot, std::shared_ptr<Cluster> cluster, Outcome* outcome);
  void MarkFailed(ServerState* server, int64_t now_ms);
  void WriteCache();
  // Publishes cached clusters into the slots that hold nothing.
  std::vector<ClusterEvent> PublishCached(std::vector<Cluster>* clusters);

  const SubscriberOptions options_;
  ClusterRegistry* const registry_;
  Transport* const transport_;
  const Clock* const clock_;
  std::vector<ServerState> servers_;
  size_t next_server_ = 0;
  Counters counters_;
};

}  // namespace jcm::internal
