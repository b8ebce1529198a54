// JcmCluster: a ZooKeeper plus N jcm-server processes on free loopback
// ports, the unit of every integration test of the server. JcmClusterTest
// wraps it in a gtest fixture that prints every log when a test fails.
//
// Thread-safety: not thread-safe; owned by the test thread. Reads that only
// do HTTP (Status, ClusterVersion) may be called from worker threads.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_json.h"
#include "tests/support/jcm_server_process.h"
#include "tests/support/test_env.h"
#include "tests/support/zk_server.h"

namespace jcm::testing {

struct JcmClusterOptions {
  int instances = 3;
  int session_timeout_ms = 3000;
  std::vector<std::string> extra_args;  // passed to every jcm-server
  std::string zk_root = "/jcm";
  // Non-empty: the instances use this ZooKeeper (e.g. a ZkEnsemble's
  // connect_string()) and the cluster starts none of its own; zk() must not
  // be called then.
  std::string zk_connect;
  // Non-empty: a tokens file naming this write token (and `read_token`, if
  // set) is written to the cluster's directory and every instance gets
  // --tokens-file; tokens_file() tells where.
  std::string write_token;
  std::string read_token;
};

class JcmCluster {
 public:
  explicit JcmCluster(JcmClusterOptions options = {});
  ~JcmCluster();

  // Starts ZooKeeper (unless options.zk_connect names one), then the instances, and waits until
  // every instance names the same leader. Returns false with the reason in *error.
  bool Start(std::string* error);

  ZkServer& zk() { return *zk_; }
  JcmServerProcess& server(int i) { return *servers_[static_cast<size_t>(i)]; }
  std::string address(int i) const { return servers_[static_cast<size_t>(i)]->address(); }
  int size() const { return static_cast<int>(servers_.size()); }
  const JcmClusterOptions& options() const { return options_; }
  const std::string& dir() const { return dir_.path(); }
  std::string tokens_file() const { return dir_.path() + "/tokens"; }

  // GET /sys/status of instance i; data object or nullopt.
  std::optional<nlohmann::json> Status(int i) const;
  // The index of the instance that says it is leader, and whose leader every
  // other running, listed instance agrees on; -1 when there is none yet.
  // `skip` instances are not asked (killed or paused ones).
  int AgreedLeader(const std::vector<int>& skip = {}) const;
  // Polls AgreedLeader until it is >= 0 or `timeout` passes.
  int WaitForLeader(std::chrono::milliseconds timeout, const std::vector<int>& skip = {}) const;
  // Some instance other than `leader` (and not in `skip`).
  int AFollower(int leader, const std::vector<int>& skip = {}) const;
  // The instance whose /sys/status lists `name` under health.checking (the
  // one that checks it and records its history), or -1 if none does.
  int Checker(const std::string& name) const;

  // GET /c/{name} on instance i: the cluster's version, or -1 when it is not
  // there (404) or the instance does not answer.
  long long ClusterVersion(int i, const std::string& name) const;
  std::optional<nlohmann::json> GetCluster(int i, const std::string& name) const;

  // Every instance's log, headed by its address, plus ZooKeeper's tail.
  std::string AllLogs() const;

 private:
  JcmClusterOptions options_;
  TempDir dir_;
  std::unique_ptr<ZkServer> zk_;
  std::vector<std::unique_ptr<JcmServerProcess>> servers_;
};

// A gtest fixture with a started JcmCluster in cluster_. A derived fixture
// sets options_ in its constructor to change the defaults.
class JcmClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  JcmClusterOptions options_;
  std::unique_ptr<JcmCluster> cluster_;
};

// Node and cluster documents in JCM's format.
nlohmann::json NodeDoc(const std::string& ip, int http_port, int tcp_port = 0);
// "ip|HTTP:port[|TCP:port]"
std::string NodeSpec(const std::string& ip, int http_port, int tcp_port = 0);
// The i-th of many distinct test nodes: 10.x.y.z addresses never contacted
// (checkType NONE clusters are not checked), HTTP port 8080.
std::string NthIp(int i);
nlohmann::json ClusterDoc(const std::string& name, const nlohmann::json& nodes,
                          const std::string& check_type = "NONE");

// Specs of the nodes in a cluster document as returned by GET /c/{name}.
std::vector<std::string> SpecsOf(const nlohmann::json& cluster);

}  // namespace jcm::testing
