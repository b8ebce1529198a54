#include "healthcheck/native_http_prober.h"
#include "healthcheck/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace jcm {

namespace {

bool CodeAccepted(int code, const std::vector<int>& ok_codes) {
  if (ok_codes.empty()) return code >= 200 && code < 300;
  return std::find(ok_codes.begin(), ok_codes.end(), code) != ok_codes.end();
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsNoCase(const char* a, size_t len, const char* lit) {
  return std::strlen(lit) == len && strncasecmp(a, lit, len) == 0;
}

// True iff `lit` occurs in [p, p+len) ignoring case. Header values here are
// short token lists ("keep-alive", "gzip, chunked"), so a plain scan will do.
bool ContainsNoCase(const char* p, size_t len, const char* lit) {
  const size_t n = std::strlen(lit);
  for (size_t i = 0; i + n <= len; ++i) {
    if (strncasecmp(p + i, lit, n) == 0) return true;
  }
  return false;
}

void Trim(const char** p, size_t* len) {
  while (*len > 0 && (**p == ' ' || **p == '\t')) ++*p, --*len;
  while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t')) --*len;
}

}  // namespace

// ---------------------------------------------------------------------------
// HttpResponseScanner

void HttpResponseScanner::Reset() {
  state_ = State::kStatusLine;
  status_ = 0;
  keep_alive_ = false;
  chunked_ = false;
  other_coding_ = false;
  content_length_ = -1;
  body_left_ = 0;
  bytes_ = 0;
  partial_.clear();
}

size_t HttpResponseScanner::Feed(const char* data, size_t n) {
  size_t i = 0;
  while (i < n && state_ != State::kDone && state_ != State::kFailed) {
    switch (state_) {
      case State::kBody:
      case State::kChunkData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(n - i, body_left_));
        i += take;
        body_left_ -= take;
        if (body_left_ == 0) state_ = state_ == State::kBody ? State::kDone : State::kChunkCrlf;
        break;
      }
      case State::kUntilClose:
        i = n;
        break;
      default: {
        // A line-oriented state. The common case -- the whole head in one
        // read -- parses lines in place; only a line split between reads is
        // copied.
        const char* nl = static_cast<const char*>(std::memchr(data + i, '\n', n - i));
        if (nl == nullptr) {
          partial_.append(data + i,
                          std::min(n - i, kMaxLine - std::min(kMaxLine, partial_.size())));
          i = n;
          break;
        }
        const size_t end = static_cast<size_t>(nl - data);
        const char* line = data + i;
        size_t len = end - i;
        if (!partial_.empty()) {
          partial_.append(line, std::min(len, kMaxLine - std::min(kMaxLine, partial_.size())));
          line = partial_.data();
          len = partial_.size();
        }
        i = end + 1;
        if (len > 0 && line[len - 1] == '\r') --len;
        OnLine(line, len);
        partial_.clear();
        break;
      }
    }
  }
  bytes_ += i;
  return i;
}

void HttpResponseScanner::OnEof() {
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
  } else if (state_ != State::kDone) {
    state_ = State::kFailed;
  }
}

bool HttpResponseScanner::OnLine(const char* line, size_t len) {
  switch (state_) {
    case State::kStatusLine:
      // Tolerate stray empty lines before the status line (RFC 9112 2.2).
      return len == 0 || OnStatusLine(line, len);
    case State::kHeaders:
      if (len == 0) {
        OnHeadersEnd();
      } else {
        OnHeader(line, len);
      }
      return state_ != State::kFailed;
    case State::kChunkSize: {
      uint64_t size = 0;
      size_t k = 0;
      for (; k < len; ++k) {
        const char c = line[k];
        int v;
        if (IsDigit(c)) {
          v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
          v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
          v = c - 'A' + 10;
        } else {
          break;
        }
        if (size >> 56) break;  // absurd size: fails below
        size = size * 16 + static_cast<uint64_t>(v);
      }
      // At least one digit, then nothing or extensions / whitespace.
      if (k == 0 || (k < len && line[k] != ';' && line[k] != ' ' && line[k] != '\t')) {
        state_ = State::kFailed;
        return false;
      }
      if (size == 0) {
        state_ = State::kTrailers;
      } else {
        body_left_ = size;
        state_ = State::kChunkData;
      }
      return true;
    }
    case State::kChunkCrlf:
      if (len != 0) {
        state_ = State::kFailed;
        return false;
      }
      state_ = State::kChunkSize;
      return true;
    case State::kTrailers:
      if (len == 0) state_ = State::kDone;
      return true;
    default:
      return true;
  }
}

