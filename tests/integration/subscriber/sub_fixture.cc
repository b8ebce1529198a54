#include "tests/integration/subscriber/sub_fixture.h"

#include <gtest/gtest.h>

#include "tests/support/http_json.h"
#include "tests/support/test_env.h"

namespace jcm::testing {

using std::chrono::milliseconds;

SubscriberClusterTest::SubscriberClusterTest(int octet) : octet_(octet) {
  options_.session_timeout_ms = 3000;
  options_.extra_args = {
      "--health-interval-ms", std::to_string(kIntervalMs), "--health-rise", std::to_string(kRise),
      "--health-fall",        std::to_string(kFall),       "--log-level",   "info"};
}

void SubscriberClusterTest::TearDown() {
  JcmClusterTest::TearDown();
  for (auto& t : targets_) t->Stop();
}

std::vector<int> SubscriberClusterTest::CreateCheckedCluster(const std::string& name, int count,
                                                             int via) {
  std::vector<int> indexes;
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    int index = static_cast<int>(targets_.size());
    std::string host = "127.0." + std::to_string(octet_) + "." + std::to_string(index + 1);
    int port = FreeLoopbackPort(host);
    EXPECT_GT(port, 0) << host;
    targets_.push_back(std::make_unique<HttpTarget>(host, port, "/health"));
    EXPECT_TRUE(targets_.back()->Start()) << host << ":" << port;
    nodes.push_back(NodeDoc(host, port));
    indexes.push_back(index);
  }
  HttpReply r = HttpPostJson(cluster_->address(via), "/c", ClusterDoc(name, nodes, "HTTP"));
  EXPECT_EQ(r.status, 200) << r.Describe();
  for (int inst = 0; inst < cluster_->size(); ++inst) {
    for (int index : indexes) {
      EXPECT_TRUE(
          WaitUntil([&] { return ServerNodeStatus(inst, name, target(index).host()) == "NORMAL"; },
                    milliseconds(15000)))
          << name << " node " << target(index).host() << " never NORMAL on instance " << inst;
    }
  }
  return indexes;
}

std::vector<std::string> SubscriberClusterTest::Addresses() const {
  std::vector<std::string> out;
  for (int i = 0; i < cluster_->size(); ++i) out.push_back(cluster_->address(i));
  return out;
}

SubscriberOptions SubscriberClusterTest::Options(std::vector<std::string> clusters) const {
  SubscriberOptions o;
  o.servers = Addresses();
  o.clusters = std::move(clusters);
  o.tag = "it-subscriber";
  o.poll_interval = milliseconds(300);
  // Short backoff keeps a restarted server in rotation within the test.
  o.backoff_initial = milliseconds(500);
  o.backoff_max = milliseconds(2000);
  return o;
}

std::unique_ptr<Subscriber> SubscriberClusterTest::StartSubscriber(SubscriberOptions options) {
  auto created = Subscriber::Create(std::move(options));
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  if (!created.ok()) return nullptr;
  std::unique_ptr<Subscriber> sub = std::move(created).value();
  Status started = sub->Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  return sub;
}

std::string SubscriberClusterTest::ServerNodeStatus(int inst, const std::string& name,
                                                    const std::string& ip) const {
  std::optional<nlohmann::json> c = cluster_->GetCluster(inst, name);
  if (!c || !c->contains("nodes")) return "";
  for (const auto& n : (*c)["nodes"]) {
    if (n.value("ip", "") == ip) return n.value("status", "");
  }
  return "";
}

bool SubscriberClusterTest::HeldUsable(const Subscriber& sub, const std::string& name,
                                       const std::string& ip) {
  Result<ClusterInfo> info = sub.GetCluster(name);
  if (!info.ok()) return false;
  for (const NodeInfo& n : info.value().nodes) {
    if (n.ip == ip) return n.usable();
  }
  return false;
}

}  // namespace jcm::testing
