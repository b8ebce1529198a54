// DirectZkClusterTest: a JcmClusterTest with its own ZooKeeper session
// (zk_) beside the servers', for tests that read or write znodes as an
// older jcm or an attacker would. ClusterPath() names a cluster's znode.
//
// Thread-safety: as JcmClusterTest; zk_ is thread-safe (ZkClient).
#pragma once

#include <memory>
#include <string>

#include "storage/zk_client.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {

class DirectZkClusterTest : public JcmClusterTest {
 protected:
  void SetUp() override {
    JcmClusterTest::SetUp();
    if (HasFatalFailure()) return;
    zk_ = std::make_unique<ZkClient>(ZkClient::Options{cluster_->zk().connect_string(), 5000},
                                     [](const ZkEvent&) {});
    ASSERT_TRUE(zk_->Start().ok());
    ASSERT_TRUE(zk_->WaitConnected(10000));
  }
  void TearDown() override {
    if (zk_) zk_->Close();
    JcmClusterTest::TearDown();
  }

  std::string ClusterPath(const std::string& name) const {
    return options_.zk_root + "/clusters/" + name;
  }

  std::unique_ptr<ZkClient> zk_;
};

}  // namespace jcm::testing
