// TcpProber: TCP checks as a non-blocking connect watched by the checker's
// Poller. Connected = success; refused, unreachable or reset = bad answer
// (ABNORMAL); not connected within the timeout = no answer (TIMEOUT).
//
// The socket is closed with SO_LINGER 0 (a reset) right after the connect
// succeeds: a health check has nothing to say, and leaving a TIME_WAIT entry
// per check on our side would pile up tens of thousands of them.
//
// Thread-safety: owned by the checker thread; not thread-safe.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <queue>
#include <utility>
#include <vector>

#include "healthcheck/clock.h"
#include "healthcheck/poller.h"
#include "healthcheck/prober.h"
#include "healthcheck/socket_address.h"

namespace jcm {

class TcpProber : public Prober, public FdHandler {
 public:
  TcpProber(Poller* poller, ProbeListener* listener, const Clock* clock);
  ~TcpProber() override;

  // Checks from then on connect from `source` (--check-source-ip).
  void SetSource(const SourceAddress& source) { source_ = source; }

  void AddTarget(uint32_t target, const ProbeTarget& spec) override;
  void RemoveTarget(uint32_t target) override;
  void SetWidened(bool widened) override { widened_ = widened; }
  void Start(uint32_t target) override;
  void OnFdEvent(int fd, uint32_t events) override;

  // Delivers results decided without waiting (immediate connect or error)
  // and expires checks past their timeout.
  void RunTimers(int64_t now_ms) override;
  int64_t NextTimerMs() const override;

 private:
  SourceAddress source_;
  struct Target {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    bool valid = false;  // the ip parsed
    int timeout_ms = 800;
    int widened_timeout_ms = 0;  // see ProbeTarget
    int fd = -1;
    uint64_t attempt = 0;  // tells a deadline of an old check from the current one
  };
  struct Deadline {
    int64_t at;
    uint32_t target;
    uint64_t attempt;
    bool operator>(const Deadline& o) const { return at > o.at; }
  };
  void Finish(uint32_t target, CheckOutcome outcome);
  void CloseSocket(Target* t);

  Poller* poller_;
  ProbeListener* listener_;
  const Clock* clock_;
  bool widened_ = false;  // SetWidened
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<uint32_t> fd_target_;  // indexed by fd
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>> deadlines_;
  std::vector<std::pair<uint32_t, CheckOutcome>> ready_;
};

}  // namespace jcm
