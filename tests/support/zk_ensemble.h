// ZkEnsemble: a replicated ZooKeeper of N members (Debian's Java server) on
// loopback for one test binary, as production runs it. Each member has its
// own temp directory (myid, data, zoo.cfg listing every member as
// server.N=127.0.0.1:peerPort:electionPort) and free ports; members are
// started, stopped, killed (SIGKILL) and paused (SIGSTOP/SIGCONT) by PID, one
// at a time, and a killed member restarts on the same ports and data so the
// ensemble heals.
//
// Who leads is read with the "srvr" four-letter command ("Mode: leader" /
// "Mode: follower"; a member without a quorum answers that it is not
// serving). Which member a client session is attached to is read with
// "cons" (each connection's sid=0x...), so a test can pick the member that
// carries a given jcm-server.
//
// Thread-safety: not thread-safe; owned by one test thread, except the
// read-only queries (Mode, Leader, FourLetterWord, MemberServingSession),
// which only open sockets and may be called from other threads. The
// destructor kills every member (by PID) and removes the directories.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/test_env.h"

namespace jcm::testing {

struct ZkEnsembleOptions {
  int members = 3;
  // A short tick makes elections and failure detection quick; ZooKeeper
  // clamps client session timeouts into [2, 20] ticks unless the bounds
  // below say otherwise.
  int tick_time_ms = 500;
  int init_limit = 10;  // ticks a follower has to connect and sync to a new leader
  int sync_limit = 2;   // ticks a follower (or the leader) may stay silent before it is dropped
  int min_session_timeout_ms = 0;  // 0: ZooKeeper's default, 2 ticks
  int max_session_timeout_ms = 0;  // 0: ZooKeeper's default, 20 ticks
  // Three JVMs share a 2-core test machine with everything else.
  std::string max_heap = "-Xmx128m";
  std::chrono::milliseconds start_timeout{60000};
};

class ZkEnsemble {
 public:
  explicit ZkEnsemble(ZkEnsembleOptions options = {});
  ~ZkEnsemble();
  ZkEnsemble(const ZkEnsemble&) = delete;
  ZkEnsemble& operator=(const ZkEnsemble&) = delete;

  // Starts every member and waits until they form a quorum (one leader, the
  // rest following). Returns false with the reason (and logs) in *error.
  bool Start(std::string* error);
  // (Re)starts member i and waits until it serves as leader or follower.
  bool StartMember(int i, std::string* error);
  // SIGKILL at once (a crash); its data stays.
  void KillMember(int i);
  // SIGTERM, SIGKILL after `grace`; its data stays.
  void StopMember(int i, std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // SIGSTOP / SIGCONT: a member frozen (GC pause, stalled VM) with its
  // sockets open.
  bool PauseMember(int i);
  bool ResumeMember(int i);
  bool running(int i);
  pid_t pid(int i) const;

  int size() const { return static_cast<int>(members_.size()); }
  int client_port(int i) const;
  // "127.0.0.1:P1,127.0.0.1:P2,...", what jcm-server's --zk takes.
  std::string connect_string() const;
  const ZkEnsembleOptions& options() const { return options_; }

  // "leader", "follower" or "" (not serving: down, paused, electing).
  std::string Mode(int i, std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const;
  // The member that says it leads, when every member not in `skip` serves
  // and exactly one leads; -1 otherwise.
  int Leader(const std::vector<int>& skip = {}) const;
  // Polls Leader(skip) until it is >= 0 or `timeout` passes.
  int WaitForQuorum(std::chrono::milliseconds timeout, const std::vector<int>& skip = {}) const;
  // The member whose "cons" lists session `session_id` ("0x..." as jcm's
  // /sys/status prints it); -1 when none does. `skip` members are not asked.
  int MemberServingSession(const std::string& session_id, const std::vector<int>& skip = {}) const;

  std::string FourLetterWord(
      int i, const std::string& command,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) const;
  std::string log(int i) const;
  // Every member's log tail, headed by its ports and mode.
  std::string AllLogs(size_t tail_bytes = 4000) const;

 private:
  struct Member {
    std::string dir;
    std::string config_path;
    std::string log_path;
    int client_port = 0;
    int peer_port = 0;
    int election_port = 0;
    ChildProcess process;
  };
  bool Launch(int i, std::string* error);

  ZkEnsembleOptions options_;
  TempDir dir_;
  std::vector<std::unique_ptr<Member>> members_;
};

}  // namespace jcm::testing
