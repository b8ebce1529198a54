// Subscriber: keeps an application's view of some jcm clusters up to date by
// polling jcm-server's /sub, and hands out Allocators that pick nodes.
//
//   jcm::SubscriberOptions options;
//   options.servers = {"10.0.0.1:8080", "10.0.0.2:8080"};
//   options.clusters = {"payments"};
//   options.cache_file = "/var/cache/myapp/jcm.json";
//   auto created = jcm::Subscriber::Create(options);
//   if (!created.ok()) { ... created.status().ToString() ... }
//   std::unique_ptr<jcm::Subscriber> sub = std::move(created).value();
//   sub->Start();  // first poll (or the disk cache), then background polling
//   jcm::Allocator alloc = sub->NewAllocator("payments", jcm::Policy::kWeightedRoundRobin);
//   jcm::Pick p = alloc.Pick(jcm::Protocol::kHttp);
//
// One background thread, owned by the Subscriber, polls one server at a time
// with every subscribed cluster and the versions it holds (the /sub extended
// form, docs/subscribe-protocol.md). A server that fails is skipped with
// exponential backoff and the next one is asked at once. When no server
// answers the last good data stays; it is never emptied. With a cache file,
// every change is written to disk atomically and, when no server answers at
// Start(), the cache is loaded; the first live answer replaces it.
//
// Thread-safety: all Subscriber methods are thread-safe; the structs here
// (options, info, events, stats) are plain values. Listeners run on the polling
// thread (or on the thread calling Start()), one at a time; they must not
// block for long and must not call Stop() or destroy the Subscriber.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jcm/allocator.h"
#include "jcm/endpoint.h"
#include "model/status.h"

namespace jcm {

namespace internal {
class SubscriberCore;
class Transport;
class Clock;
}  // namespace internal

struct SubscriberOptions {
  // jcm-server API addresses, "host:port" or "[v6]:port" (plain HTTP), or
  // "https://host:port" (TLS, verified against ca_file). Tried round-robin,
  // one per poll. Required.
  std::vector<std::string> servers;
  // Clusters to subscribe from the start; more can be added with Subscribe().
  std::vector<std::string> clusters;
  // Sent as the request's "tag": who is asking, for the server's logs.
  std::string tag = "libjcm-subscriber";

  // Pause between polls.
  std::chrono::milliseconds poll_interval{1000};
  // Long poll (on by default): each request asks the server to hold it up
  // to this long (at most 30 s) until something changes, so a node failure
  // reaches the client as soon as the server publishes it. A server that
  // answers an unchanged state sooner (it parks only so many long polls)
  // makes the client wait poll_interval before asking again. 0: plain
  // polling every poll_interval. The connection is kept alive between polls.
  std::chrono::milliseconds long_poll_wait{15000};
  // TCP connect timeout, and the reply timeout on top of long_poll_wait.
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds request_timeout{2000};
  // A failing server is skipped for backoff_initial, doubled per further
  // failure up to backoff_max; one success resets it.
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{16000};

  // Optional disk cache (JSON). Empty: none.
  std::string cache_file;

  // API token (jcm-server --tokens-file): sent as "Authorization: Bearer
  // <token>" with every poll. Needed only when the servers name a read
  // token; empty: none.
  std::string token;