bool HttpResponseScanner::OnStatusLine(const char* line, size_t len) {
  // "HTTP/1.x SSS[ reason]"
  if (len < 12 || std::memcmp(line, "HTTP/1.", 7) != 0 || !IsDigit(line[7]) || line[8] != ' ' ||
      !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11]) ||
      (len > 12 && line[12] != ' ')) {
    state_ = State::kFailed;
    return false;
  }
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it.
  keep_alive_ = line[7] != '0';
  chunked_ = false;
  other_coding_ = false;
  content_length_ = -1;
  state_ = State::kHeaders;
  return true;
}

void HttpResponseScanner::OnHeader(const char* line, size_t len) {
  const char* colon = static_cast<const char*>(std::memchr(line, ':', len));
  if (colon == nullptr) return;  // not a header we read; tolerate it
  const char* name = line;
  size_t name_len = static_cast<size_t>(colon - line);
  const char* value = colon + 1;
  size_t value_len = len - name_len - 1;
  Trim(&name, &name_len);
  Trim(&value, &value_len);
  if (EqualsNoCase(name, name_len, "content-length")) {
    int64_t v = 0;
    if (value_len == 0 || value_len > 18) {
      state_ = State::kFailed;
      return;
    }
    for (size_t k = 0; k < value_len; ++k) {
      if (!IsDigit(value[k])) {
        state_ = State::kFailed;
        return;
      }
      v = v * 10 + (value[k] - '0');
    }
    // Two different lengths: the response cannot be delimited safely.
    if (content_length_ >= 0 && content_length_ != v) {
      state_ = State::kFailed;
      return;
    }
    content_length_ = v;
  } else if (EqualsNoCase(name, name_len, "transfer-encoding")) {
    // Only a final "chunked" delimits the body; any other final coding runs
    // until the connection closes (RFC 9112 6.3).
    const size_t n = std::strlen("chunked");
    chunked_ = value_len >= n && strncasecmp(value + value_len - n, "chunked", n) == 0;
    other_coding_ = !chunked_;
  } else if (EqualsNoCase(name, name_len, "connection")) {
    if (ContainsNoCase(value, value_len, "close")) {
      keep_alive_ = false;
    } else if (ContainsNoCase(value, value_len, "keep-alive")) {
      keep_alive_ = true;
    }
  }
}

