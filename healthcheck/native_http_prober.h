// NativeHttpProber: HTTP/1.1 GET checks written directly on the checker's
// Poller, without libcurl.
//
// Why: measured on this machine (bench/healthcheck/RESULTS.md), libcurl spent
// ~83,000 instructions per check formatting the request and parsing the URL
// again for every transfer, in malloc, and in two epoll_ctl calls (it removes
// a connection's socket from epoll after each transfer and adds it back on
// reuse). A health check needs none of that: its request never changes and
// its answer is a status line. Here a keep-alive check costs one send, one
// recv and a few hundred instructions of parsing.
//
// Per target:
//  - the request is built once, at AddTarget;
//  - one non-blocking socket, registered in epoll once, edge-triggered, for
//    EPOLLIN | EPOLLOUT | EPOLLRDHUP, for the whole life of the connection:
//    no epoll_ctl per check. Edge-triggered because the socket is always
//    writable: level-triggered EPOLLOUT would wake the loop constantly, and
//    switching it on and off is the epoll_ctl per check we are avoiding;
//  - keep-alive targets reuse the connection between checks. When the server
//    closed it in between (idle timeout, keepalive_requests, restart), the
//    EPOLLRDHUP edge closes our side; if the close is only discovered by the
//    check itself (the send or recv fails before any response byte), the
//    check is retried once on a fresh connection, so a server that closes
//    idle connections never makes a node look down;
//  - short targets (past the keep-alive budget) get `Connection: close` and
//    a new connection per check.
// Every close is abortive (SO_LINGER 0): tens of thousands of checks per
// second must not leave TIME_WAIT entries behind on the checker's side.
//
// Outcome, as HttpProber: a complete response with an accepted code (any 2xx,
// or the cluster's okCodes) is a success; any other code, a refused or reset
// connection, or a malformed response is a bad answer; no complete response
// within the target's timeout is no answer. The prober owns the timeouts
// (a deadline heap on the injected clock, run by RunTimers) like TcpProber.
// A timeout does not tear the connection down (that made a loaded checker
// collapse: every later check paid for a new connection): a pending connect
// carries on for the next check, and a sent request's late answer is
// skipped when it comes, the next request pipelined behind it.
// A response longer than kMaxResponseBytes is cut there: the connection is
// closed and the check counts as answered with the status code already read.
//
// Thread-safety: owned by the checker thread; not thread-safe.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "healthcheck/clock.h"
#include "healthcheck/poller.h"
#include "healthcheck/prober.h"
#include "healthcheck/socket_address.h"

namespace jcm {

// Finds the end of one HTTP/1.x response to a GET, fed in pieces as they
// arrive, without keeping the body: status line, headers (only
// Content-Length, Transfer-Encoding and Connection matter), then a body
// delimited by Content-Length, chunked encoding, or the connection's close.
// 1xx interim responses are skipped; 204 and 304 have no body.
//
// Thread-safety: a plain value.
class HttpResponseScanner {
 public:
  // Forgets the previous response.
  void Reset();
  // Consumes bytes of the response; returns how many were used (fewer than
  // `n` only once done() or failed()).
  size_t Feed(const char* data, size_t n);
  // The peer closed the connection: completes a close-delimited body,
  // fails anything else that is unfinished.
  void OnEof();

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kFailed; }
  // Status code of the final response; 0 until its status line is read.
  int status() const { return status_; }
  // True iff the connection may carry another request after this response.
  bool keep_alive() const { return keep_alive_; }
  // Bytes consumed since Reset (all responses, interim ones included).
  size_t bytes() const { return bytes_; }

 private:
  enum class State {
    kStatusLine,
    kHeaders,
    kBody,        // body_left_ bytes of Content-Length body
    kChunkSize,   // a chunk-size line
    kChunkData,   // body_left_ bytes of chunk data
    kChunkCrlf,   // the CRLF after a chunk's data
    kTrailers,    // trailer lines after the last chunk
    kUntilClose,  // body ends when the connection does
    kDone,
    kFailed,
  };
  // Handles one complete line (without CR LF). Returns false on a protocol
  // error (state_ is then kFailed).
  bool OnLine(const char* line, size_t len);
  bool OnStatusLine(const char* line, size_t len);
  void OnHeader(const char* line, size_t len);
  void OnHeadersEnd();

