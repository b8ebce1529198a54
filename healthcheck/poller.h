// Poller: a thin epoll wrapper that routes readiness of a descriptor to the
// handler that registered it. The HTTP prober (curl's sockets) and the TCP
// prober (non-blocking connects) share one Poller, so one thread waits for
// all checks at once.
//
// Thread-safety: owned by the checker thread; not thread-safe.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <vector>

#include "model/status.h"

namespace jcm {

class FdHandler {
 public:
  virtual ~FdHandler() = default;
  virtual void OnFdEvent(int fd, uint32_t events) = 0;
};

class Poller {
 public:
  Poller() = default;
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  Status Init();
  // Adds or changes the watch on `fd`. Returns false if epoll refused it.
  bool Watch(int fd, uint32_t events, FdHandler* handler);
  // Forgets `fd`. Safe on a descriptor that is not watched.
  void Unwatch(int fd);
  // Waits up to timeout_ms (-1: forever) and dispatches. Returns the number
  // of events, or -1 on an error other than EINTR.
  int Wait(int timeout_ms);

 private:
  int epfd_ = -1;
  std::vector<FdHandler*> handlers_;  // indexed by fd
  std::vector<epoll_event> events_ = std::vector<epoll_event>(512);
};

}  // namespace jcm
