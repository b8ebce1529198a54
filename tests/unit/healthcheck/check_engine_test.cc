#include "healthcheck/check_engine.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "fakes.h"

namespace jcm {
namespace {

using testing::FakeClock;
using testing::FakeProber;
using testing::RecordingSink;

std::shared_ptr<const Cluster> MakeCluster(const std::string& name, int nodes,
                                           CheckType type = CheckType::kHttp) {
  auto c = std::make_shared<Cluster>();
  c->name = name;
  c->check_type = type;
  c->check_file = "/health";
  for (int i = 0; i < nodes; ++i) {
    Node n;
    n.ip = "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1);
    n.protos = {{8080, Proto::kHttp}, {8081, Proto::kTcp}};
    c->nodes.push_back(n);
  }
  return c;
}

class CheckEngineTest : public ::testing::Test {
 protected:
  // Fast re-checks are off unless a test turns them on (fast_ = true): the
  // round and rise/fall tests count ordinary checks only.
  void Build(HealthOptions o = {}, int keepalive_budget = 1000) {
    o.owner_id = "me";
    if (!fast_) o.fastinter_max_per_sec = 0;
    engine_ = std::make_unique<CheckEngine>(o, keepalive_budget, &http_, &tcp_, &sink_, &counters_,
                                            &clock_);
  }
  // Moves time forward `ms` in 1 ms steps, answering every check as
  // `outcome` says right after it starts.
  void Run(
      int64_t ms, std::function<CheckOutcome(const ProbeTarget&)> outcome = [](const ProbeTarget&) {
        return CheckOutcome::kSuccess;
      }) {
    for (int64_t i = 0; i < ms; ++i) {
      engine_->Poll();
      http_.AnswerAll(engine_.get(), outcome);
      tcp_.AnswerAll(engine_.get(), outcome);
      clock_.Advance(1);
    }
  }
  NodeStatus StatusIn(const StatusReport& r, const std::string& ip) {
    for (const auto& [spec, s] : r.nodes) {
      if (spec.rfind(ip + "|", 0) == 0) return s.status;
    }
    ADD_FAILURE() << ip << " not in report";
    return NodeStatus::kInvalid;
  }