void HttpResponseScanner::OnHeadersEnd() {
  if (status_ >= 100 && status_ < 200) {
    // An interim response (100 Continue, 103 Early Hints): the real one
    // follows. 101 would switch protocols, which a GET check never asks for.
    state_ = status_ == 101 ? State::kFailed : State::kStatusLine;
    status_ = 0;
    return;
  }
  if (status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else if (chunked_) {
    state_ = State::kChunkSize;
  } else if (other_coding_ || content_length_ < 0) {
    state_ = State::kUntilClose;
    keep_alive_ = false;
  } else if (content_length_ == 0) {
    state_ = State::kDone;
  } else {
    body_left_ = static_cast<uint64_t>(content_length_);
    state_ = State::kBody;
  }
}

// ---------------------------------------------------------------------------
// NativeHttpProber

NativeHttpProber::NativeHttpProber(Poller* poller, ProbeListener* listener, const Clock* clock)
    : poller_(poller), listener_(listener), clock_(clock) {}

NativeHttpProber::~NativeHttpProber() {
  for (auto& t : targets_) {
    if (t) CloseSocket(t.get());
  }
}

NativeHttpProber::Target* NativeHttpProber::Find(uint32_t target) const {
  return target < targets_.size() ? targets_[target].get() : nullptr;
}

void NativeHttpProber::AddTarget(uint32_t target, const ProbeTarget& spec) {
  if (Find(target) != nullptr) RemoveTarget(target);
  if (target >= targets_.size()) targets_.resize(target + 1);
  auto t = std::make_unique<Target>();
  t->id = target;
  t->keepalive = spec.keepalive;
  t->ok_codes = spec.ok_codes;
  t->timeout_ms = spec.timeout_ms;
  t->widened_timeout_ms = spec.widened_timeout_ms;
  t->valid = FillSocketAddress(spec.ip, spec.port, &t->addr, &t->addr_len);
  // The path goes into the request line verbatim: a space or control
  // character would make another request of it. Such a target cannot be
  // checked, which is a bad answer (libcurl refuses such a URL too).
  const std::string path = spec.path.empty() ? "/" : spec.path;
  for (unsigned char c : path) {
    if (c <= ' ' || c == 0x7f) t->valid = false;
  }
  const bool v6 = spec.ip.find(':') != std::string::npos;
  const std::string host = (v6 ? "[" + spec.ip + "]" : spec.ip) + ":" + std::to_string(spec.port);
  t->request =
      "GET " + path + " HTTP/1.1\r\nHost: " + host +
      "\r\nUser-Agent: jcm-health\r\nConnection: " + (spec.keepalive ? "keep-alive" : "close") +
      "\r\n\r\n";
  targets_[target] = std::move(t);
}

void NativeHttpProber::RemoveTarget(uint32_t target) {
  Target* t = Find(target);
  if (t == nullptr) return;
  // Its deadline and any queued result name a check id no target will hold
  // again, so they are dropped when they come up.
  CloseSocket(t);
  targets_[target].reset();
}

void NativeHttpProber::Start(uint32_t target) {
  Target* t = Find(target);
  if (t == nullptr || t->check != 0) return;
  t->check = next_check_++;
  t->retried = false;
  deadlines_.push(
      Deadline{clock_->MonoMs() +
                   (widened_ ? std::max(t->timeout_ms, t->widened_timeout_ms) : t->timeout_ms),
               target, t->check});
  in_start_ = true;
  if (!t->valid) {
    Finish(t, CheckOutcome::kBadAnswer);
  } else if (t->state == ConnState::kIdle || (t->state == ConnState::kReading && t->stale > 0)) {
    // Reuse the connection. With a late answer of a timed-out check still
    // due on it, the request is pipelined behind it: HTTP/1.1 answers in
    // order, so Read skips the late one and reads ours.
    t->reused = true;
    t->sent = 0;
    if (t->stale == 0) t->scanner.Reset();
    t->state = ConnState::kSending;
    Send(t);
  } else if (t->state == ConnState::kConnecting) {
    // A connect outlived the previous check's timeout: keep waiting for it
    // rather than start over (see RunTimers).
  } else {
    Connect(t);
  }
  in_start_ = false;
}

void NativeHttpProber::Connect(Target* t) {
  CloseSocket(t);
  t->reused = false;
  t->stale = 0;
  t->sent = 0;
  t->scanner.Reset();
  const int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    // Out of descriptors is our problem, not the node's; but the check did
    // not happen, and the node cannot be shown healthy on no evidence.
    Finish(t, CheckOutcome::kNoAnswer);
    return;
  }
  ++connections_opened_;
  t->fd = fd;
  if (static_cast<size_t>(fd) >= fd_target_.size()) fd_target_.resize(fd + 1024);
  fd_target_[fd] = t->id;
  if (!BindSource(fd, source_, t->addr.ss_family)) {
    // Our source address is gone: our problem, no evidence about the node.
    CloseSocket(t);
    Finish(t, CheckOutcome::kNoAnswer);
    return;
  }
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&t->addr), t->addr_len);
  if (rc != 0 && errno != EINPROGRESS) {
    // Refused at once (common on loopback): the node answered, badly.
    CloseSocket(t);
    Finish(t, CheckOutcome::kBadAnswer);
    return;
  }
  // Registered after connect: if the handshake completed in between, the
  // ADD's own readiness check reports it, so no edge is missed.
  if (!poller_->Watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this)) {
    CloseSocket(t);
    Finish(t, CheckOutcome::kNoAnswer);
    return;
  }
  t->state = ConnState::kConnecting;
  if (rc == 0) Send(t);
}

