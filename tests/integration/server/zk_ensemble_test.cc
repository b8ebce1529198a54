// Issue 8, "a ZooKeeper ensemble": three jcm-server instances on a
// three-member ZooKeeper ensemble (zk_ensemble_fixture.h), a steady stream
// of node additions through all three and health-checked real targets
// during each fault:
// - a follower SIGKILLed: no write fails, no session expires;
// - the leader SIGKILLed: writes resume within ZooKeeper's election plus one
//   session timeout, no acknowledged write is lost;
// - a member (the leader: it forces an election while its sockets stay open)
//   SIGSTOPped for 10 s and resumed: nothing lost, no false health down.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "tests/integration/server/zk_ensemble_fixture.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

// The first write failure, for an assertion message.
std::string FirstFailure(const std::vector<WriteStream::Write>& writes, int* failed) {
  *failed = 0;
  std::string first;
  for (const auto& w : writes) {
    if (w.status == 200) continue;
    if ((*failed)++ == 0) {
      first = "writer " + std::to_string(w.writer) + " #" + std::to_string(w.seq) + " sent at " +
              std::to_string(w.sent_ms) + " ms: " + w.detail;
    }
  }
  return first;
}

// When each writer had its first write sent at or after `since_ms`
// acknowledged (ms on the stream's clock; -1: never).
std::vector<long long> FirstAckAfter(const std::vector<WriteStream::Write>& writes, int writers,
                                     long long since_ms) {
  std::vector<long long> first(static_cast<size_t>(writers), -1);
  for (const auto& w : writes) {
    if (w.status != 200 || w.sent_ms < since_ms) continue;
    long long& f = first[static_cast<size_t>(w.writer)];
    if (f < 0 || w.done_ms < f) f = w.done_ms;
  }
  return first;
}

// The longest stretch of the stream during which no write was acknowledged
// by any instance (ms): how long writes were unavailable.
long long LongestAckGap(const std::vector<WriteStream::Write>& writes) {
  std::vector<long long> done;
  for (const auto& w : writes) {
    if (w.status == 200) done.push_back(w.done_ms);
  }
  std::sort(done.begin(), done.end());
  long long gap = 0;
  for (size_t i = 1; i < done.size(); ++i) gap = std::max(gap, done[i] - done[i - 1]);
  return gap;
}