  bool fast_ = false;
  FakeClock clock_;
  FakeProber http_, tcp_;
  RecordingSink sink_;
  HealthCounters counters_;
  TransitionLog log_;  // outlives engine_, which forgets clusters into it
  std::unique_ptr<CheckEngine> engine_;
};

TEST_F(CheckEngineTest, FirstRoundWrittenThenOnlyChanges) {
  Build();
  engine_->SetClusters({MakeCluster("a", 20)});
  Run(1000);
  ASSERT_EQ(sink_.reports.size(), 1u);
  EXPECT_EQ(sink_.reports[0].cluster, "a");
  EXPECT_EQ(sink_.reports[0].owner, "me");
  EXPECT_EQ(sink_.reports[0].round, 1u);
  EXPECT_EQ(sink_.reports[0].nodes.size(), 20u);
  for (const auto& [spec, s] : sink_.reports[0].nodes) EXPECT_EQ(s.status, NodeStatus::kNormal);

  Run(5000);  // five more rounds, nothing changes
  EXPECT_EQ(sink_.reports.size(), 1u);
  EXPECT_EQ(counters_.writes_skipped.load(), 5u);
  EXPECT_EQ(counters_.rounds.load(), 6u);

  // One node starts failing: written once, after `fall` (2) rounds.
  auto fail_one = [](const ProbeTarget& t) {
    return t.ip == "10.1.0.5" ? CheckOutcome::kBadAnswer : CheckOutcome::kSuccess;
  };
  Run(3000, fail_one);
  ASSERT_EQ(sink_.reports.size(), 2u);
  EXPECT_EQ(StatusIn(sink_.reports[1], "10.1.0.5"), NodeStatus::kAbnormal);
  EXPECT_EQ(StatusIn(sink_.reports[1], "10.1.0.6"), NodeStatus::kNormal);
  EXPECT_EQ(counters_.status_writes.load(), 2u);
}

TEST_F(CheckEngineTest, ChecksAreSpreadOverTheInterval) {
  Build();
  engine_->SetClusters({MakeCluster("a", 500), MakeCluster("b", 500)});
  std::vector<int> per_100ms(10, 0);
  for (int i = 0; i < 1000; ++i) {
    int before = http_.starts;
    Run(1);
    per_100ms[i / 100] += http_.starts - before;
  }
  EXPECT_EQ(http_.starts, 1000);  // every node exactly once in the first round
  for (int b : per_100ms) {
    EXPECT_GT(b, 60);
    EXPECT_LT(b, 140);
  }
  for (const auto& [ip, n] : http_.starts_by_ip) EXPECT_LE(n, 2) << ip;  // same ip in a and b
}

TEST_F(CheckEngineTest, TimeoutAndBadAnswerAreTold) {
  Build();
  engine_->SetClusters({MakeCluster("a", 3)});
  Run(3000, [](const ProbeTarget& t) {
    if (t.ip == "10.1.0.1") return CheckOutcome::kNoAnswer;
    if (t.ip == "10.1.0.2") return CheckOutcome::kBadAnswer;
    return CheckOutcome::kSuccess;
  });
  const StatusReport& last = sink_.reports.back();
  EXPECT_EQ(StatusIn(last, "10.1.0.1"), NodeStatus::kTimeout);
  EXPECT_EQ(StatusIn(last, "10.1.0.2"), NodeStatus::kAbnormal);
  EXPECT_EQ(StatusIn(last, "10.1.0.3"), NodeStatus::kNormal);
  EXPECT_EQ(counters_.timeouts.load(), 3u);
  EXPECT_EQ(counters_.failures.load(), 3u);
  EXPECT_EQ(counters_.successes.load(), 3u);
}

TEST_F(CheckEngineTest, NewNodeIsInvalidInFirstWriteWhenRiseIsTwo) {
  HealthOptions o;
  o.rise = 2;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 2)});
  Run(1000);
  ASSERT_EQ(sink_.reports.size(), 1u);
  EXPECT_EQ(StatusIn(sink_.reports[0], "10.1.0.1"), NodeStatus::kInvalid);
  Run(1000);
  // Each node's rise is written when it happens (early writes, at most one
  // per 100 ms per cluster), so round two gives one or two more reports.
  ASSERT_GE(sink_.reports.size(), 2u);
  ASSERT_LE(sink_.reports.size(), 3u);
  EXPECT_EQ(StatusIn(sink_.reports.back(), "10.1.0.1"), NodeStatus::kNormal);
  EXPECT_EQ(StatusIn(sink_.reports.back(), "10.1.0.2"), NodeStatus::kNormal);
}

TEST_F(CheckEngineTest, TakeoverKeepsTheLastKnownStatus) {
  Build();
  auto c = std::make_shared<Cluster>(*MakeCluster("a", 2));
  for (size_t i = 0; i < c->nodes.size(); ++i) {
    c->nodes.Mutable(i).status = NodeStatus::kNormal;  // the old owner's view
  }
  engine_->SetClusters({c});
  // One failing check is below fall (2): the new owner must not report down.
  Run(1000, [](const ProbeTarget&) { return CheckOutcome::kNoAnswer; });
  ASSERT_EQ(sink_.reports.size(), 1u);
  EXPECT_EQ(StatusIn(sink_.reports[0], "10.1.0.1"), NodeStatus::kNormal);
}

TEST_F(CheckEngineTest, RemovedClusterStopsAtOnce) {
  Build();
  engine_->SetClusters({MakeCluster("a", 50), MakeCluster("b", 5)});
  Run(1500);
  const size_t writes = sink_.reports.size();
  // Leave checks in flight, then drop "a".
  for (int i = 0; i < 300; ++i) {
    engine_->Poll();
    clock_.Advance(1);
  }
  ASSERT_FALSE(http_.in_flight.empty());
  engine_->SetClusters({MakeCluster("b", 5)});
  EXPECT_EQ(http_.targets.size(), 5u);
  EXPECT_TRUE(http_.in_flight.size() <= 5u);
  Run(3000, [](const ProbeTarget&) { return CheckOutcome::kBadAnswer; });
  for (size_t i = writes; i < sink_.reports.size(); ++i) EXPECT_EQ(sink_.reports[i].cluster, "b");
  EXPECT_EQ(counters_.clusters.load(), 1u);
  EXPECT_EQ(counters_.nodes.load(), 5u);
}