void NativeHttpProber::Send(Target* t) {
  // While the connect is in progress send() says EAGAIN, and once it failed
  // it returns the connect's error (ECONNREFUSED): no getsockopt(SO_ERROR)
  // round trip is needed to learn how the connect went.
  const ssize_t n = send(t->fd, t->request.data() + t->sent, t->request.size() - t->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) {
    t->sent += static_cast<size_t>(n);
    t->state = t->sent == t->request.size() ? ConnState::kReading : ConnState::kSending;
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  FailOrRetry(t);
}

void NativeHttpProber::OnFdEvent(int fd, uint32_t events) {
  if (static_cast<size_t>(fd) >= fd_target_.size()) return;
  Target* t = Find(fd_target_[fd]);
  if (t == nullptr || t->fd != fd) return;
  switch (t->state) {
    case ConnState::kIdle:
      // Between checks nothing may arrive: readable means the server closed
      // the connection (or sent junk). Drop it now so that the next check
      // opens a fresh one instead of discovering the close itself.
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) CloseSocket(t);
      return;
    case ConnState::kConnecting:
      if (t->check == 0) {
        // Connected (or failed) after its check timed out: hold it for the
        // next check.
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          CloseSocket(t);
        } else if (events & EPOLLOUT) {
          t->state = ConnState::kIdle;
        }
        return;
      }
      Send(t);
      return;
    case ConnState::kSending:
      Send(t);
      // The answer cannot precede the request; with edge-triggered events it
      // is reported by its own edge.
      return;
    case ConnState::kReading:
      Read(t, events);
      return;
    case ConnState::kClosed:
      return;
  }
}

void NativeHttpProber::Read(Target* t, uint32_t events) {
  for (;;) {
    const ssize_t n = recv(t->fd, buf_.data(), buf_.size(), 0);
    if (n > 0) {
      size_t used = t->scanner.Feed(buf_.data(), static_cast<size_t>(n));
      while (t->scanner.done() && t->stale > 0) {
        // The late answer of a timed-out check: skip it, then read on.
        --t->stale;
        t->scanner.Reset();
        used += t->scanner.Feed(buf_.data() + used, static_cast<size_t>(n) - used);
      }
      if (t->scanner.failed()) {
        CloseSocket(t);
        if (t->check != 0) Finish(t, CheckOutcome::kBadAnswer);
        return;
      }
      if (t->scanner.bytes() > kMaxResponseBytes && (t->stale > 0 || t->check == 0)) {
        // A late answer past the cap: not worth reading to its end.
        if (t->check == 0) {
          CloseSocket(t);
        } else {
          FailOrRetry(t);
        }
        return;
      }
      if (t->check == 0) {
        // Only late answers were due and no check is waiting.
        if (t->scanner.bytes() == 0 && t->stale == 0) t->state = ConnState::kIdle;
        if (t->state == ConnState::kReading) continue;
        return;
      }
      const bool ok = CodeAccepted(t->scanner.status(), t->ok_codes);
      if (t->scanner.done()) {
        // Reuse only a connection left clean: nothing read past the response
        // (a full buffer may have left more in the kernel), no close seen.
        const bool reuse = t->keepalive && t->scanner.keep_alive() &&
                           used == static_cast<size_t>(n) && used < buf_.size() &&
                           !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR));
        if (reuse) {
          t->state = ConnState::kIdle;
        } else {
          CloseSocket(t);
        }
        Finish(t, ok ? CheckOutcome::kSuccess : CheckOutcome::kBadAnswer);
        return;
      }
      if (t->scanner.bytes() > kMaxResponseBytes) {
        // Enough: a health check reads a status, not a payload. The code, if
        // we have it, stands.
        CloseSocket(t);
        Finish(t,
               t->scanner.status() != 0 && ok ? CheckOutcome::kSuccess : CheckOutcome::kBadAnswer);
        return;
      }
      continue;  // edge-triggered: read until EAGAIN
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // Closed (n == 0) or reset.
    if (n == 0 && t->stale == 0) t->scanner.OnEof();
    if (t->check == 0) {
      CloseSocket(t);
    } else if (t->scanner.done()) {
      CloseSocket(t);
      Finish(t, CodeAccepted(t->scanner.status(), t->ok_codes) ? CheckOutcome::kSuccess
                                                               : CheckOutcome::kBadAnswer);
    } else if (t->scanner.bytes() == 0 || t->stale > 0) {
      // Nothing of our answer arrived: on a reused connection the server
      // may just have closed it; FailOrRetry decides.
      FailOrRetry(t);
    } else {
      CloseSocket(t);
      Finish(t, CheckOutcome::kBadAnswer);
    }
    return;
  }
}

