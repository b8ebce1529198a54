// HealthClusterTest: three jcm-server instances checking 30 one-node
// clusters, half HTTP and half TCP, each node a real target on its own
// 127.0.x.y address. Shared by the health-checking integration tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {

class HealthClusterTest : public JcmClusterTest {
 protected:
  static constexpr int kClusters = 30;
  static constexpr int kIntervalMs = 500;
  static constexpr int kRise = 1;
  static constexpr int kFall = 2;

  HealthClusterTest();
  void SetUp() override;
  void TearDown() override;

  static std::string ClusterName(int i) { return "hc-" + std::to_string(i); }
  static bool IsHttp(int i) { return i % 2 == 0; }
  // Stops / starts the one target behind cluster i.
  void StopTarget(int i);
  void StartTarget(int i);

  // The node status of cluster i on instance `inst` ("" if unknown).
  std::string NodeStatus(int inst, int i) const;
  // Clusters instance `inst` says it checks (/sys/status health.checking).
  std::vector<std::string> Checking(int inst) const;
  // True iff every listed instance reports `want` for cluster i.
  bool AllSee(const std::vector<int>& instances, int i, const std::string& want) const;

  std::vector<std::unique_ptr<HttpTarget>> http_;  // by cluster, null for TCP ones
  std::vector<std::unique_ptr<TcpTarget>> tcp_;    // by cluster, null for HTTP ones
};

}  // namespace jcm::testing