TEST_F(CheckEngineTest, OfflineNodeInvalidAtOnceAndNotChecked) {
  Build();
  auto c = std::make_shared<Cluster>(*MakeCluster("a", 3));
  engine_->SetClusters({c});
  Run(1000);
  ASSERT_EQ(sink_.reports.size(), 1u);
  auto c2 = std::make_shared<Cluster>(*c);
  c2->nodes.Mutable(0).online = false;
  engine_->SetClusters({c2});
  // Written at once, not after the next round.
  ASSERT_EQ(sink_.reports.size(), 2u);
  EXPECT_EQ(StatusIn(sink_.reports[1], c->nodes[0].ip), NodeStatus::kInvalid);
  EXPECT_EQ(http_.TargetOf(c->nodes[0].ip), UINT32_MAX);
  http_.starts_by_ip.clear();
  Run(3000);
  EXPECT_EQ(http_.starts_by_ip.count(c->nodes[0].ip), 0u);
  EXPECT_EQ(http_.starts_by_ip[c->nodes[1].ip], 3);
  EXPECT_EQ(sink_.reports.size(), 2u);
}

TEST_F(CheckEngineTest, AddedAndRemovedNodesAreWritten) {
  Build();
  engine_->SetClusters({MakeCluster("a", 3)});
  Run(1000);
  engine_->SetClusters({MakeCluster("a", 4)});
  Run(1000);
  ASSERT_GE(sink_.reports.size(), 2u);
  EXPECT_EQ(sink_.reports.back().nodes.size(), 4u);
  engine_->SetClusters({MakeCluster("a", 2)});
  EXPECT_EQ(sink_.reports.back().nodes.size(), 2u);  // at once
  EXPECT_EQ(http_.targets.size(), 2u);
}

TEST_F(CheckEngineTest, CheckTypeNoneIsNormalWithoutChecks) {
  Build();
  auto c = std::make_shared<Cluster>(*MakeCluster("a", 3, CheckType::kNone));
  c->nodes.Mutable(2).online = false;
  engine_->SetClusters({c});
  Run(2000);
  EXPECT_EQ(http_.starts + tcp_.starts, 0);
  ASSERT_EQ(sink_.reports.size(), 1u);
  EXPECT_EQ(StatusIn(sink_.reports[0], c->nodes[0].ip), NodeStatus::kNormal);
  EXPECT_EQ(StatusIn(sink_.reports[0], c->nodes[2].ip), NodeStatus::kInvalid);
}

TEST_F(CheckEngineTest, TcpClusterUsesTcpProberAndPort) {
  Build();
  engine_->SetClusters({MakeCluster("a", 2, CheckType::kTcp)});
  Run(1000);
  EXPECT_EQ(http_.starts, 0);
  EXPECT_EQ(tcp_.starts, 2);
  for (const auto& [id, t] : tcp_.targets) EXPECT_EQ(t.port, 8081);
}

// HealthOptions::on_check_done gets each verdict's probe type and the time
// from the check's start to it, on the engine's clock.
TEST_F(CheckEngineTest, EachVerdictIsTimedFromItsStartByProbeType) {
  std::vector<std::pair<CheckType, double>> timed;
  HealthOptions o;
  o.on_check_done = [&](CheckType type, double seconds) { timed.emplace_back(type, seconds); };
  Build(o);
  engine_->SetClusters({MakeCluster("web", 2), MakeCluster("db", 1, CheckType::kTcp)});
  // Every check answered 7 ms after it started, until all three have been.
  for (int i = 0; i < 1000 && http_.starts + tcp_.starts < 3; ++i) {
    engine_->Poll();
    clock_.Advance(7);
    http_.AnswerAll(engine_.get(), [](const ProbeTarget&) { return CheckOutcome::kSuccess; });
    tcp_.AnswerAll(engine_.get(), [](const ProbeTarget&) { return CheckOutcome::kNoAnswer; });
  }
  ASSERT_EQ(http_.starts, 2);
  ASSERT_EQ(tcp_.starts, 1);
  ASSERT_EQ(timed.size(), 3u);
  int http = 0, tcp = 0;
  for (const auto& [type, seconds] : timed) {
    (type == CheckType::kTcp ? tcp : http)++;
    EXPECT_DOUBLE_EQ(seconds, 0.007);
  }
  EXPECT_EQ(http, 2);
  EXPECT_EQ(tcp, 1);
}

TEST_F(CheckEngineTest, WriteCacheOffWritesEveryRound) {
  Build();
  engine_->SetClusters({MakeCluster("a", 3)});
  engine_->SetWriteCache(false);
  Run(4000);
  EXPECT_EQ(sink_.reports.size(), 4u);
  EXPECT_EQ(sink_.reports[3].round, 4u);
}