  // CA certificates (PEM file) that an https:// server's certificate must
  // chain to; the certificate must also name the host or IP of the address.
  // Empty: the system's trust store. A server that fails verification is a
  // failed server (skipped with backoff), never trusted.
  std::string ca_file;
};

enum class NodeHealth : uint8_t { kInvalid, kNormal, kAbnormal, kTimeout };

struct NodeInfo {
  std::string ip;
  uint16_t http_port = 0;  // 0: no HTTP port
  uint16_t tcp_port = 0;   // 0: no TCP port
  std::string udata;
  bool online = true;
  int weight = 100;
  NodeHealth health = NodeHealth::kInvalid;
  // online && health == kNormal: what allocators pick outside panic.
  bool usable() const { return online && health == NodeHealth::kNormal; }
};

// A copy of what the subscriber holds for one cluster.
struct ClusterInfo {
  enum class Source : uint8_t {
    kNone,    // nothing yet, or the server said the cluster is gone
    kServer,  // from a live answer
    kCache,   // from the disk cache; no server has answered yet
  };
  std::string name;
  Source source = Source::kNone;
  int64_t version = 0;
  int64_t status_version = 0;
  bool panic = false;
  std::vector<NodeInfo> nodes;
};

struct ClusterEvent {
  enum class Kind : uint8_t {
    kUpdated,        // new definition (RESP_UPDATE), statuses included
    kStatusChanged,  // same definition, new statuses or panic flag
    kRemoved,        // the cluster is gone or OFFLINE
    kLoadedFromCache,
  };
  std::string cluster;
  Kind kind = Kind::kUpdated;
  int64_t version = 0;
  int64_t status_version = 0;
};

// Counters, cumulative since Create().
struct SubscriberStats {
  uint64_t polls = 0;             // requests sent
  uint64_t poll_failures = 0;     // requests that got no valid answer
  uint64_t failovers = 0;         // polls that succeeded on a later server
  uint64_t all_servers_down = 0;  // polls where no server answered
  uint64_t updates = 0;           // RESP_UPDATE or RESP_DELTA applied
  uint64_t delta_updates = 0;     // of those, RESP_DELTA (changed nodes only)
  uint64_t status_changes = 0;    // RESP_STATUS that changed something
  uint64_t removes = 0;           // RESP_REMOVE that removed held data
  uint64_t bad_units = 0;         // units refused (bad JSON, invalid cluster)
  uint64_t cache_writes = 0;
  uint64_t cache_write_failures = 0;
  uint64_t cache_loads = 0;  // clusters loaded from the disk cache
  // Exceptions stopped before they reached the application: thrown by a
  // listener, or (a bug) by the library itself on hostile input. The polling
  // thread goes on after each.
  uint64_t exceptions_caught = 0;
};

class Subscriber {
 public:
  using Listener = std::function<void(const ClusterEvent&)>;

  // Checks the options (servers given and parseable, cluster names valid,
  // durations sane) and builds a stopped Subscriber.
  static Result<std::unique_ptr<Subscriber>> Create(SubscriberOptions options);

  // For tests: a Subscriber over an injected transport and clock.
  static Result<std::unique_ptr<Subscriber>> CreateForTest(
      SubscriberOptions options, std::shared_ptr<internal::Transport> transport,
      std::shared_ptr<internal::Clock> clock);

  ~Subscriber();  // Stop()s.
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Polls once on the calling thread (loading the disk cache if no server
  // answers), then starts the polling thread. Returns Ok if data came from a
  // server or the cache; Unavailable if neither (polling goes on regardless,
  // and picks return "none" until data arrives). Calling it twice is an error.
  Status Start();
  // Stops and joins the polling thread, interrupting a long poll. Idempotent.
  void Stop();

  // Adds `name` to the polled set (no-op if present). A running Subscriber
  // polls at once (ending a long poll in flight), so its data arrives within
  // one round trip. InvalidArgument for a malformed name.
  Status Subscribe(const std::string& name);

  // An allocator for `name`, subscribing it if needed. A malformed name gives
  // an allocator that always picks "none".
  Allocator NewAllocator(const std::string& name, Policy policy);

  // What is held for `name`. NotFound if it is not subscribed.
  Result<ClusterInfo> GetCluster(const std::string& name) const;

  // Called for every change, after the new snapshot is visible to picks.
  // Returns an id for RemoveListener. Once RemoveListener returns, the
  // listener is not running and never runs again; so a listener must not
  // call AddListener or RemoveListener itself (it would deadlock).
  uint64_t AddListener(Listener listener);
  void RemoveListener(uint64_t id);

  SubscriberStats stats() const;

 private:
  explicit Subscriber(std::unique_ptr<internal::SubscriberCore> core);
  std::unique_ptr<internal::SubscriberCore> core_;
};

}  // namespace jcm
