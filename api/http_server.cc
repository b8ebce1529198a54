#include "api/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "api/tls_context.h"

namespace jcm {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using beast::error_code;
namespace ssl = net::ssl;

namespace {

// After an error reply (413 while the client is still sending its body)
// the client must get to read the reply: close our side for writing, then
// read and drop what it still sends for at most this long, like nginx's
// lingering close. Closing at once would make the kernel answer the unread
// bytes with a reset that can destroy the reply in flight.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 16 * 1024 * 1024;

std::string JoinHostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// Linux's count of connections dropped because a listen queue was full
// (TcpExt ListenOverflows, for the whole host). -1 if unreadable.
int64_t ListenOverflows() {
  std::ifstream in("/proc/net/netstat");
  std::string names, values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind("TcpExt:", 0) != 0) continue;
    std::istringstream n(names), v(values);
    std::string name, value;
    while (n >> name && v >> value) {
      if (name == "ListenOverflows") return std::strtoll(value.c_str(), nullptr, 10);
    }
  }
  return -1;
}

// A connection's byte stream: plain TCP, or TLS over TCP. Beast's HTTP reads
// and Asio's writes take it as any AsyncStream, so one Session serves both,
// with every limit and deadline. Socket operations (shutdown, close, the
// peer's address) go to the TCP socket beneath, lowest(). Beast's
// ssl_stream writes a reply's head and body as one TLS record.
class ServerStream {
 public:
  using executor_type = tcp::socket::executor_type;

  ServerStream(tcp::socket socket, std::shared_ptr<ssl::context> tls)
      : tls_context_(std::move(tls)) {
    if (tls_context_) {
      tls_.emplace(std::move(socket), *tls_context_);
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  bool is_tls() const { return tls_.has_value(); }
  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : *plain_; }
  executor_type get_executor() { return lowest().get_executor(); }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }
  template <class Handler>
  void async_handshake(Handler&& handler) {
    tls_->async_handshake(ssl::stream_base::server, std::forward<Handler>(handler));
  }

 private:
  // Declared first: the TLS stream refers to the context until destroyed.
  std::shared_ptr<ssl::context> tls_context_;
  std::optional<tcp::socket> plain_;
  std::optional<beast::ssl_stream<tcp::socket>> tls_;
};

// Errors of the TLS layer (a peer gone without close_notify, a record that
// does not decrypt): the connection is unusable, nothing can be answered.
bool IsTlsError(const error_code& ec) {
  return ec.category() == net::error::get_ssl_category() || ec == net::ssl::error::stream_truncated;
}

// No body and no Content-Length for 1xx, 204 and 304 (RFC 9110 8.6).
bool Bodiless(int status) { return status < 200 || status == 204 || status == 304; }

}  // namespace

class Session;

class HttpServerImpl {
 public:
  HttpServerImpl(HttpServerOptions options, HttpHandler handler, HttpServerCounters* counters)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        counters_(counters),
        plain_(ioc_, nullptr),
        sweep_timer_(net::make_strand(ioc_)) {
    if (options_.tls) tls_.emplace(ioc_, options_.tls);
  }

  Status Start(int* port, int* tls_port);
  void Stop();
  nlohmann::json AcceptQueueJson();
  size_t Waiting() {
    std::lock_guard lock(mu_);
    return waiting_.size();
  }