TEST_F(CheckEngineTest, FailedWriteIsRetried) {
  Build();
  sink_.fail_next = 1;
  engine_->SetClusters({MakeCluster("a", 3)});
  Run(2000);
  ASSERT_EQ(sink_.reports.size(), 2u);  // failed, then retried though unchanged
  Run(2000);
  EXPECT_EQ(sink_.reports.size(), 2u);
  EXPECT_EQ(counters_.write_errors.load(), 1u);
}

TEST_F(CheckEngineTest, ClusterSettingsOverrideDefaults) {
  Build();
  auto c = std::make_shared<Cluster>(*MakeCluster("a", 1));
  c->check.interval_ms = 500;
  c->check.fall = 1;
  c->check.ok_codes = {200, 204};
  engine_->SetClusters({c});
  Run(2000, [](const ProbeTarget&) { return CheckOutcome::kBadAnswer; });
  EXPECT_EQ(http_.starts, 4);
  const ProbeTarget& t = http_.targets.begin()->second;
  EXPECT_EQ(t.timeout_ms, 400);
  EXPECT_EQ(t.path, "/health");
  EXPECT_EQ(t.ok_codes, (std::vector<int>{200, 204}));
  // fall 1: the first round already reports it down.
  EXPECT_EQ(StatusIn(sink_.reports[0], c->nodes[0].ip), NodeStatus::kAbnormal);
}

TEST_F(CheckEngineTest, TimeoutIsClampedBelowTheInterval) {
  Build();
  auto c = std::make_shared<Cluster>(*MakeCluster("a", 1));
  c->check.interval_ms = 1000;
  c->check.timeout_ms = 5000;
  engine_->SetClusters({c});
  EXPECT_EQ(http_.targets.begin()->second.timeout_ms, 900);
}

TEST_F(CheckEngineTest, KeepaliveBudgetLeavesTheRestShort) {
  Build({}, /*keepalive_budget=*/2);
  engine_->SetClusters({MakeCluster("a", 5)});
  int keep = 0;
  for (const auto& [id, t] : http_.targets) keep += t.keepalive;
  EXPECT_EQ(keep, 2);
  EXPECT_EQ(counters_.keepalive_targets.load(), 2u);
  EXPECT_EQ(counters_.short_targets.load(), 3u);
  // Freed budget goes to nodes added later.
  engine_->SetClusters({MakeCluster("b", 1)});
  EXPECT_TRUE(http_.targets.begin()->second.keepalive);
}

TEST_F(CheckEngineTest, StalledLoopSkipsRoundsInsteadOfBursting) {
  Build();
  engine_->SetClusters({MakeCluster("a", 10)});
  Run(1000);
  const uint64_t late_before = counters_.late_rounds.load();
  clock_.Advance(3500);  // the loop was stuck for 3.5 intervals
  http_.starts_by_ip.clear();
  Run(400);
  for (const auto& [ip, n] : http_.starts_by_ip) EXPECT_LE(n, 1) << ip;
  Run(2000);
  EXPECT_GE(counters_.late_rounds.load(), late_before + 3);
}

TEST_F(CheckEngineTest, LateStartMarksTheRoundLate) {
  Build();
  engine_->SetClusters({MakeCluster("a", 10)});
  Run(3000);
  EXPECT_EQ(counters_.late_rounds.load(), 0u);
  // Poll only every 200 ms: checks start up to 200 ms after their time.
  for (int i = 0; i < 15; ++i) {
    clock_.Advance(200);
    engine_->Poll();
    http_.AnswerAll(engine_.get(), [](const ProbeTarget&) { return CheckOutcome::kSuccess; });
  }
  EXPECT_GT(counters_.late_rounds.load(), 0u);
}

const NodeCheckState* StateIn(const StatusReport& r, const std::string& ip) {
  for (const auto& [spec, st] : r.nodes) {
    if (spec.rfind(ip + "|", 0) == 0) return &st;
  }
  return nullptr;
}

