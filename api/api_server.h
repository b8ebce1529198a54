// ApiServer: jcm's JSON HTTP API (JCM's routes, a real HTTP status per
// error, leader forwarding of writes, POST /sub and its long polls), written
// against NameService only. docs/api.md describes every route.
//
// Threads: the HttpServer's I/O threads (io_threads) parse requests and run
// every route that only reads memory: cluster reads, /sys/status, /metrics,
// /healthz, /readyz and /sub (whose long polls park without a thread, woken per
// cluster by the NameService's change listener). Routes that may block
// (writes on ZooKeeper, forwards to the leader and the read-your-writes wait
// after them) run on a pool of worker_threads and answer asynchronously; an
// I/O thread never waits on ZooKeeper or another instance.
//
// Auth (api/token_auth.h) is decided per route before anything else runs;
// a follower checks the caller's token and forwards it unchanged, and the
// leader checks it again.
//
// TLS (api/tls_context.h): with tls_cert_file and tls_key_file the same
// routes are also served over HTTPS on tls_host:tls_port; the plain listener
// stays for JCM's own client. Forwards to a leader that advertises an
// https:// address verify its certificate against tls_ca_file.
//
// Reads and /sub answer 503 while NameService::Readiness() is not OK, so a
// starting or cut-off instance never tells a client a cluster is gone.
//
// Thread-safety: Start() and Stop() are called by the owner, from one thread
// (Stop() may be called more than once, and by the destructor). port(),
// self_address() and CountersJson() may be called from any thread after
// Start() returned OK; metrics() from any thread at any time. The
// NameService must outlive the server and is called from I/O and worker
// threads concurrently (its contract allows that).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_counters.h"
#include "api/encoded_cluster_cache.h"
#include "api/http_reply.h"
#include "api/http_request.h"
#include "api/name_service.h"
#include "api/peer_probe.h"
#include "api/token_auth.h"
#include "model/status.h"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace jcm {

class ApiMetrics;
class HttpServer;
class LeaderForwarder;
class SubscribeHandler;
class TlsContext;

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port; port() tells which
  // What other instances and X-Jcm-Forwarded call us; empty: "host:port"
  // after binding.
  std::string self_address;
  int io_threads = 1;
  int worker_threads = 32;  // blocking routes: writes and forwards
  // Open client connections; at the cap the longest-idle one is closed.
  size_t max_connections = 10000;
  size_t max_parked_long_polls = 10000;
  size_t sub_max_units = 1000;                        // units per /sub request
  size_t sub_max_reply_bytes = 64 * 1024 * 1024;      // a larger /sub reply is refused
  std::chrono::milliseconds idle_timeout{60000};      // keep-alive, between requests
  std::chrono::milliseconds request_deadline{10000};  // headers and body, in total
  size_t header_limit = 16 * 1024;
  int listen_backlog = 4096;
  std::chrono::milliseconds forward_connect_timeout{1000};
  std::chrono::milliseconds forward_read_timeout{10000};
  std::chrono::milliseconds apply_timeout{10000};  // read-your-writes wait
  // LeaderForwarderOptions::merge_linger: how long a busy lane gathers.
  std::chrono::milliseconds forward_merge_linger{5};
  std::string tokens_file;  // api/token_auth.h; empty: every route open
  // Both set: also serve HTTPS on tls_host:tls_port (0: a free port).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_host = "127.0.0.1";
  int tls_port = 0;
  // CA certificates (PEM) that a leader's certificate must chain to when a
  // write is forwarded to an https:// address; empty: the system's store.
  std::string tls_ca_file;
  // How long a write that met a lost ZooKeeper connection (here, or on the
  // leader it was forwarded to) waits for the client to reconnect before it
  // is refused with 503. On an ensemble the client moves to another member
  // in the same session within milliseconds when one dies; with ZooKeeper
  // gone altogether the write is refused after this, not after write_hold.
  std::chrono::milliseconds zk_reconnect_hold{500};
  // How long a write waits for a leader (election in progress, leader
  // unreachable) before it is refused with 503.
  std::chrono::milliseconds write_hold{8000};
  // The latency histograms /metrics shows (api/metrics_api.h), shared with
  // what else in the process observes into them; must outlive the server.
  // Null: the server makes its own.
  ApiMetrics* metrics = nullptr;
};

class ApiServer {
 public:
  ApiServer(ApiOptions options, NameService* names);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds host:port and starts serving. Unavailable if the address cannot be
  // bound. Registers the NameService change listener.
  Status Start();
  // Answers parked long polls, finishes the writes in hand, closes every
  // connection and joins every thread.
  void Stop();