  const HttpServerOptions& options() const { return options_; }
  HttpServerCounters& counters() { return *counters_; }
  const HttpHandler& handler() const { return handler_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // The set of connections that may be evicted (waiting for or reading a
  // request), ordered by when they began to wait. Keys are never reused.
  uint64_t EnterWaiting(const std::shared_ptr<Session>& session);
  void LeaveWaiting(uint64_t key);
  void Forget(Session* session);

 private:
  // One listening socket; TLS connections are accepted on their own.
  struct Listener {
    Listener(net::io_context& ioc, const TlsContext* tls_context)
        : acceptor(net::make_strand(ioc)), retry_timer(acceptor.get_executor()), tls(tls_context) {}
    tcp::acceptor acceptor;
    net::steady_timer retry_timer;  // accept paused after EMFILE
    const TlsContext* const tls;    // null: plain HTTP
  };

  Status Bind(Listener* listener, const std::string& host, int port);
  void Accept(Listener* listener);
  void OnAccept(Listener* listener, error_code ec, tcp::socket socket);
  static nlohmann::json AcceptQueueOf(Listener* listener);
  // Closes the connections of one slice of sessions_ that are past their
  // deadline, then runs again for the next slice: every connection is looked
  // at once per sweep_interval_. See Session::SetDeadline.
  void Sweep();
  // Asks the longest-waiting connection to close. False if there is none.
  bool EvictOne();

  const HttpServerOptions options_;
  const HttpHandler handler_;
  HttpServerCounters* const counters_;
  net::io_context ioc_;
  Listener plain_;
  std::optional<Listener> tls_;
  net::steady_timer sweep_timer_;  // deadlines; on its own strand
  std::chrono::milliseconds sweep_interval_{250};
  // Sweep() walks sessions_ in kSweepSlices parts, one per tick: walking
  // all 15,000 connections at once, four times a second, held the (single)
  // I/O thread long enough to be most of the p99 latency (1.54 ms, 0.28 ms
  // sliced, bench/serving; the walk itself was not timed). A slice is a range of hash buckets;
  // a rehash between ticks may make one round skip or repeat a few
  // connections, which delays their close by one round at most.
  static constexpr size_t kSweepSlices = 16;
  size_t sweep_slice_ = 0;  // only touched by the sweep handler (its strand)
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;

  std::mutex mu_;
  std::map<uint64_t, std::weak_ptr<Session>> waiting_;             // GUARDED_BY(mu_)
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
  uint64_t next_key_ = 1;                                          // GUARDED_BY(mu_)

  std::mutex exit_mu_;
  std::condition_variable exit_cv_;
  int running_threads_ = 0;  // GUARDED_BY(exit_mu_)

  friend class Session;
};

// One connection. Every handler runs on the connection's executor (a strand
// when there is more than one I/O thread), so its members need no lock;
// Exchange::Reply from another thread posts onto that executor.
//
// Deadlines are not Asio timers: arming and cancelling a timer on every read
// and write was a tenth of the server's own CPU per request at 10,000
// polls a second (a heap update per operation and a cancelled-handler
// completion per success). A connection instead stores when its current
// phase must end, and HttpServerImpl::Sweep, a few times a second, closes
// the connections past theirs; a deadline is then kept to within one sweep
// interval (at most 250 ms, and a tenth of the shortest timeout).
class Session : public std::enable_shared_from_this<Session> {
 public:
  // `tls`: the context of a connection accepted on the TLS listener, else
  // null.
  Session(tcp::socket socket, std::shared_ptr<ssl::context> tls, HttpServerImpl* server)
      : stream_(std::move(socket), std::move(tls)), server_(server) {
    error_code ec;
    auto ep = stream_.lowest().remote_endpoint(ec);
    if (!ec) peer_ = JoinHostPort(ep.address().to_string(), ep.port());
    stream_.lowest().set_option(tcp::no_delay(true), ec);
  }
  ~Session() {
    // Also when no Close() ran (a handler that dropped its exchange): the
    // sweeper reads this object while it is listed.
    server_->Forget(this);
    server_->counters().open.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->stream_.is_tls()) return self->Handshake();
      self->WaitForRequest();
    });
  }
  // Closes the connection if it is waiting for or reading a request; a
  // connection whose request is being handled or answered is left alone.
  void CloseIfWaiting(bool evicted) {
    net::post(stream_.get_executor(), [self = shared_from_this(), evicted] {
      if (self->wait_key_ == 0 || self->closed_) return;
      if (evicted) self->server_->counters().closed_evicted.fetch_add(1, std::memory_order_relaxed);
      self->Close();
    });
  }
  void Reply(HttpReply reply) {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this(), r = std::move(reply)]() mutable {
                    self->Write(std::move(r), /*close_after=*/false);
                  });
  }
  net::any_io_executor executor() { return stream_.get_executor(); }

  // For the sweeper, from any thread: whether the current phase's deadline
  // (steady_clock ticks) has passed.
  bool Overdue(int64_t now) const { return deadline_.load(std::memory_order_relaxed) <= now; }
  // Closes the connection if its deadline has passed by the time this runs
  // on its executor (a phase may have ended meanwhile), counting why.
  void Expire() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->closed_ || !self->Overdue(Now())) return;
      HttpServerCounters& c = self->server_->counters();
      if (self->phase_ == Phase::kIdle) c.closed_idle.fetch_add(1, std::memory_order_relaxed);
      if (self->phase_ == Phase::kRequest)
        c.closed_deadline.fetch_add(1, std::memory_order_relaxed);
      self->Close();
    });
  }

  static int64_t Now() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

 private:
  // What the connection is doing, for the deadline and what its expiry counts.
  enum class Phase : uint8_t { kNone, kIdle, kRequest, kWrite, kLinger };
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  class Exchange : public HttpExchange {
   public:
    explicit Exchange(std::shared_ptr<Session> session) : session_(std::move(session)) {}
    void Reply(HttpReply reply) override {
      if (done_.exchange(true, std::memory_order_acq_rel)) return;
      session_->Reply(std::move(reply));
    }
    net::any_io_executor executor() const override { return session_->executor(); }

   private:
    std::shared_ptr<Session> session_;
    std::atomic<bool> done_{false};
  };

  void SetDeadline(Phase phase, std::chrono::milliseconds after) {
    phase_ = phase;
    deadline_.store(
        Now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(after).count(),
        std::memory_order_relaxed);
  }
  void ClearDeadline() {
    phase_ = Phase::kNone;
    deadline_.store(kNever, std::memory_order_relaxed);
  }

  // The TLS handshake, evictable like a connection waiting for its first
  // request, under the deadline that then goes on to bound the wait for
  // that request's first byte (expiry counts in closed_deadline).
  void Handshake() {
    if (server_->stopping()) return Close();
    wait_key_ = server_->EnterWaiting(shared_from_this());
    SetDeadline(Phase::kRequest, server_->options().request_deadline);
    stream_.async_handshake([self = shared_from_this()](error_code ec) {
      if (ec) {
        // Counted: refusals by TLS itself (no common version, not TLS at
        // all, an alert from a client that rejected our certificate). Not
        // counted: a client that went away (reset, EOF), a deadline or an
        // eviction (our own close).
        if (!self->closed_ && ec.category() == net::error::get_ssl_category() &&
            ec != net::ssl::error::stream_truncated) {
          self->server_->counters().tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
        }
        return self->Close();
      }
      self->server_->counters().tls_handshakes.fetch_add(1, std::memory_order_relaxed);
      self->WaitForRequest();
    });
  }

  void WaitForRequest() {
    if (closed_) return;
    if (server_->stopping()) return Close();
    // Still in the evictable set after a TLS handshake.
    if (wait_key_ == 0) wait_key_ = server_->EnterWaiting(shared_from_this());
    if (buffer_.size() > 0) return ReadHeader();  // a pipelined request is here already
    if (first_request_ && stream_.is_tls()) {
      // The handshake's deadline goes on.
    } else if (first_request_) {
      SetDeadline(Phase::kRequest, server_->options().request_deadline);
    } else {
      SetDeadline(Phase::kIdle, server_->options().idle_timeout);
    }
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->options().header_limit));
    parser_->body_limit(server_->options().body_limit);
    // One deadline for headers and body together, from the first byte: a
    // client cannot stretch a request by trickling it.
    SetDeadline(Phase::kRequest, server_->options().request_deadline);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (ec) return self->OnReadError(ec);
                              self->AfterHeader();
                            });
  }

  void AfterHeader() {
    const auto& req = parser_->get();
    if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue") &&
        !parser_->is_done()) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     req.version());
      http::async_write(stream_, *cont, [self = shared_from_this(), cont](error_code ec, size_t) {
        if (ec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  void OnReadError(error_code ec) {
    // A deadline closes the socket (counted by Expire): the read then fails.
    if (closed_ || ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        IsTlsError(ec)) {
      return Close();
    }
    server_->counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
    if (ec == http::error::body_limit) {
      return Write(ErrorReply(413, "body: larger than " +
                                       std::to_string(server_->options().body_limit) + " bytes"),
                   true);
    }
    if (ec == http::error::header_limit) {
      return Write(ErrorReply(431, "headers: larger than " +
                                       std::to_string(server_->options().header_limit) + " bytes"),
                   true);
    }
    Write(ErrorReply(400, "malformed HTTP request: " + ec.message()), true);
  }

  void OnRequest() {
    server_->LeaveWaiting(wait_key_);
    wait_key_ = 0;
    ClearDeadline();
    first_request_ = false;
    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    server_->counters().requests.fetch_add(1, std::memory_order_relaxed);

    HttpRequest request;
    request.received = std::chrono::steady_clock::now();
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.peer = peer_;
    if (!ParseTarget(request.target, &request.path, &request.query)) {
      return Write(ErrorReply(400, "target: '" + request.target + "' is not a valid path"), false);
    }
    request.headers.reserve(static_cast<size_t>(std::distance(req.begin(), req.end())));
    for (const auto& field : req) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(req.body());
    server_->handler()(std::move(request), std::make_shared<Exchange>(shared_from_this()));
  }

  // The status line and headers, as Beast's serializer wrote them before
  // (same fields, same order), into a buffer the connection keeps: building
  // a Beast response object per reply cost allocations per field.
  void FormatHead(const HttpReply& reply, unsigned version, bool keep) {
    head_.clear();
    head_ += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head_ += std::to_string(reply.status);
    head_ += ' ';
    const std::string_view reason = http::obsolete_reason(static_cast<http::status>(reply.status));
    head_.append(reason.data(), reason.size());
    head_ += "\r\nContent-Type: ";
    head_ += reply.content_type;
    for (const auto& [name, value] : reply.headers) {
      head_ += "\r\n";
      head_ += name;
      head_ += ": ";
      head_ += value;
    }
    if (version >= 11 && !keep) head_ += "\r\nConnection: close";
    if (version < 11 && keep) head_ += "\r\nConnection: keep-alive";
    if (!Bodiless(reply.status)) {
      head_ += "\r\nContent-Length: ";
      head_ += std::to_string(reply.body.size());
    }
    head_ += "\r\n\r\n";
  }

  void Write(HttpReply reply, bool close_after) {
    if (closed_) return;
    if (wait_key_ != 0) {
      server_->LeaveWaiting(wait_key_);
      wait_key_ = 0;
    }
    bool keep = keep_alive_ && !close_after && !server_->stopping();
    FormatHead(reply, version_ ? version_ : 11, keep);
    body_ = std::move(reply.body);
    if (Bodiless(reply.status)) body_.clear();
    SetDeadline(Phase::kWrite, server_->options().write_timeout);
    std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
    net::async_write(stream_, buffers,
                     [self = shared_from_this(), keep, close_after](error_code ec, size_t) {
                       self->ClearDeadline();
                       if (ec) return self->Close();
                       if (close_after) return self->Linger();
                       if (!keep) return self->Close();
                       self->WaitForRequest();
                     });
  }

  // See kLingerTime.
  void Linger() {
    error_code ec;
    stream_.lowest().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    SetDeadline(Phase::kLinger, std::chrono::duration_cast<std::chrono::milliseconds>(kLingerTime));
    DrainSome();
  }
  void DrainSome() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerBytes) return self->Close();
                              self->DrainSome();
                            });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    ClearDeadline();
    if (wait_key_ != 0) {
      server_->LeaveWaiting(wait_key_);
      wait_key_ = 0;
    }
    server_->Forget(this);
    error_code ec;
    // No TLS close_notify: it could block on a peer that reads nothing, and
    // every reply is framed by Content-Length, so a peer loses nothing.
    stream_.lowest().shutdown(tcp::socket::shutdown_both, ec);
    stream_.lowest().close(ec);
  }

  ServerStream stream_;
  HttpServerImpl* const server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string head_;  // the reply being written: status line and headers
  std::string body_;  // and its body
  std::string peer_;
  uint64_t wait_key_ = 0;  // non-zero while in the evictable set
  bool first_request_ = true;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  bool closed_ = false;
  size_t drained_ = 0;
  Phase phase_ = Phase::kNone;
  std::atomic<int64_t> deadline_{kNever};  // steady_clock ticks; read by the sweeper
};