// Issue 8 item 6: an owner restarted with no statuses publishes no opinion of
// a node until it rises or falls here, never INVALID.
TEST_F(CheckEngineTest, OwnerWithoutStatusesHasNoOpinionUntilRiseOrFall) {
  HealthOptions o;
  o.rise = 3;
  o.fall = 2;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 2)});
  auto second_fails = [](const ProbeTarget& t) {
    return t.ip == "10.1.0.2" ? CheckOutcome::kNoAnswer : CheckOutcome::kSuccess;
  };
  Run(1000, second_fails);
  ASSERT_EQ(sink_.reports.size(), 1u);
  for (const char* ip : {"10.1.0.1", "10.1.0.2"}) {
    const NodeCheckState* st = StateIn(sink_.reports[0], ip);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->last_check_ms, NodeCheckState::kNoOpinion) << ip;
  }
  // Round two: the failing node reaches fall (2) and is published down; the
  // healthy one still has no opinion (rise 3).
  Run(1000, second_fails);
  const StatusReport& r2 = sink_.reports.back();
  EXPECT_EQ(StateIn(r2, "10.1.0.2")->status, NodeStatus::kTimeout);
  EXPECT_GT(StateIn(r2, "10.1.0.2")->last_check_ms, 0);
  EXPECT_EQ(StateIn(r2, "10.1.0.1")->last_check_ms, NodeCheckState::kNoOpinion);
  Run(1000, second_fails);
  const StatusReport& r3 = sink_.reports.back();
  EXPECT_EQ(StateIn(r3, "10.1.0.1")->status, NodeStatus::kNormal);
  EXPECT_GT(StateIn(r3, "10.1.0.1")->last_check_ms, 0);
}

// Statuses applied after the engine first saw the cluster seed its
// undecided nodes: a NORMAL one then needs `fall` failures to go down.
TEST_F(CheckEngineTest, LateStatusesSeedUndecidedNodes) {
  HealthOptions o;
  o.rise = 3;
  o.fall = 2;
  Build(o);
  auto bare_def = std::make_shared<Cluster>(*MakeCluster("a", 2));
  bare_def->version = 7;  // as stored
  std::shared_ptr<const Cluster> bare = bare_def;
  engine_->SetClusters({bare});
  Run(500);
  // Only the statuses change (same definition version): a status write
  // coming back.
  auto seeded = std::make_shared<Cluster>(*bare);
  seeded->status_version = 42;
  for (size_t i = 0; i < seeded->nodes.size(); ++i) {
    Node& n = seeded->nodes.Mutable(i);
    n.status = NodeStatus::kNormal;
    n.last_check_ms = 5;
  }
  const int starts_before = http_.starts;
  engine_->SetClusters({seeded});
  auto all_fail = [](const ProbeTarget&) { return CheckOutcome::kBadAnswer; };
  // One interval: every node fails once, below fall.
  Run(1000, all_fail);
  EXPECT_EQ(http_.starts - starts_before, 2);  // the schedule went on untouched
  ASSERT_FALSE(sink_.reports.empty());
  for (const char* ip : {"10.1.0.1", "10.1.0.2"}) {
    EXPECT_EQ(StatusIn(sink_.reports.back(), ip), NodeStatus::kNormal) << ip;
    EXPECT_EQ(StatusIn(engine_->Snapshot("a"), ip), NodeStatus::kNormal) << ip;
  }
  Run(1000, all_fail);
  for (const char* ip : {"10.1.0.1", "10.1.0.2"}) {
    EXPECT_EQ(StatusIn(sink_.reports.back(), ip), NodeStatus::kAbnormal) << ip;
  }
}

// A node seen offline is INVALID as a decision, not for lack of an opinion.
TEST_F(CheckEngineTest, OfflineNodeIsADecidedInvalid) {
  Build();
  auto c = std::make_shared<Cluster>(*MakeCluster("a", 2));
  c->nodes.Mutable(0).online = false;
  engine_->SetClusters({c});
  Run(1000);
  ASSERT_EQ(sink_.reports.size(), 1u);
  EXPECT_EQ(StateIn(sink_.reports[0], c->nodes[0].ip)->status, NodeStatus::kInvalid);
  EXPECT_NE(StateIn(sink_.reports[0], c->nodes[0].ip)->last_check_ms, NodeCheckState::kNoOpinion);
}

// ---------------------------------------------------------- fast re-checks

