#include "tests/integration/healthcheck/health_fixture.h"

#include <gtest/gtest.h>

#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {

HealthClusterTest::HealthClusterTest() {
  options_.session_timeout_ms = 3000;
  options_.extra_args = {"--health-interval-ms", std::to_string(kIntervalMs),
                         "--health-rise",        std::to_string(kRise),
                         "--health-fall",        std::to_string(kFall)};
}

void HealthClusterTest::SetUp() {
  JcmClusterTest::SetUp();
  if (HasFatalFailure()) return;
  http_.resize(kClusters);
  tcp_.resize(kClusters);
  for (int i = 0; i < kClusters; ++i) {
    std::string host = "127.0." + std::to_string(IsHttp(i) ? 11 : 12) + "." + std::to_string(i + 1);
    int port = FreeLoopbackPort(host);
    ASSERT_GT(port, 0) << host;
    nlohmann::json node = {{"ip", host}, {"online", "ONLINE"}};
    nlohmann::json doc = {{"name", ClusterName(i)}, {"online", "ONLINE"}};
    if (IsHttp(i)) {
      http_[i] = std::make_unique<HttpTarget>(host, port, "/health");
      ASSERT_TRUE(http_[i]->Start()) << host << ":" << port;
      node["protos"] = {{{"port", port}, {"proto", "HTTP"}}};
      doc["checkType"] = "HTTP";
      doc["checkFile"] = "/health";
    } else {
      tcp_[i] = std::make_unique<TcpTarget>(host, port);
      ASSERT_TRUE(tcp_[i]->Start()) << host << ":" << port;
      node["protos"] = {{{"port", port}, {"proto", "TCP"}}};
      doc["checkType"] = "TCP";
    }
    doc["nodes"] = nlohmann::json::array({node});
    HttpReply r = HttpPostJson(cluster_->address(i % 3), "/c", doc);
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
}

void HealthClusterTest::TearDown() {
  JcmClusterTest::TearDown();
  for (auto& t : http_) {
    if (t) t->Stop();
  }
  for (auto& t : tcp_) {
    if (t) t->Stop();
  }
}

void HealthClusterTest::StopTarget(int i) {
  if (http_[i]) http_[i]->Stop();
  if (tcp_[i]) tcp_[i]->Stop();
}

void HealthClusterTest::StartTarget(int i) {
  if (http_[i]) {
    ASSERT_TRUE(http_[i]->Start());
  }
  if (tcp_[i]) {
    ASSERT_TRUE(tcp_[i]->Start());
  }
}

std::string HealthClusterTest::NodeStatus(int inst, int i) const {
  std::optional<nlohmann::json> c = cluster_->GetCluster(inst, ClusterName(i));
  if (!c || !c->contains("nodes") || (*c)["nodes"].empty()) return "";
  return (*c)["nodes"][0].value("status", "");
}

std::vector<std::string> HealthClusterTest::Checking(int inst) const {
  std::optional<nlohmann::json> s = cluster_->Status(inst);
  if (!s || !s->contains("health")) return {};
  return (*s)["health"].value("checking", std::vector<std::string>{});
}

bool HealthClusterTest::AllSee(const std::vector<int>& instances, int i,
                               const std::string& want) const {
  for (int inst : instances) {
    std::string st = NodeStatus(inst, i);
    bool match = want == "DOWN" ? (st == "ABNORMAL" || st == "TIMEOUT") : st == want;
    if (!match) return false;
  }
  return true;
}

}  // namespace jcm::testing
