// LoopbackHttpTargets: many cheap HTTP health-check targets served by one
// thread, for tests that check hundreds or thousands of nodes. Each listener
// is an address:port on loopback; every request on it is answered
// "200 ok" with keep-alive (it reads requests only up to their blank line, so
// the checker's GET without a body is all it serves).
//
// A listener can be stopped (its socket and every connection it accepted are
// closed: new checks are refused, checks on kept-alive connections see the
// close) and started again on the same address. A source address can be
// refused on every listener: connections from it are accepted and closed at
// once, which a checker sees as a failed check while others still pass.
//
// Thread-safety: all public methods may be called from any thread; the
// serving thread and callers share one mutex.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace jcm::testing {

class LoopbackHttpTargets {
 public:
  LoopbackHttpTargets();
  ~LoopbackHttpTargets();  // stops the thread, closes everything
  LoopbackHttpTargets(const LoopbackHttpTargets&) = delete;
  LoopbackHttpTargets& operator=(const LoopbackHttpTargets&) = delete;

  // Starts serving on ip:port (port 0: a free one). Returns the listener's
  // index, or -1 when the address cannot be bound.
  int Add(const std::string& ip, int port = 0);
  const std::string& ip(int index) const { return listeners_[static_cast<size_t>(index)].ip; }
  int port(int index) const { return listeners_[static_cast<size_t>(index)].port; }
  // Closes listener `index` and its connections / binds it again. Start
  // returns false if the address cannot be bound again.
  void Stop(int index);
  bool Start(int index);
  // Connections whose peer address is `source_ip` are closed on accept.
  void RefuseSource(const std::string& source_ip);
  // Requests answered / connections refused so far, over all listeners.
  long answered() const { return answered_; }
  long refused() const { return refused_; }

 private:
  struct Listener {
    std::string ip;
    int port = 0;
    int fd = -1;
    std::set<int> conns;
  };
  bool Bind(Listener* l);
  void Close(Listener* l);
  void Run();
  void OnAccept(int index);
  void OnReadable(int fd);

  mutable std::mutex mu_;
  int epfd_ = -1;
  int wake_fd_ = -1;
  std::vector<Listener> listeners_;     // indices are stable
  std::map<int, int> listener_of_fd_;   // listen fd -> index
  std::map<int, int> conn_owner_;       // connection fd -> listener index
  std::map<int, std::string> pending_;  // connection fd -> unterminated request bytes
  std::set<std::string> refused_sources_;
  std::atomic<bool> stop_{false};
  std::atomic<long> answered_{0};
  std::atomic<long> refused_{0};
  std::thread thread_;
};

}  // namespace jcm::testing