TEST_F(ZkEnsembleTest, FollowerKilledNoWriteFailsNoSessionExpires) {
  const int zk_leader = ensemble_->Leader();
  ASSERT_GE(zk_leader, 0);
  // The case that matters: the jcm leader's own session sits on the
  // follower that dies, so the writes it is running lose their connection.
  // The C client picks a member at random; restarting the leader (a clean
  // stop hands leadership over at once) draws again.
  int jcm_leader = cluster_->AgreedLeader();
  ASSERT_GE(jcm_leader, 0);
  for (int draw = 0; draw < 8; ++draw) {
    int member = ensemble_->MemberServingSession(SessionId(jcm_leader));
    if (member >= 0 && member != zk_leader) break;
    std::string error;
    ASSERT_TRUE(cluster_->server(jcm_leader).Restart(&error)) << error;
    jcm_leader = cluster_->WaitForLeader(milliseconds(10000));
    ASSERT_GE(jcm_leader, 0);
    // A restarted instance shows checked nodes INVALID until it has their
    // statuses: not what this test watches for.
    ExpectAllNormalWithin(milliseconds(10000));
    if (HasFatalFailure()) return;
  }
  std::vector<std::string> sessions;
  std::vector<int> member_of;  // ensemble member carrying instance i's session
  for (int i = 0; i < cluster_->size(); ++i) {
    sessions.push_back(SessionId(i));
    ASSERT_FALSE(sessions.back().empty());
    member_of.push_back(ensemble_->MemberServingSession(sessions.back()));
  }
  const int victim = member_of[static_cast<size_t>(jcm_leader)];
  ASSERT_GE(victim, 0);
  ASSERT_NE(victim, zk_leader) << "the jcm leader stayed on the ZooKeeper leader in 8 draws";
  std::cerr << "killing follower " << victim << " (ZooKeeper leader " << zk_leader
            << "); jcm leader " << jcm_leader << "; instances on members " << member_of[0] << ","
            << member_of[1] << "," << member_of[2] << "\n";

  WriteStream stream(*cluster_, kWritersPerInstance, kWriteGap);
  HealthWatch health(*cluster_, checked_);
  stream.Start();
  health.Start();
  ASSERT_TRUE(WaitUntil([&] { return stream.AllAckedSince(0, 10); }, milliseconds(10000)));

  const long long kill_ms = stream.now_ms();
  ensemble_->KillMember(victim);
  // Every instance is back on a live member, on its old session.
  long long moved_ms = -1;
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < cluster_->size(); ++i) {
          if (ensemble_->MemberServingSession(sessions[static_cast<size_t>(i)], {victim}) < 0)
            return false;
        }
        moved_ms = stream.now_ms() - kill_ms;
        return true;
      },
      milliseconds(kSessionMs * 2)));
  // The stream goes on a while on the two members left.
  const long long after_ms = stream.now_ms();
  EXPECT_TRUE(WaitUntil([&] { return stream.AllAckedSince(after_ms, 10); }, milliseconds(15000)));
  stream.Stop();
  health.Stop();
  std::vector<WriteStream::Write> writes = stream.writes();

  int failed = 0;
  std::string first = FirstFailure(writes, &failed);
  std::cerr << writes.size() << " writes, " << failed << " failed; sessions on a live member "
            << moved_ms << " ms after the kill\n";
  EXPECT_EQ(failed, 0) << first;
  for (int i = 0; i < cluster_->size(); ++i) {
    EXPECT_EQ(SessionId(i), sessions[static_cast<size_t>(i)]) << "instance " << i;
    EXPECT_EQ(SessionsExpired(i), 0) << "instance " << i;
  }
  // The fault reached jcm: the instances the victim carried lost their
  // connection (and only that).
  for (int i = 0; i < cluster_->size(); ++i) {
    if (member_of[static_cast<size_t>(i)] == victim) {
      EXPECT_GE(Disconnects(i), 1) << "instance " << i;
    } else {
      EXPECT_EQ(Disconnects(i), 0) << "instance " << i;
    }
  }
  EXPECT_EQ(health.false_downs(), 0) << health.first_false_down();
  EXPECT_EQ(health.not_ready(), 0);
  ExpectAcknowledgedPresentEverywhere(writes, milliseconds(10000));
}

TEST_F(ZkEnsembleTest, LeaderKilledWritesResumeWithinElectionPlusSessionTimeout) {
  const int zk_leader = ensemble_->Leader();
  ASSERT_GE(zk_leader, 0);
  WriteStream stream(*cluster_, kWritersPerInstance, kWriteGap);
  HealthWatch health(*cluster_, checked_);
  stream.Start();
  health.Start();
  ASSERT_TRUE(WaitUntil([&] { return stream.AllAckedSince(0, 10); }, milliseconds(10000)));

  const long long kill_ms = stream.now_ms();
  ensemble_->KillMember(zk_leader);
  const int new_leader = ensemble_->WaitForQuorum(milliseconds(30000), {zk_leader});
  const long long election_ms = stream.now_ms() - kill_ms;
  ASSERT_GE(new_leader, 0) << "no new ZooKeeper leader";
  const long long bound_ms = election_ms + kSessionMs;
  // Every writer gets a write sent after the kill acknowledged, then a few
  // more.
  EXPECT_TRUE(
      WaitUntil([&] { return stream.AllAckedSince(kill_ms, 5); }, milliseconds(bound_ms + 20000)));
  stream.Stop();
  health.Stop();
  std::vector<WriteStream::Write> writes = stream.writes();

  std::vector<long long> first_ack = FirstAckAfter(writes, stream.writers(), kill_ms);
  long long resume_ms = 0;
  for (int w = 0; w < stream.writers(); ++w) {
    long long f = first_ack[static_cast<size_t>(w)];
    ASSERT_GE(f, 0) << "writer " << w << " never had a write acknowledged after the kill";
    resume_ms = std::max(resume_ms, f - kill_ms);
  }
  int failed = 0;
  std::string first = FirstFailure(writes, &failed);
  long long expired = 0;
  for (int i = 0; i < cluster_->size(); ++i) expired += SessionsExpired(i);
  std::cerr << "ZooKeeper leader " << zk_leader << " killed: new leader " << new_leader
            << " serving with its follower after " << election_ms
            << " ms; writes acknowledged again on every instance after " << resume_ms
            << " ms (bound " << bound_ms << " ms), longest stretch without an ack "
            << LongestAckGap(writes) << " ms; " << writes.size() << " writes, " << failed
            << " failed" << (failed ? " (first: " + first + ")" : "") << "; sessions expired "
            << expired << "\n";
  // Measured from the kill to the reply of the first write that was sent
  // after it: the bound the issue sets.
  EXPECT_LE(resume_ms, bound_ms);
  // Failures are allowed here, each a clear error.
  for (const auto& w : writes) {
    EXPECT_TRUE(w.status == 200 || w.status == 0 || w.status >= 400) << w.detail;
  }
  EXPECT_EQ(health.false_downs(), 0) << health.first_false_down();
  ExpectAcknowledgedPresentEverywhere(writes, milliseconds(10000));
}

