// Test doubles for the health checker: a clock moved by hand, a prober that
// records what it was asked and answers when told, a sink that records writes.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "healthcheck/clock.h"
#include "healthcheck/prober.h"
#include "healthcheck/status_report.h"

namespace jcm::testing {

class FakeClock : public Clock {
 public:
  int64_t MonoMs() const override { return mono_; }
  int64_t WallMs() const override { return 1'700'000'000'000 + mono_; }
  void Advance(int64_t ms) { mono_ += ms; }
  int64_t mono_ = 1'000'000;
};

class FakeProber : public Prober {
 public:
  void AddTarget(uint32_t target, const ProbeTarget& spec) override {
    targets[target] = spec;
    ++adds;
  }
  void RemoveTarget(uint32_t target) override {
    targets.erase(target);
    in_flight.erase(target);
    ++removes;
  }
  void Start(uint32_t target) override {
    EXPECT_TRUE(targets.count(target)) << "start of unknown target " << target;
    EXPECT_FALSE(in_flight.count(target)) << "second check in flight for " << target;
    in_flight.insert(target);
    ++starts;
    starts_by_ip[targets[target].ip]++;
  }
  // Answers every check in flight with outcome(target spec).
  void AnswerAll(ProbeListener* l, const std::function<CheckOutcome(const ProbeTarget&)>& outcome) {
    std::set<uint32_t> now;
    now.swap(in_flight);
    for (uint32_t t : now) l->OnProbeResult(t, outcome(targets[t]));
  }
  uint32_t TargetOf(const std::string& ip) const {
    for (const auto& [id, spec] : targets) {
      if (spec.ip == ip) return id;
    }
    return UINT32_MAX;
  }

  void SetWidened(bool w) override { widened = w; }

  std::map<uint32_t, ProbeTarget> targets;
  std::set<uint32_t> in_flight;
  bool widened = false;
  std::map<std::string, int> starts_by_ip;
  int adds = 0, removes = 0, starts = 0;
};

class RecordingSink : public StatusSink {
 public:
  Status WriteStatuses(const StatusReport& report) override {
    reports.push_back(report);
    if (fail_next > 0) {
      --fail_next;
      return Status::Unavailable("zookeeper down (fake)");
    }
    return Status::Ok();
  }
  std::vector<StatusReport> reports;
  int fail_next = 0;
};

}  // namespace jcm::testing
