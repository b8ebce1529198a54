#include "tests/integration/server/zk_ensemble_fixture.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {

using std::chrono::milliseconds;

// ---------------------------------------------------------------- WriteStream

WriteStream::WriteStream(const JcmCluster& cluster, int per_instance, milliseconds gap)
    : cluster_(cluster), gap_(gap), writers_(cluster.size() * per_instance) {}

WriteStream::~WriteStream() { Stop(); }

void WriteStream::Start() {
  epoch_ = std::chrono::steady_clock::now();
  for (int w = 0; w < writers_; ++w) threads_.emplace_back([this, w] { Run(w); });
}

void WriteStream::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void WriteStream::Run(int writer) {
  for (int seq = 0; !stop_; ++seq) {
    Write w;
    w.writer = writer;
    w.seq = seq;
    // 10.<writer>.x.y: distinct across writers and sequence numbers.
    std::string ip = NthIp((writer + 1) * 65536 + seq);
    w.spec = NodeSpec(ip, 8080);
    w.sent_ms = now_ms();
    // Longer than the write hold (session timeout + 2 s): the server, not
    // this client, decides when a write has failed.
    HttpReply r =
        HttpPostJson(cluster_.address(writer % cluster_.size()), "/c/node/" + Name(writer),
                     nlohmann::json::array({NodeDoc(ip, 8080)}), milliseconds(30000));
    w.done_ms = now_ms();
    w.status = r.status;
    if (r.status != 200) w.detail = r.Describe();
    {
      std::lock_guard lock(mu_);
      writes_.push_back(std::move(w));
    }
    std::this_thread::sleep_for(gap_);
  }
}

int WriteStream::AckedSince(int writer, long long since_ms) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const Write& w : writes_)
    n += w.writer == writer && w.status == 200 && w.sent_ms >= since_ms;
  return n;
}

bool WriteStream::AllAckedSince(long long since_ms, int n) const {
  for (int w = 0; w < writers_; ++w) {
    if (AckedSince(w, since_ms) < n) return false;
  }
  return true;
}

std::vector<WriteStream::Write> WriteStream::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

// ---------------------------------------------------------------- HealthWatch

HealthWatch::HealthWatch(const JcmCluster& cluster, std::vector<std::string> names)
    : cluster_(cluster), names_(std::move(names)) {}

HealthWatch::~HealthWatch() { Stop(); }

void HealthWatch::Start() {
  epoch_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { Run(); });
}

void HealthWatch::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::string HealthWatch::first_false_down() const {
  std::lock_guard lock(mu_);
  return first_false_down_;
}

