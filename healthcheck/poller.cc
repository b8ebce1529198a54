#include "healthcheck/poller.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace jcm {

Poller::~Poller() {
  if (epfd_ >= 0) close(epfd_);
}

Status Poller::Init() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return Status::Internal(std::string("epoll_create1: ") + std::strerror(errno));
  return Status::Ok();
}

bool Poller::Watch(int fd, uint32_t events, FdHandler* handler) {
  if (fd < 0) return false;
  if (static_cast<size_t>(fd) >= handlers_.size()) handlers_.resize(fd + 1024, nullptr);
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  const bool known = handlers_[fd] != nullptr;
  int rc = epoll_ctl(epfd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
  if (rc != 0 && errno == ENOENT) rc = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  if (rc != 0 && errno == EEXIST) rc = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  if (rc != 0) return false;
  handlers_[fd] = handler;
  return true;
}

void Poller::Unwatch(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= handlers_.size() || handlers_[fd] == nullptr) return;
  handlers_[fd] = nullptr;
  // Fails harmlessly if the descriptor was already closed (epoll forgot it).
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

int Poller::Wait(int timeout_ms) {
  int n = epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  for (int i = 0; i < n; ++i) {
    const int fd = events_[i].data.fd;
    // A handler earlier in this batch may have closed and unwatched it.
    if (static_cast<size_t>(fd) < handlers_.size() && handlers_[fd] != nullptr) {
      handlers_[fd]->OnFdEvent(fd, events_[i].events);
    }
  }
  return n;
}

}  // namespace jcm
