// The fixture of the ZooKeeper ensemble tests: one three-member ensemble for
// the whole suite (tests/support/zk_ensemble.h), healed before every test,
// and per test three jcm-server instances under a root of their own, a few
// real HTTP and TCP targets in two health-checked clusters, and the two
// observers a fault is judged by:
//
// - WriteStream: a steady stream of node additions, one writer thread per
//   instance, each into its own cluster, every reply recorded with when it
//   was sent and answered (ms since the stream's start);
// - HealthWatch: polls the checked clusters on every instance and counts
//   any node shown as not NORMAL (all targets stay up: any down is false).
//
// Thread-safety: the fixture runs on the test thread; WriteStream and
// HealthWatch own their threads, and their accessors are safe from the test
// thread while those run.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/zk_ensemble.h"

namespace jcm::testing {

// What the tests run with. A 500 ms tick keeps elections short; the jcm
// session timeout of 8 ticks sits well inside ZooKeeper's [2, 20] tick
// clamp.
constexpr int kTickMs = 500;
constexpr int kSessionMs = 4000;
constexpr int kHealthIntervalMs = 500;
// Writers per jcm instance in a WriteStream, and their pause between
// writes: enough that writes are in flight at any moment a fault strikes.
constexpr int kWritersPerInstance = 2;
constexpr int kWriters = 3 * kWritersPerInstance;
constexpr std::chrono::milliseconds kWriteGap{10};

class WriteStream {
 public:
  struct Write {
    int writer = 0;
    int seq = 0;
    long long sent_ms = 0;
    long long done_ms = 0;
    int status = 0;
    std::string spec;
    std::string detail;
  };

  // `per_instance` writers per instance; writer w adds nodes to Name(w)
  // through instance w % cluster.size(), one at a time, `gap` apart.
  WriteStream(const JcmCluster& cluster, int per_instance, std::chrono::milliseconds gap);
  ~WriteStream();
  static std::string Name(int writer) { return "ens-w" + std::to_string(writer); }

  void Start();
  void Stop();
  int writers() const { return writers_; }
  long long now_ms() const { return MsSince(epoch_); }
  // Acknowledged writes of `writer` sent at or after `since_ms`.
  int AckedSince(int writer, long long since_ms) const;
  // Every writer has `n` acknowledged writes sent at or after `since_ms`.
  bool AllAckedSince(long long since_ms, int n) const;
  // A copy of everything recorded so far.
  std::vector<Write> writes() const;

 private:
  void Run(int writer);

  const JcmCluster& cluster_;
  const std::chrono::milliseconds gap_;
  const int writers_;
  std::chrono::steady_clock::time_point epoch_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Write> writes_;  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

class HealthWatch {
 public:
  HealthWatch(const JcmCluster& cluster, std::vector<std::string> names);
  ~HealthWatch();
  void Start();
  void Stop();
  int polls() const { return polls_; }
  int not_ready() const { return not_ready_; }  // 503 answers (an instance not ready)
  int unanswered() const { return unanswered_; }
  int false_downs() const { return false_downs_; }
  std::string first_false_down() const;

 private:
  void Run();

  const JcmCluster& cluster_;
  const std::vector<std::string> names_;
  std::chrono::steady_clock::time_point epoch_;
  std::atomic<bool> stop_{false};
  std::atomic<int> polls_{0}, not_ready_{0}, unanswered_{0}, false_downs_{0};
  mutable std::mutex mu_;
  std::string first_false_down_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

class ZkEnsembleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Instance i's ZooKeeper session id ("0x...") and its expiry counter.
  std::string SessionId(int i) const;
  long long SessionsExpired(int i) const;
  long long Disconnects(int i) const;
  // Every instance shows every checked node NORMAL (fails the test if not
  // within `timeout`).
  void ExpectAllNormalWithin(std::chrono::milliseconds timeout);
  // Every acknowledged write is present on every instance (waits up to
  // `timeout` for each to catch up); adds a failure naming what is missing.
  void ExpectAcknowledgedPresentEverywhere(const std::vector<WriteStream::Write>& writes,
                                           std::chrono::milliseconds timeout);

  static ZkEnsemble* ensemble_;
  static std::string start_error_;
  std::unique_ptr<JcmCluster> cluster_;
  std::vector<std::unique_ptr<HttpTarget>> http_targets_;
  std::vector<std::unique_ptr<TcpTarget>> tcp_targets_;
  std::vector<std::string> checked_;  // the health-checked clusters
};

}  // namespace jcm::testing