  // GET /c/{name}/history answers with what `provider` returns for the
  // cluster (the checker's transition log). Set before Start().
  void SetHistoryProvider(std::function<nlohmann::json(const std::string&)> provider) {
    history_ = std::move(provider);
  }

  // POST /sys/probe (api/peer_probe.h) runs the probes through `probe`.
  // Unset: the route answers 404. Set before Start().
  void SetPeerProbe(PeerProbeFn probe) { peer_probe_ = std::move(probe); }

  // Re-reads the tokens file (SIGHUP). On error the old tokens stay.
  Status ReloadTokens();
  // Re-reads the TLS certificate and key (SIGHUP) for new connections. On
  // error the old ones stay. OK without TLS.
  Status ReloadTls();

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }  // 0 without TLS
  const std::string& self_address() const { return self_address_; }
  // Counters as GET /sys/status shows them under "api" (HTTP connection
  // counters under "api.http").
  nlohmann::json CountersJson() const;
  ApiMetrics& metrics() { return *metrics_; }

 private:
  using Blocking = std::function<HttpReply()>;

  ApiRoute Resolve(const HttpRequest& req, std::string* name) const;
  static bool IsWrite(ApiRoute route);
  void Dispatch(HttpRequest req, HttpExchangePtr ex);
  void Send(const HttpExchangePtr& ex, ApiRoute route, HttpReply reply);
  void SendError(const HttpExchangePtr& ex, ApiRoute route, const Status& status);
  // Runs `work` on the worker pool and sends what it returns.
  void OnWorker(HttpExchangePtr ex, ApiRoute route, Blocking work);
  // A mutation, then (on NotLeader) a forward to the leader. Runs on a
  // worker. `mutation` is called only after the input was fully validated.
  // While no leader can take the write (none elected, unreachable before
  // the request went out, or it said it no longer leads), the write waits
  // up to write_hold and is tried again, as Consul's rpc_hold_timeout does.
  // A write refused as Unavailable by this instance (its ZooKeeper
  // connection lost, or lost in the middle of the write) is tried again
  // until zk_reconnect_hold has passed.
  // `mutation(retry)`: retry is true when the write is sent again after an
  // attempt whose outcome is unknown (see kRetryHeader).
  using Mutation = std::function<Result<WriteAck>(bool retry)>;
  HttpReply RunWrite(const HttpRequest& req, const Mutation& mutation);

  HttpReply GetClusters(const HttpRequest& req, bool names_only);
  HttpReply GetCluster(const HttpRequest& req, const std::string& name);
  HttpReply GetSysStatus();
  nlohmann::json SysStatusJson();
  HttpReply GetMetrics();  // GET /metrics, Prometheus text format
  HttpReply GetReadyz();
  HttpReply GetUi(const std::string& path);
  HttpReply GetHistory(const std::string& name);

  // Each decodes and validates its input, then queues the write; a bad input
  // is answered at once with the refusal.
  void PostCluster(HttpRequest req, HttpExchangePtr ex);
  void DeleteCluster(HttpRequest req, HttpExchangePtr ex, std::string name);
  void PostClusterOnline(HttpRequest req, HttpExchangePtr ex, std::string name);
  void PostNodes(HttpRequest req, HttpExchangePtr ex, std::string name);
  void DeleteNodes(HttpRequest req, HttpExchangePtr ex, std::string name);
  void PostNodeChanges(HttpRequest req, HttpExchangePtr ex, std::string name);
  void PostNodeOnline(HttpRequest req, HttpExchangePtr ex, std::string name);
  void PostNsCache(HttpRequest req, HttpExchangePtr ex);
  void PostSub(HttpRequest req, HttpExchangePtr ex);
  void PostProbe(HttpRequest req, HttpExchangePtr ex);

  const ApiOptions options_;
  NameService* const names_;
  TokenAuth auth_;
  std::function<nlohmann::json(const std::string&)> history_;
  PeerProbeFn peer_probe_;
  ApiCounters counters_;
  std::unique_ptr<ApiMetrics> own_metrics_;  // when options_.metrics is null
  ApiMetrics* const metrics_;
  EncodedClusterCache cache_;
  int port_ = 0;
  int tls_port_ = 0;
  std::string self_address_;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<boost::asio::thread_pool> workers_;
  std::unique_ptr<LeaderForwarder> forwarder_;
  std::unique_ptr<SubscribeHandler> sub_;
  bool stopped_ = false;
};

}  // namespace jcm
