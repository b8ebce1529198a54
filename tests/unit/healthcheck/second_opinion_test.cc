// CheckEngine's second opinions (issue 12 item 2) and its use of
// LocalHealth (item 3), on the fake clock with a fake OpinionSource that
// records the questions and answers when the test says.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "fakes.h"
#include "healthcheck/check_engine.h"

namespace jcm {
namespace {

using testing::FakeClock;
using testing::FakeProber;
using testing::RecordingSink;

class FakeOpinions : public OpinionSource {
 public:
  bool Ask(const OpinionRequest& r) override {
    if (alone) return false;
    asked.push_back(r);
    return true;
  }
  std::vector<OpinionRequest> asked;
  bool alone = false;
};

std::shared_ptr<Cluster> MakeCluster(const std::string& name, int nodes) {
  auto c = std::make_shared<Cluster>();
  c->name = name;
  c->check_type = CheckType::kHttp;
  for (int i = 0; i < nodes; ++i) {
    Node n;
    n.ip = "10.2.0." + std::to_string(i + 1);
    n.protos = {{8080, Proto::kHttp}};
    c->nodes.push_back(n);
  }
  return c;
}

class SecondOpinionTest : public ::testing::Test {
 protected:
  void Build(HealthOptions o = {}) {
    o.owner_id = "me";
    engine_ = std::make_unique<CheckEngine>(o, 100, &http_, &tcp_, &sink_, &counters_, &clock_);
    engine_->SetTransitionLog(&log_);
    engine_->SetOpinionSource(&opinions_);
  }
  // `ms` of 1 ms steps; each check answered as `failing` says by ip.
  void Run(int64_t ms, const std::function<bool(const std::string&)>& failing = nullptr) {
    for (int64_t i = 0; i < ms; ++i) {
      engine_->Poll();
      http_.AnswerAll(engine_.get(), [&](const ProbeTarget& t) {
        return failing && failing(t.ip) ? CheckOutcome::kBadAnswer : CheckOutcome::kSuccess;
      });
      // Questions asked meanwhile are answered as `verdict` says (none:
      // left unanswered).
      if (verdict) {
        for (; answered_ < opinions_.asked.size(); ++answered_) {
          engine_->OnOpinion(opinions_.asked[answered_].id, *verdict);
        }
      }
      clock_.Advance(1);
    }
  }
  static std::function<bool(const std::string&)> Fails(const std::string& ip) {
    return [ip](const std::string& x) { return x == ip; };
  }
  NodeStatus Published(const std::string& ip) {
    for (auto it = sink_.reports.rbegin(); it != sink_.reports.rend(); ++it) {
      for (const auto& [spec, st] : it->nodes) {
        if (spec.rfind(ip + "|", 0) == 0) return st.status;
      }
    }
    return NodeStatus::kInvalid;
  }
  std::vector<std::string> Reasons(const std::string& cluster) {
    std::vector<std::string> out;
    const nlohmann::json h = log_.Json(cluster);
    for (const auto& [spec, list] : h["nodes"].items()) {
      for (const auto& t : list) out.push_back(t["reason"]);
    }
    return out;
  }

  FakeClock clock_;
  FakeProber http_, tcp_;
  RecordingSink sink_;
  HealthCounters counters_;
  TransitionLog log_;
  FakeOpinions opinions_;
  std::optional<OpinionVerdict> verdict;
  size_t answered_ = 0;
  std::unique_ptr<CheckEngine> engine_;
};

TEST_F(SecondOpinionTest, ReachableElsewhereStaysNormalAndSuspect) {
  Build();
  engine_->SetClusters({MakeCluster("a", 2)});
  Run(1000);
  ASSERT_EQ(Published("10.2.0.1"), NodeStatus::kNormal);
  Run(1500, Fails("10.2.0.1"));  // fall (2) reached: asks, stays NORMAL
  ASSERT_EQ(opinions_.asked.size(), 1u);
  const OpinionRequest r = opinions_.asked[0];
  EXPECT_EQ(r.cluster, "a");
  EXPECT_EQ(r.spec.rfind("10.2.0.1|", 0), 0u) << r.spec;
  EXPECT_EQ(r.peers, 2);
  EXPECT_EQ(r.timeout_ms, 800 + 500);  // the check timeout + the grace
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kNormal);
  EXPECT_EQ(counters_.opinions_pending.load(), 1u);

  engine_->OnOpinion(r.id, OpinionVerdict::kReachable);
  answered_ = 1;
  verdict = OpinionVerdict::kReachable;
  EXPECT_EQ(counters_.opinions_reachable.load(), 1u);
  EXPECT_EQ(counters_.suspect_nodes.load(), 1u);
  ASSERT_EQ(engine_->Suspects(10).size(), 1u);
  EXPECT_EQ(engine_->Suspects(10)[0].rfind("a/10.2.0.1|", 0), 0u);
  // Still failing here: re-checked at fastinter, each failed re-check asks
  // again; never published down while peers reach it.
  const uint64_t checks = counters_.checks.load();
  Run(3000, Fails("10.2.0.1"));
  EXPECT_GE(counters_.checks.load() - checks, 11u);  // every 250 ms
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kNormal);
  EXPECT_GE(opinions_.asked.size(), 11u);
  EXPECT_LE(opinions_.asked.size(), 13u);
  const std::vector<std::string> reasons = Reasons("a");
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "second opinion"), reasons.end());
  // A success clears suspect and any question in flight.
  Run(1000);
  EXPECT_EQ(counters_.suspect_nodes.load(), 0u);
  EXPECT_EQ(counters_.opinions_pending.load(), 0u);
  EXPECT_TRUE(engine_->Suspects(10).empty());
}

