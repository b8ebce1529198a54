// SubscriberClusterTest: three jcm-server instances health-checking every
// 500 ms (rise 1, fall 2), real HTTP targets on 127.0.<octet>.<i>, and helpers
// to build subscribers against them. Shared by the subscriber integration
// tests; each binary passes its own octet so binaries run side by side.
//
// Thread-safety: a gtest fixture, used from the test thread; Pick helpers
// only read and may be called from worker threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <jcm/subscriber.h>

#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {

class SubscriberClusterTest : public JcmClusterTest {
 protected:
  static constexpr int kIntervalMs = 500;
  static constexpr int kRise = 1;
  static constexpr int kFall = 2;

  explicit SubscriberClusterTest(int octet);
  void TearDown() override;

  // Starts `count` HTTP targets on 127.0.<octet>.<first+i>, registers them as
  // HTTP-checked cluster `name` through instance `via`, and waits until every
  // instance reports them all NORMAL. Returns the targets' indexes in
  // targets_.
  std::vector<int> CreateCheckedCluster(const std::string& name, int count, int via = 0);
  void StopTarget(int index) { targets_[static_cast<size_t>(index)]->Stop(); }
  bool StartTarget(int index) { return targets_[static_cast<size_t>(index)]->Start(); }
  HttpTarget& target(int index) { return *targets_[static_cast<size_t>(index)]; }

  // Every instance's address, in index order.
  std::vector<std::string> Addresses() const;
  // Options for a subscriber of `clusters` over every instance.
  SubscriberOptions Options(std::vector<std::string> clusters) const;
  // Create + Start; fails the test (returns null) if Create fails.
  std::unique_ptr<Subscriber> StartSubscriber(SubscriberOptions options);

  // Node status of `ip` in cluster `name` on instance `inst` ("" if unknown).
  std::string ServerNodeStatus(int inst, const std::string& name, const std::string& ip) const;
  // Whether the subscriber holds `ip` of `name` as usable.
  static bool HeldUsable(const Subscriber& sub, const std::string& name, const std::string& ip);

  int octet_;
  std::vector<std::unique_ptr<HttpTarget>> targets_;
};

}  // namespace jcm::testing
