// ApiServer: jcm's JSON HTTP API (JCM's routes, a real HTTP status per
// error, leader forwarding of writes, POST /sub and its long polls), written
// against NameService only. docs/api.md describes every route.
//
// Threads: Start() binds and starts one listener thread that the server owns;
// requests run on a pool of `worker_threads` threads. cpp-httplib keeps a
// worker for the whole life of a keep-alive connection, waiting at least
// ~10 ms for the next request, and for a long poll's whole wait, so:
// - by default a connection serves one request and is closed
//   (keep_alive_max_count = 1). Measured with 8 workers and 200 keep-alive
//   clients each polling every 200 ms: p50 0.6 ms with 1; with 100, every
//   request also held its worker ~10 ms idle, the pool saturated and p50
//   rose to 66 ms. Back-to-back clients (benchmarks) go ~2x faster with
//   reuse; raise the count where only such clients call;
// - at most max_parked_long_polls long polls park at once (default half the
//   pool); the rest are answered at once.
//
// Thread-safety: Start() and Stop() are called by the owner, from one thread
// (Stop() may be called more than once, and by the destructor). port() and
// self_address() may be called from any thread after Start() returned OK.
// The NameService must outlive the server and is called from worker threads
// concurrently (its contract allows that).
#pragma once

#include <atomic>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/api_counters.h"
#include "api/encoded_cluster_cache.h"
#include "api/http_reply.h"
#include "api/name_service.h"
#include "model/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace jcm {

class LeaderForwarder;
class SubscribeHandler;

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port; port() tells which
  // What other instances and X-Jcm-Forwarded call us; empty: "host:port"
  // after binding.
  std::string self_address;
  int worker_threads = 32;
  // Long polls parked at once; negative: worker_threads / 2.
  int max_parked_long_polls = -1;
  size_t keep_alive_max_count = 1;
  // Idle wait for a connection's next request; 0 means cpp-httplib's
  // minimum, ~10 ms.
  time_t keep_alive_timeout_sec = 0;
  // cpp-httplib listens with a backlog of 5; a burst of subscribers
  // reconnecting at once needs more. Applied with a second listen().
  int listen_backlog = 1024;
  std::chrono::milliseconds read_timeout{5000};  // a client sending its request
  std::chrono::milliseconds forward_connect_timeout{1000};
  std::chrono::milliseconds forward_read_timeout{10000};
  std::chrono::milliseconds apply_timeout{10000};  // read-your-writes wait
  std::chrono::milliseconds long_poll_wake_slice{250};
};

class ApiServer {
 public:
  ApiServer(ApiOptions options, NameService* names);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds host:port and serves on a thread of its own. Unavailable if the
  // address cannot be bound.
  Status Start();
  // Stops accepting, wakes parked long polls, finishes in-flight requests
  // and joins every thread.
  void Stop();

  int port() const { return port_; }
  const std::string& self_address() const { return self_address_; }
  // Counters as GET /sys/status shows them under "api".
  nlohmann::json CountersJson() const;

 private:
  void RegisterRoutes();
  void Send(httplib::Response& res, const HttpReply& reply);
  void SendError(httplib::Response& res, const Status& status);
  // Runs a mutation; forwards the request to the leader if it returns
  // NotLeader. `mutation` is called at most once, only after the input was
  // fully validated by the caller.
  void RunWrite(const httplib::Request& req, httplib::Response& res,
                const std::function<Result<WriteAck>()>& mutation);
  // The {name} of a route, validated; false (and a 400 sent) if invalid.
  bool PathName(const httplib::Request& req, httplib::Response& res, std::string* name);
  // The body parsed as JSON; false (and a 400 sent) if malformed.
  bool JsonBody(const httplib::Request& req, httplib::Response& res, nlohmann::json* doc);

  void GetClusters(const httplib::Request& req, httplib::Response& res);
  void GetCluster(const httplib::Request& req, httplib::Response& res);
  void PostCluster(const httplib::Request& req, httplib::Response& res);
  void DeleteCluster(const httplib::Request& req, httplib::Response& res);
  void PostClusterOnline(const httplib::Request& req, httplib::Response& res);
  void PostNodes(const httplib::Request& req, httplib::Response& res);
  void DeleteNodes(const httplib::Request& req, httplib::Response& res);
  void PostNodeOnline(const httplib::Request& req, httplib::Response& res);
  void GetSysStatus(const httplib::Request& req, httplib::Response& res);
  void PostNsCache(const httplib::Request& req, httplib::Response& res);
  void PostSub(const httplib::Request& req, httplib::Response& res);

  const ApiOptions options_;
  NameService* const names_;
  ApiCounters counters_;
  EncodedClusterCache cache_;
  int max_parked_ = 0;
  int port_ = 0;
  std::string self_address_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<LeaderForwarder> forwarder_;
  std::unique_ptr<SubscribeHandler> sub_;
  std::thread listener_;
  std::atomic<bool> listener_done_{false};
  bool stopped_ = false;
};

}  // namespace jcm