uint64_t HttpServerImpl::EnterWaiting(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mu_);
  uint64_t key = next_key_++;
  waiting_.emplace(key, session);
  return key;
}

void HttpServerImpl::LeaveWaiting(uint64_t key) {
  std::lock_guard lock(mu_);
  waiting_.erase(key);
}

void HttpServerImpl::Forget(Session* session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
}

bool HttpServerImpl::EvictOne() {
  std::shared_ptr<Session> victim;
  {
    std::lock_guard lock(mu_);
    while (!victim && !waiting_.empty()) {
      victim = waiting_.begin()->second.lock();
      waiting_.erase(waiting_.begin());
    }
  }
  if (!victim) return false;
  victim->CloseIfWaiting(/*evicted=*/true);
  return true;
}

Status HttpServerImpl::Bind(Listener* listener, const std::string& host, int port) {
  error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    return Status::InvalidArgument(std::string(listener->tls ? "TLS " : "") + "listen host: '" +
                                   host + "' is not an IP address");
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  tcp::acceptor& acceptor = listener->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(options_.listen_backlog, ec);
  if (ec) {
    std::string where = port == 0 ? host + " (any port)" : JoinHostPort(host, port);
    return Status::Unavailable("cannot listen on " + where + ": " + ec.message());
  }
  return Status::Ok();
}

