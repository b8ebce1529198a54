// NodeHealth: the rise/fall state machine of one node, free of I/O. The caller
// feeds it check outcomes and the wall-clock time of each check; it answers
// with the node's status.
//
//   - `rise` consecutive successes make the node NORMAL;
//   - `fall` consecutive failures make it ABNORMAL (it answered, badly: wrong
//     HTTP code, connection refused or reset) or TIMEOUT (no answer within the
//     check timeout). Once down, the kind of the latest failure decides, so a
//     node that stops refusing and starts hanging moves ABNORMAL -> TIMEOUT;
//   - a success resets the failure streak and a failure the success streak,
//     so a flapping node keeps the status it had until one streak is long
//     enough;
//   - an offline node (admin switch) is INVALID and not checked; when it comes
//     back it starts over like a new node.
//
// Start state. A node that some owner already judged -- after a takeover or a
// restart, the owner is given the statuses last applied -- starts in that
// status with its streak already complete, so the new owner keeps reporting
// what the old one saw until its own checks say otherwise: a NORMAL node
// needs `fall` failures to go down, never just one. A node with no such
// status is *undecided*: INVALID, and this owner has no opinion of it until
// it rises or falls (decided() is false). The owner publishes "no opinion"
// for it (see CheckEngine), so a restarted owner that lost every status never
// turns a healthy node INVALID for the `rise` rounds it needs to rise. This is
// what keeps a checker dying or restarting from making healthy nodes look
// down: a node is published not NORMAL only after `fall` failures seen here.
//
// Thread-safety: a plain value, owned by the checker thread.
#pragma once

#include <cstdint>

#include "model/cluster.h"

namespace jcm {

enum class CheckOutcome { kSuccess, kBadAnswer, kNoAnswer };
const char* ToString(CheckOutcome outcome);

class NodeHealth {
 public:
  // `initial` is the last status any owner reported for the node; INVALID for
  // a node never checked (undecided).
  explicit NodeHealth(NodeStatus initial = NodeStatus::kInvalid, int64_t last_check_ms = 0);

  // Records one check made at wall-clock `now_ms`. rise and fall are clamped
  // to at least 1. Returns true iff the status changed.
  bool Record(CheckOutcome outcome, int rise, int fall, int64_t now_ms);
  // The node was switched offline: INVALID, streaks forgotten. Returns true
  // iff the status changed.
  bool SetOffline();
  // Not checked, but healthy by definition (checkType NONE): NORMAL.
  bool SetUnchecked(int64_t now_ms);
  // Takes back a status change Record just made (a down verdict the caller
  // may not publish yet), keeping the streaks: the next failure makes the
  // same verdict again.
  void Revert(NodeStatus status) { status_ = status; }

  NodeStatus status() const { return status_; }
  // False while the node has neither a seeded status nor reached rise or
  // fall since this value was built.
  bool decided() const { return decided_; }
  int64_t last_check_ms() const { return last_check_ms_; }
  int successes() const { return successes_; }
  int failures() const { return failures_; }

 private:
  NodeStatus status_;
  bool decided_;
  int successes_ = 0;
  int failures_ = 0;
  int64_t last_check_ms_;
};

}  // namespace jcm