TEST_F(ZkEnsembleTest, MemberPausedTenSecondsNothingLostNoFalseHealthDowns) {
  const int victim = ensemble_->Leader();
  ASSERT_GE(victim, 0);
  WriteStream stream(*cluster_, kWritersPerInstance, kWriteGap);
  HealthWatch health(*cluster_, checked_);
  stream.Start();
  health.Start();
  ASSERT_TRUE(WaitUntil([&] { return stream.AllAckedSince(0, 10); }, milliseconds(10000)));

  const auto pause_at = std::chrono::steady_clock::now();
  const long long pause_ms = stream.now_ms();
  ASSERT_TRUE(ensemble_->PauseMember(victim));
  const int new_leader = ensemble_->WaitForQuorum(milliseconds(10000), {victim});
  const long long election_ms = stream.now_ms() - pause_ms;
  EXPECT_GE(new_leader, 0) << "the two members left elected no leader within 10 s";
  // The fault is a 10 s pause: waiting out its length is the test.
  std::this_thread::sleep_until(pause_at + milliseconds(10000));
  ASSERT_TRUE(ensemble_->ResumeMember(victim));
  const long long resume_ms = stream.now_ms();
  const int leader_after = ensemble_->WaitForQuorum(milliseconds(20000));
  const long long rejoin_ms = stream.now_ms() - resume_ms;
  EXPECT_GE(leader_after, 0) << "the resumed member did not rejoin";
  EXPECT_TRUE(WaitUntil([&] { return stream.AllAckedSince(resume_ms, 5); }, milliseconds(15000)));
  stream.Stop();
  health.Stop();
  std::vector<WriteStream::Write> writes = stream.writes();

  int failed = 0;
  std::string first = FirstFailure(writes, &failed);
  long long expired = 0;
  for (int i = 0; i < cluster_->size(); ++i) expired += SessionsExpired(i);
  const long long gap_ms = LongestAckGap(writes);
  std::cerr << "ZooKeeper leader " << victim << " paused 10 s: new leader " << new_leader
            << " after " << election_ms << " ms; rejoined " << rejoin_ms
            << " ms after SIGCONT; longest stretch without an ack " << gap_ms << " ms; "
            << writes.size() << " writes, " << failed << " failed"
            << (failed ? " (first: " + first + ")" : "") << "; health polls " << health.polls()
            << ", 503 " << health.not_ready() << "; sessions expired " << expired << "\n";
  for (const auto& w : writes) {
    EXPECT_TRUE(w.status == 200 || w.status == 0 || w.status >= 400) << w.detail;
  }
  // A client on the frozen member notices after 2/3 of the session timeout;
  // by then the others have elected a leader: writes come back within the
  // same bound as for a crashed leader.
  EXPECT_LE(gap_ms, election_ms + kSessionMs);
  EXPECT_EQ(health.false_downs(), 0) << health.first_false_down();
  ExpectAcknowledgedPresentEverywhere(writes, milliseconds(10000));
}

}  // namespace
}  // namespace jcm::testing