Status HttpServerImpl::Start(int* port, int* tls_port) {
  if (tls_ && !options_.tls->Current()) {
    return Status::InvalidArgument("TLS: no certificate loaded from " + options_.tls->cert_file());
  }
  if (Status s = Bind(&plain_, options_.host, options_.port); !s.ok()) return s;
  *port = plain_.acceptor.local_endpoint().port();
  if (tls_) {
    if (Status s = Bind(&*tls_, options_.tls_host, options_.tls_port); !s.ok()) {
      error_code ignored;
      plain_.acceptor.close(ignored);
      return s;
    }
    *tls_port = tls_->acceptor.local_endpoint().port();
  }
  started_ = true;
  work_.emplace(ioc_.get_executor());
  // A tenth of the shortest timeout, between 5 and 250 ms.
  auto shortest =
      std::min({options_.request_deadline, options_.idle_timeout, options_.write_timeout});
  sweep_interval_ =
      std::clamp(shortest / 10, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
  Accept(&plain_);
  if (tls_) Accept(&*tls_);
  Sweep();
  int n = std::max(1, options_.io_threads);
  running_threads_ = n;
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([this] {
      ioc_.run();
      std::lock_guard lock(exit_mu_);
      --running_threads_;
      exit_cv_.notify_all();
    });
  }
  return Status::Ok();
}

