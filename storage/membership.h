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
// A member znode is named member-<token>-<seq>, <token> random per
// registration (Curator's "protected" mode): when the reply to the create is
// lost with the connection, Register() finds the znode it may have made by
// its token (and our session as its ephemeral owner) instead of creating a
// second one, which as an orphan would hold the lowest sequence and stall
// the election until the session ends.
//
// Hostile or foreign znodes under servers/ (a sequence that does not fit
// 64 bits, a document without a string "address") are not members: each is
// logged once and skipped.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "model/status.h"
#include "storage/zk_api.h"

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
  Membership(ZkApi* zk, std::string root, std::string self_address);

  std::string ServersDir() const { return root_ + "/servers"; }

  // Creates this session's member znode (replacing any earlier one of ours).
  Status Register();
  // Fails with Conflict naming the member when another live member (not of
  // our session) advertises our address. A member of a dead session (this
  // address's previous process, killed) goes when that session expires:
  // waits up to `wait_ms` for it before failing.
  Status EnsureAddressUnused(int wait_ms);
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

  // The sequence number ending `id`, or -1 when there is none or it does not
  // fit an int64_t.
  static int64_t SeqOf(const std::string& id);

  // Test seam: called after a create that ZooKeeper applied; returning true
  // drops the reply, as a connection loss at that moment would.
  void SetLoseCreateReplyForTest(std::function<bool()> hook);

 private:
  ZkApi* const zk_;
  const std::string root_;
  const std::string self_address_;
  const int64_t started_ms_;

  // Our znode under the token `token` if it exists in this session.
  Result<std::string> FindOwn(const std::string& token);
  // Logs a skipped znode once per id.
  void ReportSkipped(const std::string& id, const std::string& why);

  mutable std::mutex mu_;
  std::string self_path_;             // GUARDED_BY(mu_)
  std::set<std::string> reported_;    // GUARDED_BY(mu_)
  std::function<bool()> lose_reply_;  // GUARDED_BY(mu_)
};

}  // namespace jcm