TEST_F(SecondOpinionTest, UnreachableEverywhereIsPublishedDownAtOnce) {
  Build();
  engine_->SetClusters({MakeCluster("a", 2)});
  Run(1000);
  Run(1500, Fails("10.2.0.1"));
  ASSERT_EQ(opinions_.asked.size(), 1u);
  const size_t writes = sink_.reports.size();
  engine_->OnOpinion(opinions_.asked[0].id, OpinionVerdict::kUnreachable);
  // Written at once, not at the end of a round.
  ASSERT_GT(sink_.reports.size(), writes);
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kAbnormal);
  EXPECT_EQ(Published("10.2.0.2"), NodeStatus::kNormal);
  EXPECT_EQ(counters_.opinions_confirmed.load(), 1u);
  const std::vector<std::string> reasons = Reasons("a");
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "bad-answer, confirmed by peers"),
            reasons.end());
  // Coming back up needs no opinion.
  Run(1000);
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kNormal);
  EXPECT_EQ(opinions_.asked.size(), 1u);
}

TEST_F(SecondOpinionTest, NoVerdictInTimeCountsAsUnreachable) {
  Build();
  engine_->SetClusters({MakeCluster("a", 1)});
  Run(1000);
  int64_t asked_at = -1;
  for (int i = 0; i < 3000 && asked_at < 0; ++i) {
    Run(1, Fails("10.2.0.1"));
    if (!opinions_.asked.empty()) asked_at = clock_.MonoMs();
  }
  ASSERT_GE(asked_at, 0);
  int64_t down_at = -1;
  for (int i = 0; i < 3000 && down_at < 0; ++i) {
    Run(1, Fails("10.2.0.1"));
    if (Published("10.2.0.1") == NodeStatus::kAbnormal) down_at = clock_.MonoMs();
  }
  ASSERT_GE(down_at, 0);
  EXPECT_NEAR(down_at - asked_at, 1300, 2);  // timeout 800 + grace 500
  EXPECT_EQ(counters_.opinions_unanswered.load(), 1u);
  // A verdict arriving after the bound changes nothing.
  engine_->OnOpinion(opinions_.asked[0].id, OpinionVerdict::kReachable);
  EXPECT_EQ(counters_.suspect_nodes.load(), 0u);
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kAbnormal);
}

TEST_F(SecondOpinionTest, RecoveryWhileAskingCancelsTheQuestion) {
  Build();
  engine_->SetClusters({MakeCluster("a", 1)});
  Run(1000);
  Run(1500, Fails("10.2.0.1"));
  ASSERT_EQ(opinions_.asked.size(), 1u);
  Run(1000);  // answers again
  engine_->OnOpinion(opinions_.asked[0].id, OpinionVerdict::kUnreachable);
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kNormal);
  EXPECT_EQ(counters_.opinions_confirmed.load(), 0u);  // stale: ignored
}

TEST_F(SecondOpinionTest, AloneOrZeroPeersDecidesAlone) {
  HealthOptions o;
  o.second_opinions = 0;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 1)});
  Run(1000);
  Run(1500, Fails("10.2.0.1"));
  EXPECT_TRUE(opinions_.asked.empty());
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kAbnormal);

  // On: but nobody to ask.
  Build();
  opinions_.alone = true;
  engine_->SetClusters({MakeCluster("b", 1)});
  Run(1000);
  Run(1500, Fails("10.2.0.1"));
  EXPECT_EQ(counters_.opinions_alone.load(), 1u);
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kAbnormal);
}

TEST_F(SecondOpinionTest, ClusterSettingOverridesTheDefault) {
  Build();
  auto c = MakeCluster("a", 1);
  c->check.second_opinions = 0;
  engine_->SetClusters({c});
  Run(1000);
  Run(1500, Fails("10.2.0.1"));
  EXPECT_TRUE(opinions_.asked.empty());
  EXPECT_EQ(Published("10.2.0.1"), NodeStatus::kAbnormal);

  HealthOptions o;
  o.second_opinions = 0;
  Build(o);
  auto d = MakeCluster("d", 1);
  d->check.second_opinions = 3;
  engine_->SetClusters({d});
  Run(1000);
  Run(1500, Fails("10.2.0.1"));
  ASSERT_EQ(opinions_.asked.size(), 1u);
  EXPECT_EQ(opinions_.asked[0].peers, 3);
}