  State state_ = State::kStatusLine;
  int status_ = 0;
  bool keep_alive_ = false;
  bool chunked_ = false;
  bool other_coding_ = false;  // a transfer-coding other than chunked last
  int64_t content_length_ = -1;
  uint64_t body_left_ = 0;
  size_t bytes_ = 0;
  // A line split across reads, kept up to kMaxLine bytes (the tail of a
  // longer line cannot matter: no header we read has a value that long).
  std::string partial_;
  static constexpr size_t kMaxLine = 512;
};

class NativeHttpProber : public Prober, public FdHandler {
 public:
  static constexpr size_t kMaxResponseBytes = 64 * 1024;

  NativeHttpProber(Poller* poller, ProbeListener* listener, const Clock* clock);
  ~NativeHttpProber() override;

  // Checks from then on connect from `source` (--check-source-ip).
  void SetSource(const SourceAddress& source) { source_ = source; }

  void AddTarget(uint32_t target, const ProbeTarget& spec) override;
  void RemoveTarget(uint32_t target) override;
  void SetWidened(bool widened) override { widened_ = widened; }
  void Start(uint32_t target) override;
  void OnFdEvent(int fd, uint32_t events) override;

  // Delivers results decided without waiting (bad address, immediate
  // refusal) and expires checks past their timeout.
  void RunTimers(int64_t now_ms) override;
  // Monotonic ms of the earliest deadline; 0 if results are waiting;
  // INT64_MAX if nothing is pending.
  int64_t NextTimerMs() const override;

  // Connections opened so far, and checks retried on a fresh connection
  // after the reused one turned out closed (for tests and counters).
  uint64_t connections_opened() const { return connections_opened_; }
  uint64_t retries() const { return retries_; }

 private:
  enum class ConnState {
    kClosed,      // no socket
    kConnecting,  // connect in progress; the request goes when writable
    kSending,     // part of the request sent (rare: a full send buffer)
    kReading,     // request sent, response not complete
    kIdle,        // keep-alive connection between checks
  };
  struct Target {
    uint32_t id = 0;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    bool valid = false;  // address parsed and path safe to send
    bool keepalive = true;
    std::vector<int> ok_codes;
    int timeout_ms = 800;
    int widened_timeout_ms = 0;  // see ProbeTarget
    std::string request;

    int fd = -1;
    ConnState state = ConnState::kClosed;
    uint64_t check = 0;    // id of the check in flight; 0 = none
    bool reused = false;   // this attempt runs on a connection that served before
    bool retried = false;  // this check already moved to a fresh connection
    int stale = 0;         // answers of timed-out checks still due on it (0 or 1)
    size_t sent = 0;
    HttpResponseScanner scanner;
  };
  struct Deadline {
    int64_t at;
    uint32_t target;
    uint64_t check;
    bool operator>(const Deadline& o) const { return at > o.at; }
  };
  struct Ready {
    uint32_t target;
    uint64_t check;
    CheckOutcome outcome;
  };

  Target* Find(uint32_t target) const;
  // Opens a connection and begins the attempt; false if it failed at once
  // (the result is then queued).
  void Connect(Target* t);
  // Sends (the rest of) the request.
  void Send(Target* t);
  void Read(Target* t, uint32_t events);
  // The attempt failed before any response byte: a reused connection gets
  // one more try on a fresh one; otherwise the check is a bad answer.
  void FailOrRetry(Target* t);
  // Reports the check's outcome; queued for RunTimers while inside Start,
  // which must never call the listener.
  void Finish(Target* t, CheckOutcome outcome);
  void CloseSocket(Target* t);

  Poller* poller_;
  SourceAddress source_;
  ProbeListener* listener_;
  const Clock* clock_;
  bool widened_ = false;                          // SetWidened
  std::vector<std::unique_ptr<Target>> targets_;  // indexed by target id
  std::vector<uint32_t> fd_target_;               // indexed by fd
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> deadlines_;
  std::vector<Ready> ready_;
  uint64_t next_check_ = 1;
  uint64_t connections_opened_ = 0;
  uint64_t retries_ = 0;
  bool in_start_ = false;
  // One receive buffer for all targets: bodies are skipped, never kept.
  std::vector<char> buf_ = std::vector<char>(16 * 1024);
};

}  // namespace jcm
