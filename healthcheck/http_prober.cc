#include "healthcheck/http_prober.h"

#include <algorithm>
#include <limits>

namespace jcm {

struct HttpProber::Multi {
  HttpProber* owner = nullptr;
  CURLM* handle = nullptr;
  int64_t timer_at = -1;  // monotonic ms; -1 = no timer
  long keepalive_targets = 0;
};

struct HttpProber::Target {
  uint32_t id = 0;
  CURL* easy = nullptr;
  Multi* multi = nullptr;
  bool running = false;
  bool keepalive = true;
  std::vector<int> ok_codes;
  std::string url;
  std::string interface;  // CURLOPT_INTERFACE keeps a pointer to it
};

namespace {

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

bool CodeAccepted(long code, const std::vector<int>& ok_codes) {
  if (ok_codes.empty()) return code >= 200 && code < 300;
  return std::find(ok_codes.begin(), ok_codes.end(), static_cast<int>(code)) != ok_codes.end();
}

}  // namespace

HttpProber::HttpProber(Poller* poller, ProbeListener* listener, int multi_handles,
                       const Clock* clock)
    : poller_(poller), listener_(listener), clock_(clock) {
  multi_handles = std::max(1, multi_handles);
  for (int i = 0; i < multi_handles; ++i) {
    auto m = std::make_unique<Multi>();
    m->owner = this;
    m->handle = curl_multi_init();
    curl_multi_setopt(m->handle, CURLMOPT_SOCKETFUNCTION, &HttpProber::SocketCallback);
    curl_multi_setopt(m->handle, CURLMOPT_SOCKETDATA, m.get());
    curl_multi_setopt(m->handle, CURLMOPT_TIMERFUNCTION, &HttpProber::TimerCallback);
    curl_multi_setopt(m->handle, CURLMOPT_TIMERDATA, m.get());
    curl_multi_setopt(m->handle, CURLMOPT_MAXCONNECTS, 1L);
    multis_.push_back(std::move(m));
  }
}

HttpProber::~HttpProber() {
  for (auto& t : targets_) {
    if (!t) continue;
    if (t->running) curl_multi_remove_handle(t->multi->handle, t->easy);
    curl_easy_cleanup(t->easy);
  }
  targets_.clear();
  // Cleaning a multi closes its cached connections, calling the socket
  // callback: unwatch them through fd_multi_ while we still can.
  for (auto& m : multis_) curl_multi_cleanup(m->handle);
}

void HttpProber::AddTarget(uint32_t target, const ProbeTarget& spec) {
  if (target >= targets_.size()) targets_.resize(target + 1);
  auto t = std::make_unique<Target>();
  t->id = target;
  t->multi = multis_[target % multis_.size()].get();
  t->keepalive = spec.keepalive;
  t->ok_codes = spec.ok_codes;
  const bool v6 = spec.ip.find(':') != std::string::npos;
  t->url = "http://" + (v6 ? "[" + spec.ip + "]" : spec.ip) + ":" + std::to_string(spec.port) +
           spec.path;
  CURL* e = curl_easy_init();
  t->easy = e;
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(spec.timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(spec.timeout_ms));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &DiscardBody);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "jcm-healthcheck");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  // "host!" makes curl take it as an address, never an interface name. An
  // IPv4 source is not forced on an IPv6 node (nor the reverse).
  if (!source_ip_.empty() && (source_ip_.find(':') != std::string::npos) == v6) {
    t->interface = "host!" + source_ip_;
    curl_easy_setopt(e, CURLOPT_INTERFACE, t->interface.c_str());
  }
  if (!spec.keepalive) {
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  } else {
    // Room in the multi's connection cache for every keep-alive target it
    // serves, so none of their idle connections is closed to make space.
    t->multi->keepalive_targets++;
    curl_multi_setopt(t->multi->handle, CURLMOPT_MAXCONNECTS,
                      std::max(1L, t->multi->keepalive_targets));
  }
  targets_[target] = std::move(t);
}