void HttpServerImpl::Accept(Listener* listener) {
  // One I/O thread needs no strand: its handlers never run at once.
  net::any_io_executor executor = options_.io_threads > 1
                                      ? net::any_io_executor(net::make_strand(ioc_))
                                      : net::any_io_executor(ioc_.get_executor());
  listener->acceptor.async_accept(executor, [this, listener](error_code ec, tcp::socket socket) {
    OnAccept(listener, ec, std::move(socket));
  });
}

void HttpServerImpl::Sweep() {
  sweep_timer_.expires_after(std::max<std::chrono::microseconds>(std::chrono::milliseconds(1),
                                                                 sweep_interval_ / kSweepSlices));
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec || stopping()) return;
    const int64_t now = Session::Now();
    std::vector<std::shared_ptr<Session>> overdue;
    {
      std::lock_guard lock(mu_);
      const size_t buckets = sessions_.bucket_count();
      const size_t from = buckets * sweep_slice_ / kSweepSlices;
      const size_t to = buckets * (sweep_slice_ + 1) / kSweepSlices;
      // A listed session is alive: its destructor unlists it under mu_.
      for (size_t b = from; b < to; ++b) {
        for (auto it = sessions_.begin(b); it != sessions_.end(b); ++it) {
          if (!it->first->Overdue(now)) continue;
          if (auto s = it->second.lock()) overdue.push_back(std::move(s));
        }
      }
    }
    sweep_slice_ = (sweep_slice_ + 1) % kSweepSlices;
    for (auto& s : overdue) s->Expire();
    Sweep();
  });
}

void HttpServerImpl::OnAccept(Listener* listener, error_code ec, tcp::socket socket) {
  if (stopping()) return;
  if (ec) {
    counters_->accept_errors.fetch_add(1, std::memory_order_relaxed);
    if (ec == net::error::operation_aborted) return;
    // Out of descriptors (EMFILE/ENFILE) or a transient error: make room and
    // try again shortly rather than spin.
    EvictOne();
    listener->retry_timer.expires_after(std::chrono::milliseconds(50));
    listener->retry_timer.async_wait([this, listener](error_code) {
      if (!stopping()) Accept(listener);
    });
    return;
  }
  counters_->accepted.fetch_add(1, std::memory_order_relaxed);
  if (static_cast<size_t>(counters_->open.load(std::memory_order_relaxed)) >=
          options_.max_connections &&
      !EvictOne()) {
    counters_->refused_at_cap.fetch_add(1, std::memory_order_relaxed);
    error_code ignored;
    socket.close(ignored);
    return Accept(listener);
  }
  counters_->open.fetch_add(1, std::memory_order_relaxed);
  auto session = std::make_shared<Session>(
      std::move(socket), listener->tls ? listener->tls->Current() : nullptr, this);
  {
    std::lock_guard lock(mu_);
    sessions_.emplace(session.get(), session);
  }
  session->Start();
  Accept(listener);
}