TEST_F(SecondOpinionTest, OverTheDownCapAVerdictAsksInsteadOfBeingHeld) {
  HealthOptions o;
  o.max_down_share = 0.1;  // 1 of 10
  o.second_opinions = 0;
  Build(o);
  engine_->SetClusters({MakeCluster("a", 10)});
  Run(1000);
  Run(1500, [](const std::string&) { return true; });
  EXPECT_GT(counters_.downs_held.load(), 0u);  // opinions off: held, as before
  EXPECT_TRUE(opinions_.asked.empty());

  o.second_opinions = 2;
  Build(o);
  const uint64_t held = counters_.downs_held.load();
  engine_->SetClusters({MakeCluster("b", 10)});
  Run(1000);
  Run(1500, [](const std::string&) { return true; });
  EXPECT_EQ(counters_.downs_held.load(), held);
  EXPECT_EQ(opinions_.asked.size(), 10u);
  for (const OpinionRequest& r : opinions_.asked) {
    engine_->OnOpinion(r.id, OpinionVerdict::kUnreachable);
  }
  int down = 0;
  for (const auto& [spec, st] : engine_->Snapshot("b").nodes) {
    down += st.status == NodeStatus::kAbnormal;
  }
  EXPECT_EQ(down, 10);  // confirmed downs are not held by the cap
}

TEST_F(SecondOpinionTest, DegradedInstanceWidensTimeoutsAndAlwaysAsks) {
  HealthOptions o;
  o.second_opinions = 0;
  o.timeout_ms = 200;
  o.local_health.min_clusters = 3;
  o.local_health.recover_ms = 2000;
  Build(o);
  std::vector<std::shared_ptr<const Cluster>> cs;
  for (int i = 0; i < 6; ++i) cs.push_back(MakeCluster("c" + std::to_string(i), 1));
  engine_->SetClusters(cs);
  Run(1000);
  ASSERT_EQ(counters_.degraded.load(), 0u);
  EXPECT_EQ(http_.targets.begin()->second.widened_timeout_ms, 400);
  EXPECT_FALSE(http_.widened);
  // The loop ran 400 ms late: this instance doubts itself.
  engine_->NoteStall(clock_.MonoMs(), 400);
  Run(300);
  EXPECT_EQ(counters_.degraded.load(), 1u);
  EXPECT_EQ(counters_.degraded_reason.load(), static_cast<int>(LocalHealth::Reason::kLateLoop));
  EXPECT_TRUE(http_.widened);
  EXPECT_TRUE(tcp_.widened);
  // Opinions are off, but a degraded instance asks on every down verdict.
  verdict = OpinionVerdict::kReachable;
  Run(1500, [](const std::string&) { return true; });
  std::set<std::string> asked_about;
  for (const OpinionRequest& r : opinions_.asked) {
    EXPECT_EQ(r.peers, CheckEngine::kDegradedOpinions);
    asked_about.insert(r.cluster);
  }
  EXPECT_EQ(asked_about.size(), 6u);
  for (const auto& c : cs) {
    EXPECT_EQ(engine_->Snapshot(c->name).nodes.begin()->second.status, NodeStatus::kNormal);
  }
  // Healthy again: recovers once no sign was seen for recover_ms.
  Run(5000 + 2000 + 300);
  EXPECT_EQ(counters_.degraded.load(), 0u);
  EXPECT_FALSE(http_.widened);
  // Failures across most clusters at once are the other sign.
  Run(1000, [](const std::string&) { return true; });
  EXPECT_EQ(counters_.degraded.load(), 1u);
  EXPECT_EQ(counters_.degraded_reason.load(), static_cast<int>(LocalHealth::Reason::kWideFailures));
  EXPECT_EQ(counters_.degraded_episodes.load(), 2u);
}

TEST_F(SecondOpinionTest, ProbeOnceChecksTheNodeAsTheOwnerWould) {
  Build();
  auto c = MakeCluster("a", 2);
  c->check_file = "/ping";
  std::vector<std::optional<CheckOutcome>> got;
  engine_->ProbeOnce(*c, c->nodes[1].Spec(),
                     [&](std::optional<CheckOutcome> o) { got.push_back(o); });
  EXPECT_TRUE(got.empty());  // never from inside ProbeOnce
  ASSERT_EQ(http_.in_flight.size(), 1u);
  const ProbeTarget& t = http_.targets[*http_.in_flight.begin()];
  EXPECT_EQ(t.ip, "10.2.0.2");
  EXPECT_EQ(t.path, "/ping");
  EXPECT_FALSE(t.keepalive);
  http_.AnswerAll(engine_.get(), [](const ProbeTarget&) { return CheckOutcome::kNoAnswer; });
  engine_->Poll();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], CheckOutcome::kNoAnswer);
  EXPECT_TRUE(http_.targets.empty());  // released
  // Not a node of the cluster: unknown.
  engine_->ProbeOnce(*c, "10.9.9.9|1|http:80",
                     [&](std::optional<CheckOutcome> o) { got.push_back(o); });
  engine_->Poll();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[1].has_value());
  EXPECT_EQ(counters_.peer_probes.load(), 1u);
}

}  // namespace
}  // namespace jcm