void NativeHttpProber::FailOrRetry(Target* t) {
  if (t->reused && !t->retried) {
    // The server closed the keep-alive connection while it was idle and we
    // had not noticed yet: that says nothing about the node's health.
    ++retries_;
    t->retried = true;
    Connect(t);
    return;
  }
  CloseSocket(t);
  Finish(t, CheckOutcome::kBadAnswer);
}

void NativeHttpProber::Finish(Target* t, CheckOutcome outcome) {
  if (in_start_) {
    ready_.push_back(Ready{t->id, t->check, outcome});
    return;
  }
  t->check = 0;
  listener_->OnProbeResult(t->id, outcome);
}

void NativeHttpProber::CloseSocket(Target* t) {
  if (t->fd < 0) return;
  poller_->Unwatch(t->fd);
  linger lg{1, 0};
  setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(t->fd);
  t->fd = -1;
  t->state = ConnState::kClosed;
}

void NativeHttpProber::RunTimers(int64_t now_ms) {
  if (!ready_.empty()) {
    std::vector<Ready> ready;
    ready.swap(ready_);
    for (const Ready& r : ready) {
      Target* t = Find(r.target);
      if (t != nullptr && t->check == r.check) Finish(t, r.outcome);
    }
  }
  while (!deadlines_.empty() && deadlines_.top().at <= now_ms) {
    const Deadline d = deadlines_.top();
    deadlines_.pop();
    Target* t = Find(d.target);
    if (t == nullptr || t->check != d.check) continue;  // answered already
    // A timeout says the node was slow -- or that this loop, or the machine,
    // was. Tearing the connection down would make every later check pay for
    // a new one, which on an overloaded machine (or a server whose accept
    // queue overflowed) makes more checks time out: a collapse measured
    // with libcurl. So: a connect in progress goes on for the next check;
    // a request sent keeps its connection, and its late answer will be
    // skipped (one at most: a second timeout on top closes it, the server
    // is not answering).
    if (t->state == ConnState::kReading && t->stale == 0) {
      t->stale = 1;  // the scanner goes on with it, wherever it got to
    } else if (t->state != ConnState::kConnecting) {
      CloseSocket(t);
    }
    Finish(t, CheckOutcome::kNoAnswer);
  }
}

int64_t NativeHttpProber::NextTimerMs() const {
  if (!ready_.empty()) return 0;
  return deadlines_.empty() ? std::numeric_limits<int64_t>::max() : deadlines_.top().at;
}

}  // namespace jcm