void HttpProber::RemoveTarget(uint32_t target) {
  if (target >= targets_.size() || !targets_[target]) return;
  Target* t = targets_[target].get();
  if (t->running) curl_multi_remove_handle(t->multi->handle, t->easy);
  curl_easy_cleanup(t->easy);
  if (t->keepalive) t->multi->keepalive_targets--;
  targets_[target].reset();
}

void HttpProber::Start(uint32_t target) {
  if (target >= targets_.size() || !targets_[target]) return;
  Target* t = targets_[target].get();
  if (t->running) return;
  t->running = true;
  // Adding arms the multi's timer at 0 ms; the transfer begins when the loop
  // runs the timers, never inside Start.
  curl_multi_add_handle(t->multi->handle, t->easy);
}

int HttpProber::SocketCallback(CURL*, curl_socket_t s, int what, void* userp, void*) {
  auto* m = static_cast<Multi*>(userp);
  HttpProber* self = m->owner;
  if (what == CURL_POLL_REMOVE) {
    self->poller_->Unwatch(s);
    return 0;
  }
  uint32_t events = 0;
  if (what & CURL_POLL_IN) events |= EPOLLIN;
  if (what & CURL_POLL_OUT) events |= EPOLLOUT;
  if (static_cast<size_t>(s) >= self->fd_multi_.size()) self->fd_multi_.resize(s + 1024, nullptr);
  self->fd_multi_[s] = m;
  self->poller_->Watch(s, events, self);
  return 0;
}

int HttpProber::TimerCallback(CURLM*, long timeout_ms, void* userp) {
  auto* m = static_cast<Multi*>(userp);
  m->timer_at = timeout_ms < 0 ? -1 : m->owner->clock_->MonoMs() + timeout_ms;
  return 0;
}

void HttpProber::OnFdEvent(int fd, uint32_t events) {
  if (static_cast<size_t>(fd) >= fd_multi_.size() || fd_multi_[fd] == nullptr) return;
  Multi* m = fd_multi_[fd];
  int flags = 0;
  if (events & (EPOLLIN | EPOLLHUP)) flags |= CURL_CSELECT_IN;
  if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
  if (events & EPOLLERR) flags |= CURL_CSELECT_ERR;
  int running = 0;
  curl_multi_socket_action(m->handle, fd, flags, &running);
  Drain(m);
}

void HttpProber::RunTimers(int64_t now_ms) {
  for (auto& m : multis_) {
    if (m->timer_at < 0 || m->timer_at > now_ms) continue;
    int running = 0;
    curl_multi_socket_action(m->handle, CURL_SOCKET_TIMEOUT, 0, &running);
    // Ask for the next expiry rather than rely on the timer callback: libcurl
    // calls it only when the earliest expiry changes, so a timer we ran a
    // fraction of a millisecond early (ms rounding) would never be re-armed
    // and its transfer would stall until the check timed out.
    long next_ms = -1;
    curl_multi_timeout(m->handle, &next_ms);
    m->timer_at = next_ms < 0 ? -1 : now_ms + next_ms;
    Drain(m.get());
  }
}

int64_t HttpProber::NextTimerMs() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& m : multis_) {
    if (m->timer_at >= 0) next = std::min(next, m->timer_at);
  }
  return next;
}

void HttpProber::Drain(Multi* m) {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(m->handle, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* e = msg->easy_handle;
    const CURLcode rc = msg->data.result;
    Target* t = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(m->handle, e);
    if (t == nullptr) continue;
    t->running = false;
    CheckOutcome outcome;
    if (rc == CURLE_OK) {
      outcome = CodeAccepted(code, t->ok_codes) ? CheckOutcome::kSuccess : CheckOutcome::kBadAnswer;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      outcome = CheckOutcome::kNoAnswer;
    } else {
      // Refused, reset, empty reply, malformed: the node (or its host)
      // answered, badly.
      outcome = CheckOutcome::kBadAnswer;
    }
    listener_->OnProbeResult(t->id, outcome);
  }
}

}  // namespace jcm