// One node whose check outcome the test switches; every check is answered
// within the millisecond it starts. Returns the fake-clock times of the
// checks started.
class FastRecheckTest : public CheckEngineTest {
 protected:
  void SetUp() override { fast_ = true; }
  std::vector<int64_t> RunRecording(int64_t ms, const std::function<CheckOutcome()>& outcome) {
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < ms; ++i) {
      engine_->Poll();
      if (!http_.in_flight.empty()) starts.push_back(clock_.MonoMs());
      http_.AnswerAll(engine_.get(), [&](const ProbeTarget&) { return outcome(); });
      clock_.Advance(1);
    }
    return starts;
  }
  // Runs until the next check starts (answering it as `outcome` says);
  // returns its time.
  int64_t NextCheck(CheckOutcome outcome) {
    for (int i = 0; i < 5000; ++i) {
      engine_->Poll();
      if (!http_.in_flight.empty()) {
        const int64_t at = clock_.MonoMs();
        http_.AnswerAll(engine_.get(), [&](const ProbeTarget&) { return outcome; });
        clock_.Advance(1);
        return at;
      }
      clock_.Advance(1);
    }
    ADD_FAILURE() << "no check within 5 s";
    return -1;
  }
};

TEST_F(FastRecheckTest, FailureOfANormalNodeIsRecheckedAtFastinterUntilFall) {
  HealthOptions o;
  o.fall = 3;  // two extra checks before the verdict
  Build(o);
  engine_->SetClusters({MakeCluster("a", 1)});
  Run(2000);  // NORMAL, written
  ASSERT_EQ(StatusIn(sink_.reports.back(), "10.1.0.1"), NodeStatus::kNormal);
  const int64_t first = NextCheck(CheckOutcome::kBadAnswer);
  const int64_t second = NextCheck(CheckOutcome::kBadAnswer);
  const int64_t third = NextCheck(CheckOutcome::kBadAnswer);
  EXPECT_EQ(second - first, 250);  // interval 1000 / 4
  EXPECT_EQ(third - second, 250);
  EXPECT_EQ(counters_.fast_checks.load(), 2u);
  // Down after the third failure, written at once (not at the round's end).
  ASSERT_EQ(StatusIn(sink_.reports.back(), "10.1.0.1"), NodeStatus::kAbnormal);
  // Down: back to the ordinary interval.
  const int64_t fourth = NextCheck(CheckOutcome::kBadAnswer);
  EXPECT_EQ(fourth - first, 1000);
  EXPECT_EQ(counters_.fast_checks.load(), 2u);
}

TEST_F(FastRecheckTest, RecoveryStopsTheExtraChecks) {
  Build();
  engine_->SetClusters({MakeCluster("a", 1)});
  Run(2000);
  const int64_t first = NextCheck(CheckOutcome::kNoAnswer);
  const int64_t second = NextCheck(CheckOutcome::kSuccess);  // the blip is over
  EXPECT_EQ(second - first, 250);
  const int64_t third = NextCheck(CheckOutcome::kSuccess);
  EXPECT_EQ(third - first, 1000);  // its ordinary slot again
  EXPECT_EQ(counters_.fast_checks.load(), 1u);
  EXPECT_EQ(StatusIn(engine_->Snapshot("a"), "10.1.0.1"), NodeStatus::kNormal);
}

TEST_F(FastRecheckTest, RisingNodeIsRecheckedAtFastinter) {
  HealthOptions o;
  o.rise = 3;
  o.fall = 1;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 1)});
  RunRecording(1000, [] { return CheckOutcome::kBadAnswer; });  // down (fall 1)
  ASSERT_EQ(StatusIn(sink_.reports.back(), "10.1.0.1"), NodeStatus::kAbnormal);
  const int64_t first = NextCheck(CheckOutcome::kSuccess);
  const int64_t second = NextCheck(CheckOutcome::kSuccess);
  const int64_t third = NextCheck(CheckOutcome::kSuccess);
  EXPECT_EQ(second - first, 250);
  EXPECT_EQ(third - second, 250);
  EXPECT_EQ(StatusIn(sink_.reports.back(), "10.1.0.1"), NodeStatus::kNormal);
}

TEST_F(FastRecheckTest, ClusterFastInterOverridesAndSpreadIsKept) {
  Build();
  auto c = std::make_shared<Cluster>(*MakeCluster("a", 1));
  c->check.fast_inter_ms = 100;
  engine_->SetClusters({c});
  Run(2000);
  const int64_t first = NextCheck(CheckOutcome::kBadAnswer);
  const int64_t second = NextCheck(CheckOutcome::kBadAnswer);
  EXPECT_EQ(second - first, 100);
  // Ordinary slots do not move: the next ordinary check is first + 1000.
  const int64_t third = NextCheck(CheckOutcome::kBadAnswer);
  EXPECT_EQ(third - first, 1000);
}

