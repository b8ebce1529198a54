// SigpipeGuard: while one is alive, a SIGPIPE raised by the calling
// thread's own writes is held back, and on destruction discarded, so that
// writing to a peer that closed is an EPIPE error and not a signal that ends
// the application. Plain HTTP writes use send(MSG_NOSIGNAL) and never raise
// it, but OpenSSL writes TLS records with write(2); the subscriber library
// is linked into applications that may not ignore SIGPIPE.
//
// A SIGPIPE already pending when the guard starts is left alone. The
// signal's disposition is never changed: other threads are not affected.
//
// Thread-safety: per thread; create and destroy on the same thread.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace jcm::internal {

class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace jcm::internal
