// Issue 8 item 1, statuses: an instance is ready only once it holds the node
// statuses as well as the definitions. Before, a restarted instance answered
// reads (and /sub) with every checked node INVALID for the moment between its
// definitions and its statuses loading. Here a follower that does not check
// the cluster is restarted; from the first moment it says it is ready, every
// read shows the healthy nodes NORMAL.
#include <gtest/gtest.h>

#include "tests/support/http_json.h"
#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

class ReadyStatusesTest : public JcmClusterTest {
 protected:
  ReadyStatusesTest() {
    options_.instances = 2;
    options_.extra_args = {"--health-interval-ms", "300", "--health-rise", "1"};
  }
};

bool AllNormal(const std::optional<nlohmann::json>& c, size_t nodes) {
  if (!c || !c->contains("nodes") || (*c)["nodes"].size() != nodes) return false;
  for (const auto& n : (*c)["nodes"]) {
    if (n.value("status", "") != "NORMAL") return false;
  }
  return true;
}

TEST_F(ReadyStatusesTest, ARestartedInstanceIsReadyOnlyWithItsStatuses) {
  std::vector<std::unique_ptr<HttpTarget>> targets;
  nlohmann::json nodes = nlohmann::json::array();
  for (int t = 0; t < 3; ++t) {
    std::string host = "127.0.57." + std::to_string(t + 1);
    int port = FreeLoopbackPort(host);
    ASSERT_GT(port, 0) << host;
    targets.push_back(std::make_unique<HttpTarget>(host, port, "/health"));
    ASSERT_TRUE(targets.back()->Start()) << host;
    nodes.push_back(NodeDoc(host, port));
  }
  HttpReply r = HttpPostJson(cluster_->address(0), "/c", ClusterDoc("ready-web", nodes, "HTTP"));
  ASSERT_EQ(r.status, 200) << r.Describe();
  ASSERT_TRUE(WaitUntil(
      [&] {
        return AllNormal(cluster_->GetCluster(0, "ready-web"), 3) &&
               AllNormal(cluster_->GetCluster(1, "ready-web"), 3);
      },
      milliseconds(15000), milliseconds(50)))
      << cluster_->AllLogs();

  // The instance that does not check it: its statuses come from the other.
  const int checker = cluster_->Checker("ready-web");
  ASSERT_GE(checker, 0) << "nobody checks the cluster?";
  const int restarted = 1 - checker;

  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(cluster_->server(restarted).Term());
    std::string error;
    ASSERT_TRUE(cluster_->server(restarted).Launch(&error)) << error;
    // Read as fast as we can: until ready, reads answer 503; the first
    // answer that is not must already hold the statuses.
    HttpReply first;
    ASSERT_TRUE(WaitUntil(
        [&] {
          first = HttpGet(cluster_->address(restarted), "/c/ready-web");
          return first.status != 0 && first.status != 503;
        },
        milliseconds(20000), milliseconds(1)))
        << cluster_->AllLogs();
    ASSERT_EQ(first.status, 200) << first.Describe();
    std::optional<nlohmann::json> c = first.data();
    EXPECT_TRUE(AllNormal(c, 3)) << "round " << round << ": " << first.Describe();
  }
}

}  // namespace
}  // namespace jcm::testing
