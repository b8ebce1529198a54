// HttpServer: an event-driven HTTP/1.x server on Boost.Beast / Boost.Asio.
// It owns sockets, parsing, keep-alive and deadlines, and knows nothing of
// jcm's routes: every complete request goes to one HttpHandler.
//
// Why it exists: a thread per connection (cpp-httplib, before) let 40 slow
// clients silence an instance and capped parked long polls at 16. Here a
// connection costs a socket and a few hundred bytes whatever it does:
// reading, idle between requests, or parked waiting for the handler.
//
// Per connection, one request at a time, in order:
//   idle   waiting for the first byte of the next request, at most
//          idle_timeout (request_deadline for a connection's first request);
//   read   headers and body within request_deadline in total, not per read,
//          so a client trickling a byte a second is cut off at the deadline;
//          headers over header_limit -> 431, body over body_limit -> 413
//          (any Content-Type), malformed -> 400, then the connection closes;
//          "Expect: 100-continue" is answered before the body is read;
//   handle the handler answers through the HttpExchange, from any thread,
//          whenever it likes (a parked long poll answers seconds later);
//   write  within write_timeout; then keep-alive unless the request said
//          "Connection: close", was HTTP/1.0 without keep-alive, or the
//          server is stopping. Pipelined requests wait in the read buffer
//          and are answered in order.
//
// Connection budget: at most max_connections open at once. At the cap a new
// connection evicts the connection that has waited longest in idle or read
// (an idle keep-alive client or a slow one), never one whose request is
// being handled; if there is none, the new connection is closed.
//
// TLS: with a TlsContext in the options the server also listens on
// tls_host:tls_port and speaks HTTPS there (the plain listener stays). A TLS
// connection is the same connection with a TLS layer over the TCP stream:
// every limit above applies to it unchanged, and its handshake runs under
// the request deadline of its first request (a client that connects and
// sends nothing, or stalls mid-handshake, is closed at the deadline and may
// be evicted at the cap meanwhile). The certificate is taken from the
// TlsContext per accepted connection, so TlsContext::Reload() applies to
// new connections without a restart.
//
// Thread-safety: Start() and Stop() are called by the owner from one thread.
// Counters() and port() may be called from any thread. The handler runs on
// the I/O threads, concurrently for different connections.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http_request.h"
#include "model/status.h"

namespace jcm {

class HttpServerImpl;
class TlsContext;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port; port() tells which
  int io_threads = 1;
  size_t max_connections = 10000;
  std::chrono::milliseconds request_deadline{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{10000};
  size_t header_limit = 16 * 1024;
  size_t body_limit = 8 * 1024 * 1024;
  int listen_backlog = 4096;
  // Non-null: also serve HTTPS on tls_host:tls_port (0: pick a free port;
  // tls_port() tells which). The context must outlive the server.
  const TlsContext* tls = nullptr;
  std::string tls_host = "127.0.0.1";
  int tls_port = 0;
};

// What the server counts, for /sys/status and /metrics. Relaxed atomics.
struct HttpServerCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<int64_t> open{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> closed_idle{0};      // idle_timeout passed between requests
  std::atomic<uint64_t> closed_deadline{0};  // request not read within request_deadline
  std::atomic<uint64_t> closed_evicted{0};   // made room for a new connection at the cap
  std::atomic<uint64_t> refused_at_cap{0};   // at the cap with nothing to evict
  std::atomic<uint64_t> bad_requests{0};     // 400 / 413 / 431 from the parser
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> tls_handshakes{0};          // TLS connections that completed one
  std::atomic<uint64_t> tls_handshake_failures{0};  // refused by TLS: version, not TLS, alert
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (both listeners with TLS) and starts the I/O threads. Unavailable
  // if an address cannot be bound; InvalidArgument if TLS is asked for and
  // the TlsContext holds no certificate.
  Status Start();
  // Stops accepting, closes every connection (a request being handled gets
  // no reply), and joins the I/O threads. Idempotent.
  void Stop();

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }  // 0 without TLS
  const HttpServerCounters& counters() const { return counters_; }
  // The counters plus the accept queue of the listening socket (Linux
  // TCP_INFO: current and maximum backlog) and the kernel's count of
  // listen-queue overflows, read from /proc/net/netstat.
  nlohmann::json CountersJson() const;

 private:
  std::unique_ptr<HttpServerImpl> impl_;
  HttpServerCounters counters_;
  int port_ = 0;
  int tls_port_ = 0;
};

}  // namespace jcm
