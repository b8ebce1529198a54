// The metrics library (api/metrics_*.h): the exact text of the Prometheus
// exposition format 0.0.4, histogram bucketing, the /sys/status flattening,
// the /metrics page's explicit gauges, and GET /metrics on a real ApiServer
// over the fake NameService.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/metrics_api.h"
#include "api/metrics_histogram.h"
#include "api/metrics_page.h"
#include "api/metrics_registry.h"
#include "api/metrics_status_flattener.h"
#include "api/metrics_timed_exchange.h"
#include "api/metrics_writer.h"
#include "model/cluster.h"
#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

using nlohmann::json;

TEST(MetricsWriter, CounterAndGaugeFamilies) {
  MetricsWriter w;
  ASSERT_TRUE(w.Family("jcm_requests_total", "Requests served.", MetricType::kCounter));
  w.Sample("jcm_requests_total", {{"route", "sub"}, {"code", "200"}}, uint64_t{42});
  w.Sample("jcm_requests_total", {}, uint64_t{7});
  ASSERT_TRUE(w.Family("jcm_temp", "A gauge.", MetricType::kGauge));
  w.Sample("jcm_temp", {}, -1.5);
  EXPECT_EQ(w.text(),
            "# HELP jcm_requests_total Requests served.\n"
            "# TYPE jcm_requests_total counter\n"
            "jcm_requests_total{route=\"sub\",code=\"200\"} 42\n"
            "jcm_requests_total 7\n"
            "# HELP jcm_temp A gauge.\n"
            "# TYPE jcm_temp gauge\n"
            "jcm_temp -1.5\n");
}

