#include "tests/integration/healthcheck/loopback_http_targets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace jcm::testing {
namespace {

constexpr char kReply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    "Connection: keep-alive\r\n\r\nok\n";

}  // namespace

LoopbackHttpTargets::LoopbackHttpTargets() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
}

LoopbackHttpTargets::~LoopbackHttpTargets() {
  stop_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  thread_.join();
  for (Listener& l : listeners_) Close(&l);
  close(wake_fd_);
  close(epfd_);
}

bool LoopbackHttpTargets::Bind(Listener* l) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(l->port));
  if (inet_pton(AF_INET, l->ip.c_str(), &a.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 1024) != 0) {
    close(fd);
    return false;
  }
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  l->port = ntohs(a.sin_port);
  l->fd = fd;
  return true;
}

int LoopbackHttpTargets::Add(const std::string& ip, int port) {
  std::lock_guard lock(mu_);
  Listener l;
  l.ip = ip;
  l.port = port;
  if (!Bind(&l)) return -1;
  const int index = static_cast<int>(listeners_.size());
  listeners_.push_back(std::move(l));
  listener_of_fd_[listeners_.back().fd] = index;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listeners_.back().fd;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, ev.data.fd, &ev);
  return index;
}

void LoopbackHttpTargets::Close(Listener* l) {
  for (int c : l->conns) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c, nullptr);
    conn_owner_.erase(c);
    pending_.erase(c);
    close(c);
  }
  l->conns.clear();
  if (l->fd >= 0) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, l->fd, nullptr);
    listener_of_fd_.erase(l->fd);
    close(l->fd);
    l->fd = -1;
  }
}

void LoopbackHttpTargets::Stop(int index) {
  std::lock_guard lock(mu_);
  Close(&listeners_[static_cast<size_t>(index)]);
}

bool LoopbackHttpTargets::Start(int index) {
  std::lock_guard lock(mu_);
  Listener& l = listeners_[static_cast<size_t>(index)];
  if (l.fd >= 0) return true;
  if (!Bind(&l)) return false;
  listener_of_fd_[l.fd] = index;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = l.fd;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, l.fd, &ev);
  return true;
}

void LoopbackHttpTargets::RefuseSource(const std::string& source_ip) {
  std::lock_guard lock(mu_);
  refused_sources_.insert(source_ip);
}

void LoopbackHttpTargets::Run() {
  epoll_event events[256];
  while (!stop_) {
    int n = epoll_wait(epfd_, events, 256, 100);
    std::lock_guard lock(mu_);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) continue;
      auto l = listener_of_fd_.find(fd);
      if (l != listener_of_fd_.end()) {
        OnAccept(l->second);
      } else if (conn_owner_.count(fd)) {
        OnReadable(fd);
      }
    }
  }
}

void LoopbackHttpTargets::OnAccept(int index) {
  Listener& l = listeners_[static_cast<size_t>(index)];
  for (;;) {
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int c = accept4(l.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof(buf));
    if (refused_sources_.count(buf)) {
      ++refused_;
      close(c);
      continue;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = c;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c, &ev);
    l.conns.insert(c);
    conn_owner_[c] = index;
  }
}

void LoopbackHttpTargets::OnReadable(int fd) {
  char buf[4096];
  std::string& pending = pending_[fd];
  for (;;) {
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got > 0) {
      pending.append(buf, static_cast<size_t>(got));
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // Closed by the peer, or an error: forget the connection.
    const int owner = conn_owner_[fd];
    listeners_[static_cast<size_t>(owner)].conns.erase(fd);
    conn_owner_.erase(fd);
    pending_.erase(fd);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    return;
  }
  std::string out;
  for (size_t end; (end = pending.find("\r\n\r\n")) != std::string::npos;) {
    pending.erase(0, end + 4);
    out += kReply;
    ++answered_;
  }
  // Replies are small; a loopback socket buffer takes them whole.
  if (!out.empty()) {
    [[maybe_unused]] ssize_t sent = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  }
}

}  // namespace jcm::testing