void HealthWatch::Run() {
  while (!stop_) {
    for (int i = 0; i < cluster_.size() && !stop_; ++i) {
      for (const std::string& name : names_) {
        HttpReply r = HttpGet(cluster_.address(i), "/c/" + name, milliseconds(2000));
        ++polls_;
        if (r.status == 503) {
          ++not_ready_;
          continue;
        }
        if (r.status != 200 || !r.data().is_object()) {
          ++unanswered_;
          continue;
        }
        for (const auto& n : r.data().value("nodes", nlohmann::json::array())) {
          std::string st = n.value("status", "");
          if (st == "NORMAL") continue;
          if (false_downs_++ == 0) {
            std::lock_guard lock(mu_);
            first_false_down_ = "instance " + std::to_string(i) + " showed " + n.value("ip", "") +
                                " of " + name + " as '" + st + "' at " +
                                std::to_string(MsSince(epoch_)) + " ms";
          }
        }
      }
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// ---------------------------------------------------------------- fixture

ZkEnsemble* ZkEnsembleTest::ensemble_ = nullptr;
std::string ZkEnsembleTest::start_error_;

void ZkEnsembleTest::SetUpTestSuite() {
  ZkEnsembleOptions o;
  o.members = 3;
  o.tick_time_ms = kTickMs;
  ensemble_ = new ZkEnsemble(o);
  const auto start = std::chrono::steady_clock::now();
  start_error_.clear();
  if (!ensemble_->Start(&start_error_) && start_error_.empty()) start_error_ = "did not start";
  std::cerr << "ensemble " << ensemble_->connect_string() << " formed a quorum in "
            << MsSince(start) << " ms\n";
}

void ZkEnsembleTest::TearDownTestSuite() {
  delete ensemble_;
  ensemble_ = nullptr;
}

void ZkEnsembleTest::SetUp() {
  ASSERT_TRUE(start_error_.empty()) << start_error_;
  // Heal what the previous test took down: every member up and following.
  for (int i = 0; i < ensemble_->size(); ++i) {
    ensemble_->ResumeMember(i);
    if (!ensemble_->running(i)) {
      std::string error;
      ASSERT_TRUE(ensemble_->StartMember(i, &error)) << error;
    }
  }
  ASSERT_GE(ensemble_->WaitForQuorum(milliseconds(30000)), 0) << ensemble_->AllLogs();

  JcmClusterOptions o;
  o.zk_connect = ensemble_->connect_string();
  o.zk_root =
      std::string("/jcm-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  o.session_timeout_ms = kSessionMs;
  // fall 1: one check that fails or times out because a checker was stuck
  // is published at once, so a stall cannot hide.
  o.extra_args = {"--health-interval-ms", std::to_string(kHealthIntervalMs),
                  "--health-rise",        "1",
                  "--health-fall",        "1"};
  cluster_ = std::make_unique<JcmCluster>(o);
  std::string error;
  ASSERT_TRUE(cluster_->Start(&error)) << error << "\n" << cluster_->AllLogs();

  // Two checked clusters of real targets: four HTTP, two TCP.
  nlohmann::json http_nodes = nlohmann::json::array(), tcp_nodes = nlohmann::json::array();
  for (int t = 0; t < 4; ++t) {
    std::string host = "127.0.53." + std::to_string(t + 1);
    int port = FreeLoopbackPort(host);
    ASSERT_GT(port, 0) << host;
    http_targets_.push_back(std::make_unique<HttpTarget>(host, port, "/health"));
    ASSERT_TRUE(http_targets_.back()->Start()) << host << ":" << port;
    http_nodes.push_back(NodeDoc(host, port));
  }
  for (int t = 0; t < 2; ++t) {
    std::string host = "127.0.53." + std::to_string(t + 11);
    int port = FreeLoopbackPort(host);
    ASSERT_GT(port, 0) << host;
    tcp_targets_.push_back(std::make_unique<TcpTarget>(host, port));
    ASSERT_TRUE(tcp_targets_.back()->Start()) << host << ":" << port;
    tcp_nodes.push_back(
        {{"ip", host}, {"online", "ONLINE"}, {"protos", {{{"port", port}, {"proto", "TCP"}}}}});
  }
  checked_ = {"ens-http", "ens-tcp"};
  HttpReply r =
      HttpPostJson(cluster_->address(0), "/c", ClusterDoc("ens-http", http_nodes, "HTTP"));
  ASSERT_EQ(r.status, 200) << r.Describe();
  r = HttpPostJson(cluster_->address(1), "/c", ClusterDoc("ens-tcp", tcp_nodes, "TCP"));
  ASSERT_EQ(r.status, 200) << r.Describe();
  for (int w = 0; w < kWriters; ++w) {
    r = HttpPostJson(cluster_->address(w % cluster_->size()), "/c",
                     ClusterDoc(WriteStream::Name(w), nlohmann::json::array()));
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  // Every instance sees every checked node NORMAL before the fault.
  ExpectAllNormalWithin(milliseconds(10000));
}

void ZkEnsembleTest::ExpectAllNormalWithin(milliseconds timeout) {
  for (int i = 0; i < cluster_->size(); ++i) {
    for (const std::string& name : checked_) {
      ASSERT_TRUE(WaitUntil(
          [&] {
            auto c = cluster_->GetCluster(i, name);
            if (!c || !c->contains("nodes") || (*c)["nodes"].empty()) return false;
            for (const auto& n : (*c)["nodes"]) {
              if (n.value("status", "") != "NORMAL") return false;
            }
            return true;
          },
          timeout))
          << name << " never all NORMAL on instance " << i;
    }
  }
}

void ZkEnsembleTest::TearDown() {
  if (HasFailure()) {
    if (cluster_) std::cerr << cluster_->AllLogs();
    std::cerr << ensemble_->AllLogs();
  }
  cluster_.reset();
  for (auto& t : http_targets_) t->Stop();
  for (auto& t : tcp_targets_) t->Stop();
}

std::string ZkEnsembleTest::SessionId(int i) const {
  auto st = cluster_->Status(i);
  return st ? st->value("sessionId", "") : "";
}

long long ZkEnsembleTest::SessionsExpired(int i) const {
  auto st = cluster_->Status(i);
  if (!st || !st->contains("zookeeperSessions")) return -1;
  return (*st)["zookeeperSessions"].value("expired", -1LL);
}

long long ZkEnsembleTest::Disconnects(int i) const {
  auto st = cluster_->Status(i);
  if (!st || !st->contains("zookeeperSessions")) return -1;
  return (*st)["zookeeperSessions"].value("disconnects", -1LL);
}

void ZkEnsembleTest::ExpectAcknowledgedPresentEverywhere(
    const std::vector<WriteStream::Write>& writes, milliseconds timeout) {
  std::map<int, std::vector<const WriteStream::Write*>> acked;
  for (const auto& w : writes) {
    if (w.status == 200) acked[w.writer].push_back(&w);
  }
  for (int i = 0; i < cluster_->size(); ++i) {
    for (const auto& [writer, list] : acked) {
      std::vector<std::string> missing;
      WaitUntil(
          [&] {
            missing.clear();
            auto c = cluster_->GetCluster(i, WriteStream::Name(writer));
            if (!c) {
              missing.push_back("(the whole cluster)");
              return false;
            }
            std::vector<std::string> specs = SpecsOf(*c);
            std::set<std::string> have(specs.begin(), specs.end());
            for (const auto* w : list) {
              if (!have.count(w->spec)) missing.push_back(w->spec);
            }
            return missing.empty();
          },
          timeout, milliseconds(100));
      EXPECT_TRUE(missing.empty())
          << missing.size() << " of " << list.size() << " acknowledged additions of writer "
          << writer << " missing on instance " << i << ", first " << missing.front();
    }
  }
}

}  // namespace jcm::testing