TEST(MetricsWriter, EscapesHelpAndLabelValues) {
  MetricsWriter w;
  ASSERT_TRUE(w.Family("x", "back\\slash\nnew \"quoted\"", MetricType::kUntyped));
  w.Sample("x", {{"v", "a\"b\\c\nd"}}, uint64_t{1});
  // HELP escapes only \ and newline; label values also escape ".
  EXPECT_EQ(w.text(),
            "# HELP x back\\\\slash\\nnew \"quoted\"\n"
            "# TYPE x untyped\n"
            "x{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsWriter, RefusesRepeatedFamiliesAndBadNames) {
  MetricsWriter w;
  EXPECT_TRUE(w.Family("a_b:c", "", MetricType::kGauge));
  EXPECT_FALSE(w.Family("a_b:c", "again", MetricType::kGauge));
  EXPECT_FALSE(w.Family("2xx", "", MetricType::kGauge));
  EXPECT_FALSE(w.Family("a-b", "", MetricType::kGauge));
  EXPECT_FALSE(w.Family("", "", MetricType::kGauge));
  EXPECT_TRUE(MetricsWriter::ValidLabelName("status"));
  EXPECT_FALSE(MetricsWriter::ValidLabelName("__name__"));
  EXPECT_FALSE(MetricsWriter::ValidLabelName("a:b"));
  // A label name the format cannot carry is dropped, not written.
  w.Sample("a_b:c", {{"bad-name", "x"}, {"ok", "y"}}, uint64_t{3});
  EXPECT_EQ(w.text(), "# HELP a_b:c \n# TYPE a_b:c gauge\na_b:c{ok=\"y\"} 3\n");
}

TEST(MetricsWriter, FormatsValues) {
  EXPECT_EQ(MetricsWriter::FormatValue(0.005), "0.005");
  EXPECT_EQ(MetricsWriter::FormatValue(2.5), "2.5");
  EXPECT_EQ(MetricsWriter::FormatValue(10), "10");
  EXPECT_EQ(MetricsWriter::FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(MetricsWriter::FormatValue(1e21), "1e+21");
  EXPECT_EQ(MetricsWriter::FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(MetricsWriter::FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(MetricsWriter::FormatValue(std::nan("")), "NaN");
}

TEST(MetricHistogram, BucketsAreInclusiveAndCumulative) {
  MetricsRegistry r;
  MetricHistogram* h = r.Histogram("lat_seconds", "Latency.", {{"route", "x"}}, {1, 0.1, 0.005});
  ASSERT_NE(h, nullptr);
  h->Observe(0.005);  // le is inclusive: lands in 0.005
  h->Observe(0.05);
  h->Observe(0.1);
  h->Observe(3);  // only +Inf
  MetricsWriter w;
  r.Render(&w);
  EXPECT_EQ(w.text(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"x\",le=\"0.005\"} 1\n"
            "lat_seconds_bucket{route=\"x\",le=\"0.1\"} 3\n"
            "lat_seconds_bucket{route=\"x\",le=\"1\"} 3\n"
            "lat_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{route=\"x\"} 3.155\n"
            "lat_seconds_count{route=\"x\"} 4\n");
}

TEST(MetricHistogram, ConcurrentObservationsAreAllCounted) {
  MetricHistogram h({0.5});
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.Observe(t % 2 == 0 ? 0.25 : 1.0);
    });
  }
  for (auto& t : threads) t.join();
  MetricHistogram::Snapshot s = h.Read();
  ASSERT_EQ(s.cumulative.size(), 2u);
  EXPECT_EQ(s.cumulative[0], uint64_t{2 * kEach});
  EXPECT_EQ(s.cumulative[1], uint64_t{kThreads * kEach});
  EXPECT_EQ(s.count, uint64_t{kThreads * kEach});
  EXPECT_DOUBLE_EQ(s.sum, 2 * kEach * 0.25 + 2 * kEach * 1.0);
}

TEST(MetricsRegistry, SameNameAndLabelsGiveTheSameMetricAndTypesDoNotMix) {
  MetricsRegistry r;
  MetricCounter* a = r.Counter("c_total", "C.", {{"k", "1"}});
  MetricCounter* b = r.Counter("c_total", "C.", {{"k", "1"}});
  MetricCounter* other = r.Counter("c_total", "C.", {{"k", "2"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  EXPECT_EQ(r.Gauge("c_total", "as a gauge"), nullptr);
  a->Inc(3);
  other->Inc();
  MetricGauge* g = r.Gauge("g", "G.");
  g->Set(2);
  g->Add(-0.5);
  MetricsWriter w;
  r.Render(&w);
  EXPECT_EQ(w.text(),
            "# HELP c_total C.\n# TYPE c_total counter\n"
            "c_total{k=\"1\"} 3\nc_total{k=\"2\"} 1\n"
            "# HELP g G.\n# TYPE g gauge\ng 1.5\n");
}

TEST(MetricsStatusFlattener, SnakeCase) {
  EXPECT_EQ(MetricsStatusFlattener::SnakeCase("forwardFailures"), "forward_failures");
  EXPECT_EQ(MetricsStatusFlattener::SnakeCase("NOT_FOUND"), "not_found");
  EXPECT_EQ(MetricsStatusFlattener::SnakeCase("2xx"), "2xx");
  EXPECT_EQ(MetricsStatusFlattener::SnakeCase("a-b.c"), "a_b_c");
  EXPECT_EQ(MetricsStatusFlattener::SnakeCase("http2Open"), "http2_open");
}

TEST(MetricsStatusFlattener, BaseUnits) {
  double f = 0;
  EXPECT_EQ(MetricsStatusFlattener::BaseUnits("jcm_health_last_round_ms", &f),
            "jcm_health_last_round_seconds");
  EXPECT_DOUBLE_EQ(f, 0.001);
  EXPECT_EQ(MetricsStatusFlattener::BaseUnits("jcm_health_checks_per_sec", &f),
            "jcm_health_checks_per_second");
  EXPECT_DOUBLE_EQ(f, 1);
  EXPECT_EQ(MetricsStatusFlattener::BaseUnits("jcm_writes_per_ms", &f), "jcm_writes_per_second");
  EXPECT_DOUBLE_EQ(f, 1000);
  EXPECT_EQ(MetricsStatusFlattener::BaseUnits("jcm_cache_kb", &f), "jcm_cache_bytes");
  EXPECT_DOUBLE_EQ(f, 1024);
  EXPECT_EQ(MetricsStatusFlattener::BaseUnits("jcm_api_replies_2xx", &f), "jcm_api_replies_2xx");
  EXPECT_DOUBLE_EQ(f, 1);
  // A unit inside the name, not only at its end.
  EXPECT_EQ(MetricsStatusFlattener::BaseUnits("jcm_ms_max", &f), "jcm_seconds_max");
  EXPECT_DOUBLE_EQ(f, 0.001);
}

TEST(MetricsStatusFlattener, NumbersInBaseUnits) {
  json status = json::parse(R"({"health": {"lastRoundMs": 250, "checksPerSec": 12.5}})");
  MetricsWriter w;
  MetricsStatusFlattener::Write(status, "jcm", &w);
  EXPECT_EQ(w.text(),
            "# HELP jcm_health_checks_per_second /sys/status jcm_health_checks_per_sec\n"
            "# TYPE jcm_health_checks_per_second untyped\n"
            "jcm_health_checks_per_second 12.5\n"
            "# HELP jcm_health_last_round_seconds /sys/status jcm_health_last_round_ms\n"
            "# TYPE jcm_health_last_round_seconds untyped\n"
            "jcm_health_last_round_seconds 0.25\n");
}

TEST(MetricsStatusFlattener, NumbersBooleansAndStringsAsInfoLabels) {
  json status = json::parse(R"({
    "self": "127.0.0.1:1",
    "isLeader": true,
    "leader": null,
    "members": [{"id": "a"}],
    "zookeeper": "CONNECTED",
    "clusters": 3,
    "writes": {"ok": 5, "failed": 0},
    "api": {"requests": 12, "replies": {"2xx": 11}, "errors": {"NOT_FOUND": 1},
            "http": {"open": 2, "ratio": 0.25}}
  })");
  MetricsWriter w;
  ASSERT_TRUE(w.Family("jcm_clusters", "explicit", MetricType::kGauge));  // taken: skipped below
  MetricsStatusFlattener::Write(status, "jcm", &w);
  // nlohmann::json keeps object keys sorted.
  EXPECT_EQ(w.text(),
            "# HELP jcm_clusters explicit\n# TYPE jcm_clusters gauge\n"
            "# HELP jcm_api_errors_not_found /sys/status jcm_api_errors_not_found\n"
            "# TYPE jcm_api_errors_not_found untyped\n"
            "jcm_api_errors_not_found 1\n"
            "# HELP jcm_api_http_open /sys/status jcm_api_http_open\n"
            "# TYPE jcm_api_http_open untyped\n"
            "jcm_api_http_open 2\n"
            "# HELP jcm_api_http_ratio /sys/status jcm_api_http_ratio\n"
            "# TYPE jcm_api_http_ratio untyped\n"
            "jcm_api_http_ratio 0.25\n"
            "# HELP jcm_api_replies_2xx /sys/status jcm_api_replies_2xx\n"
            "# TYPE jcm_api_replies_2xx untyped\n"
            "jcm_api_replies_2xx 11\n"
            "# HELP jcm_api_requests /sys/status jcm_api_requests\n"
            "# TYPE jcm_api_requests untyped\n"
            "jcm_api_requests 12\n"
            "# HELP jcm_is_leader /sys/status jcm_is_leader\n"
            "# TYPE jcm_is_leader untyped\n"
            "jcm_is_leader 1\n"
            "# HELP jcm_writes_failed /sys/status jcm_writes_failed\n"
            "# TYPE jcm_writes_failed untyped\n"
            "jcm_writes_failed 0\n"
            "# HELP jcm_writes_ok /sys/status jcm_writes_ok\n"
            "# TYPE jcm_writes_ok untyped\n"
            "jcm_writes_ok 5\n"
            "# HELP jcm_info /sys/status text facts of jcm, as labels\n"
            "# TYPE jcm_info gauge\n"
            "jcm_info{self=\"127.0.0.1:1\",zookeeper=\"CONNECTED\"} 1\n");
}

ClusterPtr MakeCluster(const std::string& name, std::vector<NodeStatus> statuses, bool panic,
                       int offline) {
  auto c = std::make_shared<Cluster>();
  c->name = name;
  c->panic = panic;
  int i = 0;
  for (NodeStatus s : statuses) {
    Node n;
    n.ip = "10.0.0." + std::to_string(++i);
    n.status = s;
    n.online = i > offline;
    c->nodes.push_back(n);
  }
  return c;
}

std::string Line(const std::string& text, const std::string& prefix) {
  size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return "";
  size_t end = text.find('\n', at + 1);
  return text.substr(at + 1, end - at - 1);
}

TEST(MetricsPage, ExplicitGaugesFromStatusAndClusters) {
  json status = json::parse(R"({
    "ready": true, "zookeeper": "CONNECTED", "members": [{"id":"a"},{"id":"b"},{"id":"c"}],
    "api": {"longPollsParked": 4, "maxParkedLongPolls": 10000,
            "http": {"open": 7, "maxConnections": 500}}
  })");
  std::vector<ClusterPtr> clusters = {
      MakeCluster("a", {NodeStatus::kNormal, NodeStatus::kNormal, NodeStatus::kTimeout}, false, 1),
      MakeCluster("b", {NodeStatus::kAbnormal, NodeStatus::kInvalid}, true, 0)};
  LeaderInfo leader;
  leader.known = true;
  leader.address = "127.0.0.1:9";
  MetricsRegistry registry;
  std::string text = MetricsPage::Render(status, clusters, leader, registry);
  EXPECT_EQ(Line(text, "jcm_ready "), "jcm_ready 1");
  EXPECT_EQ(Line(text, "jcm_leader "), "jcm_leader 0");
  EXPECT_EQ(Line(text, "jcm_leader_known "), "jcm_leader_known 1");
  EXPECT_EQ(Line(text, "jcm_members "), "jcm_members 3");
  EXPECT_EQ(Line(text, "jcm_zookeeper_connected "), "jcm_zookeeper_connected 1");
  EXPECT_EQ(Line(text, "jcm_clusters "), "jcm_clusters 2");
  EXPECT_EQ(Line(text, "jcm_clusters_panic "), "jcm_clusters_panic 1");
  EXPECT_EQ(Line(text, "jcm_nodes{status=\"NORMAL\"}"), "jcm_nodes{status=\"NORMAL\"} 2");
  EXPECT_EQ(Line(text, "jcm_nodes{status=\"ABNORMAL\"}"), "jcm_nodes{status=\"ABNORMAL\"} 1");
  EXPECT_EQ(Line(text, "jcm_nodes{status=\"TIMEOUT\"}"), "jcm_nodes{status=\"TIMEOUT\"} 1");
  EXPECT_EQ(Line(text, "jcm_nodes{status=\"INVALID\"}"), "jcm_nodes{status=\"INVALID\"} 1");
  EXPECT_EQ(Line(text, "jcm_nodes_offline "), "jcm_nodes_offline 1");
  EXPECT_EQ(Line(text, "jcm_long_polls_parked "), "jcm_long_polls_parked 4");
  EXPECT_EQ(Line(text, "jcm_long_polls_parked_max "), "jcm_long_polls_parked_max 10000");
  EXPECT_EQ(Line(text, "jcm_http_connections_open "), "jcm_http_connections_open 7");
  EXPECT_EQ(Line(text, "jcm_http_connections_max "), "jcm_http_connections_max 500");
  // The flattened /sys/status follows, without repeating a family.
  EXPECT_EQ(Line(text, "jcm_api_long_polls_parked "), "jcm_api_long_polls_parked 4");
  EXPECT_EQ(text.find("# TYPE jcm_ready untyped"), std::string::npos);
}

// A fake exchange that records its replies.
class RecordingExchange : public HttpExchange {
 public:
  void Reply(HttpReply reply) override { replies.push_back(std::move(reply)); }
  boost::asio::any_io_executor executor() const override { return {}; }
  std::vector<HttpReply> replies;
};

TEST(MetricsTimedExchange, ObservesOnceFromArrival) {
  MetricHistogram h({1.0});
  auto inner = std::make_shared<RecordingExchange>();
  auto received = std::chrono::steady_clock::now() - std::chrono::seconds(2);
  MetricsTimedExchange ex(inner, &h, received);
  ex.Reply(HttpReply{200, "a"});
  ex.Reply(HttpReply{200, "b"});  // a second reply is the inner's to ignore; not timed again
  MetricHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.cumulative[0], 0u);  // took >= 2 s: above the 1 s bucket
  EXPECT_GE(s.sum, 2.0);
  EXPECT_EQ(inner->replies.size(), 2u);
}

// Each kind of wait gets bounds spanning what it can take: a check's timeout
// is under 10 s, a held write may last 30 s, waitMs is capped at 30 s.
TEST(MetricHistogram, NamedBoundsSpanTheirWaitsAndAscend) {
  struct Case {
    const char* name;
    std::vector<double> bounds;
    double first, last;
  };
  for (const Case& c : {Case{"latency", MetricHistogram::LatencyBounds(), 0.0005, 10},
                        Case{"check", MetricHistogram::CheckBounds(), 0.001, 10},
                        Case{"write", MetricHistogram::WriteBounds(), 0.001, 30},
                        Case{"wait", MetricHistogram::WaitBounds(), 0.01, 60}}) {
    ASSERT_GE(c.bounds.size(), 8u) << c.name;
    EXPECT_EQ(c.bounds.front(), c.first) << c.name;
    EXPECT_EQ(c.bounds.back(), c.last) << c.name;
    EXPECT_TRUE(std::is_sorted(c.bounds.begin(), c.bounds.end()) &&
                std::adjacent_find(c.bounds.begin(), c.bounds.end()) == c.bounds.end())
        << c.name;
    // Kept as given: nothing is dropped by the constructor's normalising.
    EXPECT_EQ(MetricHistogram(c.bounds).bounds(), c.bounds) << c.name;
  }
}

// Renders `metrics`' registry.
std::string RenderOf(const ApiMetrics& metrics) {
  MetricsWriter w;
  metrics.registry().Render(&w);
  return w.text();
}

TEST(ApiMetrics, EverySeriesIsThereBeforeAnyTrafficWithItsBounds) {
  ApiMetrics m;
  const std::string text = RenderOf(m);
  for (const char* series : {
           "jcm_write_request_duration_seconds_count{class=\"write\"} 0\n",
           "jcm_write_request_duration_seconds_count{class=\"forward\"} 0\n",
           "jcm_write_duration_seconds_count 0\n",
           "jcm_write_batch_duration_seconds_count 0\n",
           "jcm_forward_duration_seconds_count 0\n",
           "jcm_long_poll_wait_seconds_count{outcome=\"change\"} 0\n",
           "jcm_long_poll_wait_seconds_count{outcome=\"timeout\"} 0\n",
           "jcm_check_duration_seconds_count{type=\"http\"} 0\n",
           "jcm_check_duration_seconds_count{type=\"tcp\"} 0\n",
           "jcm_http_request_duration_seconds_count{route=\"sub\"} 0\n",
           // The outer bounds of each kind.
           "jcm_check_duration_seconds_bucket{type=\"tcp\",le=\"0.001\"} 0\n",
           "jcm_check_duration_seconds_bucket{type=\"tcp\",le=\"10\"} 0\n",
           "jcm_write_batch_duration_seconds_bucket{le=\"30\"} 0\n",
           "jcm_long_poll_wait_seconds_bucket{outcome=\"timeout\",le=\"60\"} 0\n",
       }) {
    EXPECT_NE(text.find(series), std::string::npos) << series << " not in:\n" << text;
  }
  // One family line per histogram, however many label sets.
  size_t families = 0;
  for (size_t at = 0; (at = text.find("# TYPE ", at)) != std::string::npos; ++at) ++families;
  EXPECT_EQ(families, 7u) << text;
}

TEST(ApiMetrics, EachAccessorObservesIntoItsOwnSeries) {
  ApiMetrics m;
  m.check_seconds(CheckType::kTcp).Observe(0.002);
  m.check_seconds(CheckType::kHttp).Observe(0.02);
  m.check_seconds(CheckType::kHttp).Observe(20);  // past 10 s: +Inf only
  m.write_request_seconds(true).Observe(0.3);
  m.long_poll_wait_seconds(false).Observe(30);
  m.write_batch_seconds().Observe(0.004);
  const std::string text = RenderOf(m);
  for (const char* series : {
           "jcm_check_duration_seconds_bucket{type=\"tcp\",le=\"0.001\"} 0\n",
           "jcm_check_duration_seconds_bucket{type=\"tcp\",le=\"0.0025\"} 1\n",
           "jcm_check_duration_seconds_count{type=\"tcp\"} 1\n",
           "jcm_check_duration_seconds_bucket{type=\"http\",le=\"0.025\"} 1\n",
           "jcm_check_duration_seconds_bucket{type=\"http\",le=\"10\"} 1\n",
           "jcm_check_duration_seconds_bucket{type=\"http\",le=\"+Inf\"} 2\n",
           "jcm_write_request_duration_seconds_count{class=\"forward\"} 1\n",
           "jcm_write_request_duration_seconds_count{class=\"write\"} 0\n",
           "jcm_long_poll_wait_seconds_bucket{outcome=\"timeout\",le=\"20\"} 0\n",
           "jcm_long_poll_wait_seconds_bucket{outcome=\"timeout\",le=\"30\"} 1\n",
           "jcm_long_poll_wait_seconds_count{outcome=\"change\"} 0\n",
           "jcm_write_batch_duration_seconds_bucket{le=\"0.005\"} 1\n",
           "jcm_write_duration_seconds_count 0\n",
       }) {
    EXPECT_NE(text.find(series), std::string::npos) << series << " not in:\n" << text;
  }
}

TEST(ApiServerMetrics, GetMetricsServesTheTextFormatAndCountsRequests) {
  TestApi api;
  // The server's own histograms (no ApiOptions::metrics given): fresh.
  uint64_t before = api.server().metrics().request_seconds(ApiRoute::kSysStatus).Read().count;
  EXPECT_EQ(before, 0u);
  ASSERT_EQ(api.Call("GET", "/sys/status").status, 200);
  ASSERT_EQ(api.Call("GET", "/sys/status").status, 200);
  httplib::Client client("127.0.0.1", api.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(api.server().metrics().request_seconds(ApiRoute::kSysStatus).Read().count, before + 2);
  const std::string& text = res->body;
  EXPECT_NE(text.find("# TYPE jcm_http_request_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("jcm_http_request_duration_seconds_count{route=\"sysStatus\"} " +
                      std::to_string(before + 2) + "\n"),
            std::string::npos)
      << text;
  // The three requests so far (two /sys/status, this /metrics) are counted.
  EXPECT_EQ(Line(text, "jcm_api_requests "), "jcm_api_requests 3");
  EXPECT_EQ(Line(text, "jcm_up "), "jcm_up 1");
}

// jcm-server hands one ApiMetrics to the server and, as callbacks, to the
// checker and the writer: what they observe is what /metrics shows.
TEST(ApiServerMetrics, AGivenMetricsObjectIsObservedAndShown) {
  ApiMetrics shared;
  ApiOptions options;
  options.metrics = &shared;
  TestApi api(options);
  EXPECT_EQ(&api.server().metrics(), &shared);
  shared.check_seconds(CheckType::kTcp).Observe(0.004);  // as the checker would
  shared.write_batch_seconds().Observe(0.02);            // as the writer would
  ASSERT_EQ(api.Call("GET", "/healthz").status, 200);
  EXPECT_EQ(shared.request_seconds(ApiRoute::kHealthz).Read().count, 1u);
  httplib::Client client("127.0.0.1", api.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(Line(res->body, "jcm_check_duration_seconds_count{type=\"tcp\"}"),
            "jcm_check_duration_seconds_count{type=\"tcp\"} 1");
  EXPECT_EQ(Line(res->body, "jcm_write_batch_duration_seconds_count"),
            "jcm_write_batch_duration_seconds_count 1");
  EXPECT_EQ(Line(res->body, "jcm_http_request_duration_seconds_count{route=\"healthz\"}"),
            "jcm_http_request_duration_seconds_count{route=\"healthz\"} 1");
}

TEST(ApiServerMetrics, NeedsAReadTokenWhenTheTokensFileNamesOne) {
  std::string path = ::testing::TempDir() + "/metrics_test_tokens";
  std::ofstream(path) << "read metrics-read-token-0123456789\n";
  ApiOptions options;
  options.tokens_file = path;
  TestApi api(options);
  EXPECT_EQ(api.Call("GET", "/metrics").status, 401);
  httplib::Client client("127.0.0.1", api.port());
  auto res = client.Get("/metrics", {{"Authorization", "Bearer metrics-read-token-0123456789"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("\njcm_up 1\n"), std::string::npos);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jcm
