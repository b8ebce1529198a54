// GET /metrics on a real deployment: ZooKeeper and three jcm-server
// processes. Every scrape must pass Prometheus' own `promtool check
// metrics`; the series an operator alerts on must be there with the values
// the deployment has (leader, members, ZooKeeper, nodes by health), and the
// counters and histograms must move with what was done: checks of an HTTP
// and a TCP node, writes on the leader and through a follower, a long poll
// that times out and one that a change answers. The alert rules of
// docs/alerts.yml must pass `promtool check rules`, and the ones on
// histograms `promtool test rules`.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "tests/integration/metrics/promtool.h"
#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

// One scrape: "name{labels}" (exactly as written) -> value.
using Samples = std::map<std::string, double>;

Samples Parse(const std::string& text) {
  Samples out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

std::optional<double> Get(const Samples& s, const std::string& key) {
  auto it = s.find(key);
  if (it == s.end()) return std::nullopt;
  return it->second;
}

class MetricsTest : public JcmClusterTest {
 protected:
  void SetUp() override {
    promtool_ = FindPromtool();
    if (promtool_.empty()) {
      GTEST_SKIP() << "promtool not found on PATH: install the Debian package `prometheus` "
                      "(scripts/deps.sh does) to run the /metrics checks";
    }
    JcmClusterTest::SetUp();
  }

  // Scrapes instance i, checks the reply and runs promtool on the text.
  Samples Scrape(int i) {
    HttpReply r = HttpGet(cluster_->address(i), "/metrics");
    EXPECT_EQ(r.status, 200) << r.Describe();
    std::string file = dir_.path() + "/scrape-" + std::to_string(++scrapes_) + ".prom";
    std::ofstream(file) << r.body;
    PromtoolResult check = RunPromtoolCheck(promtool_, "metrics", file);
    EXPECT_EQ(check.exit_code, 0) << "promtool check metrics on " << cluster_->address(i) << ":\n"
                                  << check.output << "\n--- the scrape ---\n"
                                  << r.body;
    return Parse(r.body);
  }

  // Waits until instance i's scrape has `key` == want; returns the last value.
  std::optional<double> AwaitValue(int i, const std::string& key, double want) {
    std::optional<double> seen;
    WaitUntil(
        [&] {
          HttpReply r = HttpGet(cluster_->address(i), "/metrics");
          seen = Get(Parse(r.body), key);
          return seen && *seen == want;
        },
        milliseconds(5000));
    return seen;
  }

  std::string promtool_;
  TempDir dir_{"jcm-metrics"};
  int scrapes_ = 0;
};

TEST_F(MetricsTest, ScrapesPassPromtoolAndFollowTheDeployment) {
  int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  int f = cluster_->AFollower(leader);

  Samples before = Scrape(f);
  ASSERT_TRUE(Get(before, "jcm_api_requests")) << "no jcm_api_requests";
  const std::string get_count = "jcm_http_request_duration_seconds_count{route=\"getCluster\"}";
  ASSERT_TRUE(Get(before, get_count)) << "no " << get_count;
  const std::string fwd_count = "jcm_forward_duration_seconds_count";
  const std::string wait_timeout = "jcm_long_poll_wait_seconds_count{outcome=\"timeout\"}";
  const std::string wait_change = "jcm_long_poll_wait_seconds_count{outcome=\"change\"}";
  const std::string by_forward = "jcm_write_request_duration_seconds_count{class=\"forward\"}";
  const std::string by_write = "jcm_write_request_duration_seconds_count{class=\"write\"}";
  const std::string batches = "jcm_write_batch_duration_seconds_count";
  for (const std::string& key :
       {fwd_count, wait_timeout, wait_change, by_forward, by_write, batches}) {
    ASSERT_TRUE(Get(before, key)) << "no " << key;
  }
  Samples leader_before = Scrape(leader);
  double leader_writes_before = Get(leader_before, "jcm_write_duration_seconds_count").value_or(-1);
  ASSERT_GE(leader_writes_before, 0);

  // Two checked clusters, written on the leader: one HTTP node, one TCP
  // node, each a live listener on loopback.
  const std::string host = "127.0.47.1";
  int http_port = FreeLoopbackPort(host);
  ASSERT_GT(http_port, 0);
  HttpTarget http_target(host, http_port, "/health");
  ASSERT_TRUE(http_target.Start());
  int tcp_port = FreeLoopbackPort(host);  // after the HTTP target holds its port
  ASSERT_GT(tcp_port, 0);
  TcpTarget tcp_target(host, tcp_port);
  ASSERT_TRUE(tcp_target.Start());
  nlohmann::json web =
      ClusterDoc("metrics-web", nlohmann::json::array({NodeDoc(host, http_port)}), "HTTP");
  nlohmann::json db =
      ClusterDoc("metrics-db", nlohmann::json::array({NodeDoc(host, http_port, tcp_port)}), "TCP");
  for (const nlohmann::json& doc : {web, db}) {
    HttpReply r = HttpPostJson(cluster_->address(leader), "/c", doc);
    ASSERT_EQ(r.status, 200) << r.Describe();
  }

  // A checkType NONE cluster of three nodes, created through the follower
  // (forwarded to the leader): all three are NORMAL everywhere, and so are
  // the two checked nodes once checked.
  nlohmann::json nodes = nlohmann::json::array(
      {NodeDoc(NthIp(1), 8080), NodeDoc(NthIp(2), 8080), NodeDoc(NthIp(3), 8080)});
  HttpReply put = HttpPostJson(cluster_->address(f), "/c", ClusterDoc("metrics-a", nodes));
  ASSERT_EQ(put.status, 200) << put.Describe();
  for (int i = 0; i < cluster_->size(); ++i) {
    EXPECT_EQ(AwaitValue(i, "jcm_nodes{status=\"NORMAL\"}", 5), 5.0) << cluster_->address(i);
  }
  constexpr int kGets = 5;
  for (int k = 0; k < kGets; ++k) {
    ASSERT_EQ(HttpGet(cluster_->address(f), "/c/metrics-a").status, 200);
  }
  // A long poll that nothing answers but its own wait: parked, then timed.
  long long version = cluster_->ClusterVersion(f, "metrics-a");
  nlohmann::json sub = {
      {"tag", "metrics-test"},
      {"ext", 1},
      {"waitMs", 300},
      {"units", nlohmann::json::array({nlohmann::json{
                    {"name", "metrics-a"}, {"version", version}, {"statusVersion", 1LL << 60}}})}};
  auto poll_start = std::chrono::steady_clock::now();
  HttpReply polled = HttpPost(cluster_->address(f), "/sub", sub.dump());
  ASSERT_EQ(polled.status, 200) << polled.Describe();
  ASSERT_GE(MsSince(poll_start), 250) << "the poll was not parked: " << polled.body;

  Samples after = Scrape(f);
  // Counters of /sys/status, flattened, moved with the requests.
  EXPECT_GE(*Get(after, "jcm_api_requests"), *Get(before, "jcm_api_requests") + kGets + 2);
  EXPECT_GE(Get(after, "jcm_api_forwarded").value_or(0), 1);
  // Histograms grew by what was done.
  // kGets, and the ClusterVersion read before the poll.
  EXPECT_EQ(*Get(after, get_count), *Get(before, get_count) + kGets + 1);
  EXPECT_EQ(*Get(after, fwd_count), *Get(before, fwd_count) + 1);
  // The forwarded write, timed end to end where the client sent it.
  EXPECT_EQ(*Get(after, by_forward), *Get(before, by_forward) + 1);
  EXPECT_EQ(*Get(after, by_write), *Get(before, by_write));
  EXPECT_EQ(*Get(after, wait_timeout), *Get(before, wait_timeout) + 1);
  EXPECT_EQ(*Get(after, wait_change), *Get(before, wait_change));
  EXPECT_GE(*Get(after, "jcm_long_poll_wait_seconds_sum{outcome=\"timeout\"}"),
            Get(before, "jcm_long_poll_wait_seconds_sum{outcome=\"timeout\"}").value_or(0) + 0.25);
  EXPECT_EQ(Get(after, "jcm_long_poll_wait_seconds_bucket{outcome=\"timeout\",le=\"+Inf\"}"),
            Get(after, wait_timeout));
  // The deployment as it is.
  EXPECT_EQ(Get(after, "jcm_up"), 1.0);
  EXPECT_EQ(Get(after, "jcm_ready"), 1.0);
  EXPECT_EQ(Get(after, "jcm_leader"), 0.0);
  EXPECT_EQ(Get(after, "jcm_leader_known"), 1.0);
  EXPECT_EQ(Get(after, "jcm_members"), 3.0);
  EXPECT_EQ(Get(after, "jcm_zookeeper_connected"), 1.0);
  EXPECT_EQ(Get(after, "jcm_clusters"), 3.0);
  EXPECT_EQ(Get(after, "jcm_clusters_panic"), 0.0);
  EXPECT_EQ(Get(after, "jcm_long_polls_parked"), 0.0);
  EXPECT_GE(Get(after, "jcm_http_connections_open").value_or(0), 1.0);  // this scrape's
  EXPECT_GT(Get(after, "jcm_http_connections_max").value_or(0), 0.0);
  bool info_names_leader = false;
  for (const auto& [key, value] : after) {
    if (key.rfind("jcm_info{", 0) == 0 &&
        key.find("leader=\"" + cluster_->address(leader) + "\"") != std::string::npos &&
        key.find("zookeeper=\"CONNECTED\"") != std::string::npos) {
      info_names_leader = value == 1.0;
    }
  }
  EXPECT_TRUE(info_names_leader) << "no jcm_info naming leader " << cluster_->address(leader);

  // The leader ran the three writes and stored each in a batch of its own;
  // the two sent to it directly are timed end to end there as class write.
  Samples on_leader = Scrape(leader);
  EXPECT_EQ(Get(on_leader, "jcm_leader"), 1.0);
  EXPECT_GE(*Get(on_leader, "jcm_write_duration_seconds_count"), leader_writes_before + 3);
  EXPECT_GE(*Get(on_leader, batches), *Get(leader_before, batches) + 3);
  EXPECT_EQ(*Get(on_leader, by_write), *Get(leader_before, by_write) + 2);
  EXPECT_EQ(*Get(on_leader, by_forward), *Get(leader_before, by_forward));
  // Each checked node's checks were timed by the instance that checks it.
  double http_checks = 0, tcp_checks = 0;
  for (int i = 0; i < cluster_->size(); ++i) {
    Samples s = i == f ? after : i == leader ? on_leader : Scrape(i);
    http_checks += Get(s, "jcm_check_duration_seconds_count{type=\"http\"}").value_or(0);
    tcp_checks += Get(s, "jcm_check_duration_seconds_count{type=\"tcp\"}").value_or(0);
  }
  EXPECT_GE(http_checks, 1.0);
  EXPECT_GE(tcp_checks, 1.0);
  EXPECT_GE(http_target.hits(), 1);
  EXPECT_GE(tcp_target.accepts(), 1);

  // A long poll that a change answers: parked on the follower, then a node
  // of its cluster is switched offline (NORMAL 4, INVALID 1, offline 1).
  version = cluster_->ClusterVersion(f, "metrics-a");
  sub["waitMs"] = 4000;
  sub["units"][0]["version"] = version;
  auto changed = std::async(std::launch::async,
                            [&] { return HttpPost(cluster_->address(f), "/sub", sub.dump()); });
  EXPECT_EQ(AwaitValue(f, "jcm_long_polls_parked", 1), 1.0);
  HttpReply off = HttpPostJson(cluster_->address(leader), "/c/node/online/metrics-a",
                               {{"spec", NodeSpec(NthIp(1), 8080)}, {"online", false}});
  ASSERT_EQ(off.status, 200) << off.Describe();
  HttpReply woken = changed.get();
  ASSERT_EQ(woken.status, 200) << woken.Describe();
  EXPECT_EQ(woken.json["units"][0].value("kind", ""), "RESP_UPDATE") << woken.body;
  EXPECT_EQ(AwaitValue(f, "jcm_nodes{status=\"NORMAL\"}", 4), 4.0);
  Samples last = Scrape(f);
  EXPECT_EQ(Get(last, "jcm_nodes{status=\"INVALID\"}"), 1.0);
  EXPECT_EQ(Get(last, "jcm_nodes_offline"), 1.0);
  EXPECT_EQ(*Get(last, wait_change), *Get(after, wait_change) + 1);
  EXPECT_LT(*Get(last, "jcm_long_poll_wait_seconds_sum{outcome=\"change\"}"), 4.0);
}

TEST(AlertRules, DocsAlertsPassPromtoolCheckRules) {
  std::string promtool = FindPromtool();
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool not found on PATH: install the Debian package `prometheus` "
                    "(scripts/deps.sh does) to check docs/alerts.yml";
  }
  const char* src = std::getenv("JCM_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "JCM_SOURCE_DIR is set by ctest";
  std::string file = std::string(src) + "/docs/alerts.yml";
  ASSERT_TRUE(std::ifstream(file).good()) << file;
  PromtoolResult check = RunPromtoolCheck(promtool, "rules", file);
  EXPECT_EQ(check.exit_code, 0) << check.output;
  // Every rule of the doc was read: the count promtool reports.
  EXPECT_NE(check.output.find("SUCCESS: 8 rules found"), std::string::npos) << check.output;
}

// The alerts on histograms, run on series made to fire them and series
// that must not (tests/integration/metrics/alerts_rules_test.yml).
TEST(AlertRules, HistogramAlertsFireOnlyWhereTheyShould) {
  std::string promtool = FindPromtool();
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool not found on PATH: install the Debian package `prometheus` "
                    "(scripts/deps.sh does) to test docs/alerts.yml";
  }
  const char* src = std::getenv("JCM_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "JCM_SOURCE_DIR is set by ctest";
  std::string file = std::string(src) + "/tests/integration/metrics/alerts_rules_test.yml";
  ASSERT_TRUE(std::ifstream(file).good()) << file;
  PromtoolResult test = RunPromtoolTestRules(promtool, file);
  EXPECT_EQ(test.exit_code, 0) << test.output;
  EXPECT_NE(test.output.find("SUCCESS"), std::string::npos) << test.output;
}

}  // namespace
}  // namespace jcm::testing
