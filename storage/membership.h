// Membership: this instance's ephemeral-sequential znode under
// <root>/servers, the member list, and leader election.
//
// The leader is the member with the lowest sequence number. Each instance
// watches only its predecessor (no herd when the leader goes), and also the
// children of <root>/servers, because the health-check ring needs every
// member. A member's znode holds {"address","started","pid"}.
//
// Being lowest is stable for as long as our znode exists: a later member
// always gets a higher sequence. So "my znode exists" (the fence check in
// ClusterStore) is exactly "I am still the leader I was elected as".
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "model/status.h"
#include "storage/zk_client.h"

namespace jcm {

struct MemberInfo {
  std::string id;  // znode name, e.g. "member-0000000007"
  int64_t seq = 0;
  std::string address;  // API address "host:port"
  int64_t started_ms = 0;
};

struct MemberView {
  std::vector<MemberInfo> members;  // sorted by seq
  bool self_is_leader = false;
  std::string self_id;
  std::string leader_id;
  std::string leader_address;
};

class Membership {
 public:
  Membership(ZkClient* zk, std::string root, std::string self_address);

  std::string ServersDir() const { return root_ + "/servers"; }

  // Creates this session's member znode (replacing any earlier one of ours).
  Status Register();
  // Deletes our znode now, so a successor is elected without waiting for the
  // session timeout.
  Status Deregister();
  // The session that owned our znode ended: it is gone, and so is leadership.
  void Forget();

  // Reads the member list (arming the children watch and, if we are not the
  // leader, a watch on our predecessor) and recomputes the leader.
  Result<MemberView> Refresh();

  // Full path of our znode, empty when not registered. The write fence.
  std::string self_path() const;

  static int64_t SeqOf(const std::string& id);

 private:
  ZkClient* const zk_;
  const std::string root_;
  const std::string self_address_;
  const int64_t started_ms_;

  mutable std::mutex mu_;
  std::string self_path_;  // GUARDED_BY(mu_)
};

}  // namespace jcm