TEST_F(FastRecheckTest, ExtraChecksAreCappedPerSecond) {
  HealthOptions o;
  o.fastinter_max_per_sec = 20;
  o.fall = 5;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 200)});
  Run(2000);
  // All 200 nodes fail at once for 5 s: 200 x 4 extra checks wanted, the
  // cap lets 20 (burst) + 20 per second through.
  Run(5000, [](const ProbeTarget&) { return CheckOutcome::kNoAnswer; });
  EXPECT_LE(counters_.fast_checks.load(), 20u + 5 * 20u + 1u);
  EXPECT_GE(counters_.fast_checks.load(), 80u);  // the budget is used, not wasted
  EXPECT_GT(counters_.fast_capped.load(), 100u);
  // Capped nodes still fall on their ordinary checks (five in 5 s).
  for (const auto& [spec, st] : engine_->Snapshot("a").nodes) {
    EXPECT_NE(st.status, NodeStatus::kNormal) << spec;
  }
}

TEST_F(FastRecheckTest, CapZeroTurnsExtraChecksOff) {
  HealthOptions o;
  o.fastinter_max_per_sec = 0;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 1)});
  Run(2000);
  const int64_t first = NextCheck(CheckOutcome::kBadAnswer);
  const int64_t second = NextCheck(CheckOutcome::kBadAnswer);
  EXPECT_EQ(second - first, 1000);
  EXPECT_EQ(counters_.fast_checks.load(), 0u);
}

// ------------------------------------------------- down cap and history

int CountDown(const StatusReport& r) {
  int n = 0;
  for (const auto& [spec, st] : r.nodes) {
    n += st.status == NodeStatus::kAbnormal || st.status == NodeStatus::kTimeout;
  }
  return n;
}

TEST_F(CheckEngineTest, DownCapLetsAShareOfTheClusterFallPerInterval) {
  HealthOptions o;
  o.fall = 1;
  o.max_down_share = 0.2;  // 2 of 10 per interval
  Build(o);
  engine_->SetTransitionLog(&log_);
  engine_->SetClusters({MakeCluster("a", 10)});
  Run(1000);
  auto all_fail = [](const ProbeTarget&) { return CheckOutcome::kBadAnswer; };
  Run(1000, all_fail);
  EXPECT_EQ(CountDown(engine_->Snapshot("a")), 2);
  EXPECT_EQ(counters_.downs_held.load(), 8u);
  Run(1000, all_fail);
  EXPECT_EQ(CountDown(engine_->Snapshot("a")), 4);
  Run(3000, all_fail);
  EXPECT_EQ(CountDown(engine_->Snapshot("a")), 10);  // a real outage still gets through
  const nlohmann::json h = log_.Json("a");
  int held = 0;
  for (const auto& [spec, list] : h["nodes"].items()) {
    for (const auto& t : list) held += t["reason"] == "held";
  }
  EXPECT_EQ(held, static_cast<int>(counters_.downs_held.load()));
  // Back up: no cap on recoveries.
  Run(1000);
  EXPECT_EQ(CountDown(engine_->Snapshot("a")), 0);
}

TEST_F(CheckEngineTest, NoCapByDefault) {
  HealthOptions o;
  o.fall = 1;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 10)});
  Run(1000);
  Run(1000, [](const ProbeTarget&) { return CheckOutcome::kNoAnswer; });
  EXPECT_EQ(CountDown(engine_->Snapshot("a")), 10);
  EXPECT_EQ(counters_.downs_held.load(), 0u);
}

