#include "healthcheck/tcp_prober.h"
#include "healthcheck/socket_address.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace jcm {

TcpProber::TcpProber(Poller* poller, ProbeListener* listener, const Clock* clock)
    : poller_(poller), listener_(listener), clock_(clock) {}

TcpProber::~TcpProber() {
  for (auto& t : targets_) {
    if (t) CloseSocket(t.get());
  }
}

void TcpProber::AddTarget(uint32_t target, const ProbeTarget& spec) {
  if (target >= targets_.size()) targets_.resize(target + 1);
  auto t = std::make_unique<Target>();
  t->timeout_ms = spec.timeout_ms;
  t->widened_timeout_ms = spec.widened_timeout_ms;
  t->valid = FillSocketAddress(spec.ip, spec.port, &t->addr, &t->addr_len);
  targets_[target] = std::move(t);
}

void TcpProber::RemoveTarget(uint32_t target) {
  if (target >= targets_.size() || !targets_[target]) return;
  CloseSocket(targets_[target].get());
  targets_[target].reset();
  // A queued immediate result of this target must not reach the listener.
  for (auto& r : ready_) {
    if (r.first == target) r.first = std::numeric_limits<uint32_t>::max();
  }
}

void TcpProber::CloseSocket(Target* t) {
  if (t->fd < 0) return;
  poller_->Unwatch(t->fd);
  linger lg{1, 0};
  setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  close(t->fd);
  t->fd = -1;
  ++t->attempt;
}

void TcpProber::Start(uint32_t target) {
  if (target >= targets_.size() || !targets_[target]) return;
  Target* t = targets_[target].get();
  if (t->fd >= 0) return;
  if (!t->valid) {
    ready_.emplace_back(target, CheckOutcome::kBadAnswer);
    return;
  }
  int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    // Out of descriptors is our problem, not the node's; but the check did
    // not happen, and the node cannot be shown healthy on no evidence.
    ready_.emplace_back(target, CheckOutcome::kNoAnswer);
    return;
  }
  if (!BindSource(fd, source_, t->addr.ss_family)) {
    // Our source address is gone: our problem, no evidence about the node.
    close(fd);
    ready_.emplace_back(target, CheckOutcome::kNoAnswer);
    return;
  }
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&t->addr), t->addr_len);
  if (rc == 0 || errno != EINPROGRESS) {
    const CheckOutcome outcome = rc == 0 ? CheckOutcome::kSuccess : CheckOutcome::kBadAnswer;
    t->fd = fd;
    CloseSocket(t);
    ready_.emplace_back(target, outcome);
    return;
  }
  t->fd = fd;
  if (static_cast<size_t>(fd) >= fd_target_.size()) fd_target_.resize(fd + 1024);
  fd_target_[fd] = target;
  poller_->Watch(fd, EPOLLOUT, this);
  deadlines_.push(
      Deadline{clock_->MonoMs() +
                   (widened_ ? std::max(t->timeout_ms, t->widened_timeout_ms) : t->timeout_ms),
               target, t->attempt});
}

void TcpProber::OnFdEvent(int fd, uint32_t) {
  if (static_cast<size_t>(fd) >= fd_target_.size()) return;
  const uint32_t target = fd_target_[fd];
  if (target >= targets_.size() || !targets_[target] || targets_[target]->fd != fd) return;
  Target* t = targets_[target].get();
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err == 0) {
    // SO_ERROR is also 0 while the connect is still in progress (a stale
    // event of a reused descriptor): only a peer address proves success.
    sockaddr_storage peer{};
    socklen_t plen = sizeof(peer);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return;
  }
  CloseSocket(t);
  Finish(target, err == 0 ? CheckOutcome::kSuccess : CheckOutcome::kBadAnswer);
}

void TcpProber::RunTimers(int64_t now_ms) {
  if (!ready_.empty()) {
    std::vector<std::pair<uint32_t, CheckOutcome>> ready;
    ready.swap(ready_);
    for (auto& [target, outcome] : ready) {
      if (target != std::numeric_limits<uint32_t>::max()) Finish(target, outcome);
    }
  }
  while (!deadlines_.empty() && deadlines_.top().at <= now_ms) {
    Deadline d = deadlines_.top();
    deadlines_.pop();
    if (d.target >= targets_.size() || !targets_[d.target]) continue;
    Target* t = targets_[d.target].get();
    if (t->fd < 0 || t->attempt != d.attempt) continue;
    CloseSocket(t);
    Finish(d.target, CheckOutcome::kNoAnswer);
  }
}

int64_t TcpProber::NextTimerMs() const {
  if (!ready_.empty()) return 0;
  return deadlines_.empty() ? std::numeric_limits<int64_t>::max() : deadlines_.top().at;
}

void TcpProber::Finish(uint32_t target, CheckOutcome outcome) {
  listener_->OnProbeResult(target, outcome);
}

}  // namespace jcm