void HttpServerImpl::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  for (Listener* listener : {&plain_, tls_ ? &*tls_ : nullptr}) {
    if (!listener) continue;
    net::post(listener->acceptor.get_executor(), [listener] {
      error_code ec;
      listener->acceptor.close(ec);
      listener->retry_timer.cancel();
    });
  }
  net::post(sweep_timer_.get_executor(), [this] { sweep_timer_.cancel(); });
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(mu_);
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  // Waiting connections close now; one whose request is in hand closes after
  // its reply (keep-alive is off while stopping).
  for (auto& s : sessions) s->CloseIfWaiting(/*evicted=*/false);
  sessions.clear();
  work_.reset();
  {
    std::unique_lock lock(exit_mu_);
    // A request whose handler never answers would keep its connection, and
    // so the I/O threads, alive: bound the wait.
    if (!exit_cv_.wait_for(lock, std::chrono::seconds(3), [&] { return running_threads_ == 0; })) {
      spdlog::warn("http: connections still busy at stop; closing them");
      ioc_.stop();
    }
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

nlohmann::json HttpServerImpl::AcceptQueueOf(Listener* listener) {
  nlohmann::json j = nlohmann::json::object();
  tcp_info info{};
  socklen_t len = sizeof(info);
  // For a listening socket Linux reports the accept queue's current length
  // in tcpi_unacked and its maximum in tcpi_sacked.
  if (::getsockopt(listener->acceptor.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) == 0) {
    j["acceptQueue"] = info.tcpi_unacked;
    j["acceptQueueMax"] = info.tcpi_sacked;
  }
  return j;
}

nlohmann::json HttpServerImpl::AcceptQueueJson() {
  nlohmann::json j = AcceptQueueOf(&plain_);
  if (tls_) {
    nlohmann::json t = AcceptQueueOf(&*tls_);
    if (t.contains("acceptQueue")) {
      j["tlsAcceptQueue"] = t["acceptQueue"];
      j["tlsAcceptQueueMax"] = t["acceptQueueMax"];
    }
  }
  j["listenOverflowsHost"] = ListenOverflows();
  return j;
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<HttpServerImpl>(std::move(options), std::move(handler), &counters_)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() { return impl_->Start(&port_, &tls_port_); }

void HttpServer::Stop() { impl_->Stop(); }

nlohmann::json HttpServer::CountersJson() const {
  nlohmann::json j = impl_->AcceptQueueJson();
  j["accepted"] = counters_.accepted.load(std::memory_order_relaxed);
  j["open"] = counters_.open.load(std::memory_order_relaxed);
  // Open connections waiting for or reading a request (the ones the cap may
  // close); the rest are being handled, answered, or parked.
  j["waiting"] = impl_->Waiting();
  j["maxConnections"] = impl_->options().max_connections;
  j["requests"] = counters_.requests.load(std::memory_order_relaxed);
  j["closedIdle"] = counters_.closed_idle.load(std::memory_order_relaxed);
  j["closedDeadline"] = counters_.closed_deadline.load(std::memory_order_relaxed);
  j["closedEvicted"] = counters_.closed_evicted.load(std::memory_order_relaxed);
  j["refusedAtCap"] = counters_.refused_at_cap.load(std::memory_order_relaxed);
  j["badRequests"] = counters_.bad_requests.load(std::memory_order_relaxed);
  j["acceptErrors"] = counters_.accept_errors.load(std::memory_order_relaxed);
  if (tls_port_ != 0) {
    j["tlsHandshakes"] = counters_.tls_handshakes.load(std::memory_order_relaxed);
    j["tlsHandshakeFailures"] = counters_.tls_handshake_failures.load(std::memory_order_relaxed);
  }
  return j;
}

}  // namespace jcm