TEST_F(CheckEngineTest, TransitionsAreRecordedWithTheirReason) {
  Build();
  engine_->SetTransitionLog(&log_);
  auto c = MakeCluster("a", 2);
  engine_->SetClusters({c});
  Run(1000);  // INVALID -> NORMAL (rise 1)
  auto first_fails = [](const ProbeTarget& t) {
    return t.ip == "10.1.0.1" ? CheckOutcome::kNoAnswer : CheckOutcome::kSuccess;
  };
  Run(2000, first_fails);  // NORMAL -> TIMEOUT after fall (2)
  Run(1000);               // TIMEOUT -> NORMAL
  const nlohmann::json h = log_.Json("a");
  const std::string spec = c->nodes[0].Spec();
  ASSERT_TRUE(h["nodes"].contains(spec)) << h.dump();
  const nlohmann::json& list = h["nodes"][spec];
  ASSERT_EQ(list.size(), 3u) << list.dump();
  EXPECT_EQ(list[0]["from"], "INVALID");
  EXPECT_EQ(list[0]["to"], "NORMAL");
  EXPECT_EQ(list[0]["reason"], "success");
  EXPECT_EQ(list[1]["from"], "NORMAL");
  EXPECT_EQ(list[1]["to"], "TIMEOUT");
  EXPECT_EQ(list[1]["reason"], "no-answer");
  EXPECT_EQ(list[2]["to"], "NORMAL");
  EXPECT_LT(list[1]["at"].get<int64_t>(), list[2]["at"].get<int64_t>());
  EXPECT_EQ(h["nodes"][c->nodes[1].Spec()].size(), 1u);  // only its first rise

  // Switched offline: recorded; the cluster dropped: forgotten.
  auto off = std::make_shared<Cluster>(*c);
  off->nodes.Mutable(1).online = false;
  engine_->SetClusters({off});
  EXPECT_EQ(log_.Json("a")["nodes"][c->nodes[1].Spec()].back()["reason"], "offline");
  engine_->SetClusters({});
  EXPECT_TRUE(log_.Json("a")["nodes"].empty());
  EXPECT_EQ(log_.Summary()["entries"], 0);
}

TEST(TransitionLogTest, KeepsTheLastEntriesPerNode) {
  TransitionLog log;
  for (int i = 0; i < 40; ++i) {
    log.Record("c", "n1", Transition{i, NodeStatus::kNormal, NodeStatus::kAbnormal, "bad-answer"});
  }
  log.Record("c", "n2", Transition{7, NodeStatus::kInvalid, NodeStatus::kNormal, "success"});
  const nlohmann::json h = log.Json("c");
  ASSERT_EQ(h["nodes"]["n1"].size(), TransitionLog::kPerNode);
  EXPECT_EQ(h["nodes"]["n1"][0]["at"], 40 - static_cast<int>(TransitionLog::kPerNode));
  EXPECT_EQ(h["nodes"]["n1"].back()["at"], 39);
  const nlohmann::json sum = log.Summary();
  EXPECT_EQ(sum["entries"], TransitionLog::kPerNode + 1);
  EXPECT_EQ(sum["recorded"], 41);
  EXPECT_EQ(sum["nodes"], 2);
  log.ForgetNode("c", "n1");
  EXPECT_EQ(log.Summary()["entries"], 1);
  EXPECT_EQ(log.Json("other")["nodes"].size(), 0u);
}

// A timeout that spanned a stall of the loop gives no verdict.
TEST_F(FastRecheckTest, TimeoutsThatSpannedALoopStallAreVoided) {
  HealthOptions o;
  o.fall = 1;  // one counted timeout would publish it down
  Build(o);
  engine_->SetClusters({MakeCluster("a", 1)});
  Run(2000);
  // A check starts; the loop then stalls 3 s; the timeout is delivered
  // right after.
  for (int i = 0; i < 2000 && http_.in_flight.empty(); ++i) {
    engine_->Poll();
    if (http_.in_flight.empty()) clock_.Advance(1);
  }
  ASSERT_FALSE(http_.in_flight.empty());
  clock_.Advance(3000);
  engine_->NoteStall(clock_.MonoMs());
  http_.AnswerAll(engine_.get(), [](const ProbeTarget&) { return CheckOutcome::kNoAnswer; });
  EXPECT_EQ(counters_.voided.load(), 1u);
  EXPECT_EQ(StatusIn(engine_->Snapshot("a"), "10.1.0.1"), NodeStatus::kNormal);
  // Re-checked soon (its ordinary slot, or fastinter at the latest); an
  // answer now counts.
  const int64_t stalled_at = clock_.MonoMs();
  const int64_t next = NextCheck(CheckOutcome::kSuccess);
  EXPECT_LE(next - stalled_at, 250);
  // A real timeout well after the stall is counted.
  const int64_t later = NextCheck(CheckOutcome::kNoAnswer);
  EXPECT_GT(later - stalled_at, CheckEngine::kStallGraceMs);
  EXPECT_EQ(counters_.voided.load(), 1u);
  EXPECT_EQ(StatusIn(engine_->Snapshot("a"), "10.1.0.1"), NodeStatus::kTimeout);
}

}  // namespace
}  // namespace jcm
