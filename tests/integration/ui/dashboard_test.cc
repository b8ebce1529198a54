// The web dashboard (/ui/) in a real headless Chromium against a real
// deployment: a ZooKeeper, three jcm-server processes and real HTTP targets.
// The browser opens the page once and the test reads its DOM while it runs,
// so what changes on screen is the page's own doing, without a reload:
// - the clusters page lists the registered clusters with their nodes;
// - a stopped target turns its node red (state "down") within
//   fall x interval + the one-second poll, and the cluster "degraded";
// - the cluster page lists that node's NORMAL -> ABNORMAL transition first
//   under "Recent transitions" (opened on the checker), and an empty state
//   for a cluster nobody checks;
// - the page names, for every cluster, the instance that checks it, as that
//   instance's own /sys/status says;
// - the deployment page shows the leader and every member;
// - online/offline switches exist only once a write token is entered, and
//   take a node offline;
// - when its instance stops, the page says so and recovers by itself;
// - no console error or warning, no uncaught exception, no failed load.
// Skipped (with the reason) only when chromium is not installed.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/ui/headless_browser.h"
#include "tests/support/http_json.h"
#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/test_env.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kIntervalMs = 300;
constexpr int kFall = 2;

// A JavaScript string literal for `s` (JSON is valid JavaScript).
std::string Js(const std::string& s) { return nlohmann::json(s).dump(); }

class DashboardTest : public JcmClusterTest {
 protected:
  DashboardTest() {
    options_.instances = 3;
    options_.extra_args = {"--health-interval-ms", std::to_string(kIntervalMs),
                           "--health-rise",        "1",
                           "--health-fall",        std::to_string(kFall)};
  }

  void SetUp() override {
    chromium_ = HeadlessBrowser::FindChromium();
    if (chromium_.empty()) {
      GTEST_SKIP() << "chromium is not installed (Debian package `chromium`, listed in "
                      "scripts/deps.sh): the dashboard's browser test needs it";
    }
    JcmClusterTest::SetUp();
  }

  void TearDown() override {
    if (browser_ && HasFailure()) std::cerr << "chromium log:\n" << browser_->Log();
    browser_.reset();
    JcmClusterTest::TearDown();
    for (auto& t : targets_) t->Stop();
  }

  void Register(const nlohmann::json& doc) {
    HttpReply r = HttpPostJson(cluster_->address(0), "/c", doc);
    ASSERT_EQ(r.status, 200) << r.Describe();
  }

  // Opens the dashboard on instance `inst` at `route` and waits for its
  // first render of page `page`.
  void OpenDashboard(int inst, const std::string& route, const std::string& page) {
    browser_ = std::make_unique<HeadlessBrowser>();
    std::string error;
    std::string url = "http://" + cluster_->address(inst) + "/ui/#" + route;
    ASSERT_TRUE(browser_->Open(chromium_, browser_dir_.path(), url, &error)) << error;
    ASSERT_TRUE(browser_->WaitFor("document.body.dataset.ready === " + Js(page), seconds(20)))
        << "page " << page << " never rendered; body: " << Text("document.body.innerText");
    // Survives only as long as the page is not reloaded.
    ASSERT_TRUE(browser_->Eval("window.jcmTestMarker = 42"));
  }

  void Go(const std::string& route, const std::string& page) {
    ASSERT_TRUE(browser_->Eval("location.hash = " + Js(route)));
    ASSERT_TRUE(browser_->WaitFor("document.body.dataset.ready === " + Js(page), seconds(10)))
        << Text("document.body.innerText");
  }

  std::string Text(const std::string& expression) {
    auto v = browser_->Eval(expression);
    if (!v) return "<threw>";
    return v->is_string() ? v->get<std::string>() : v->dump();
  }

  // Row `selector`'s data attribute `attr` ("" when the row is absent).
  std::string RowData(const std::string& selector, const std::string& attr) {
    return Text("(document.querySelector(" + Js(selector) + ")?.dataset[" + Js(attr) + "] ?? '')");
  }

  void ExpectNoPageProblems() {
    EXPECT_EQ(Text("document.getElementById('js-errors').dataset.count"), "0")
        << Text("document.getElementById('js-errors').textContent");
    std::vector<std::string> problems = browser_->Problems();
    for (const std::string& p : problems) ADD_FAILURE() << "browser reported: " << p;
    EXPECT_EQ(Text("String(window.jcmTestMarker)"), "42") << "the page was reloaded";
  }

  std::string chromium_;
  TempDir browser_dir_{"jcm-ui-test"};
  std::unique_ptr<HeadlessBrowser> browser_;
  std::vector<std::unique_ptr<HttpTarget>> targets_;
};

TEST_F(DashboardTest, ListsClustersAndTurnsAStoppedNodeRedWithoutAReload) {
  std::vector<std::string> specs;
  nlohmann::json nodes = nlohmann::json::array();
  for (int i = 1; i <= 3; ++i) {
    std::string host = "127.0.31." + std::to_string(i);
    int port = FreeLoopbackPort(host);
    ASSERT_GT(port, 0) << host;
    targets_.push_back(std::make_unique<HttpTarget>(host, port, "/health"));
    ASSERT_TRUE(targets_.back()->Start()) << host << ":" << port;
    nodes.push_back(NodeDoc(host, port));
    specs.push_back(NodeSpec(host, port));
  }
  nlohmann::json web = ClusterDoc("ui-web", nodes, "HTTP");
  web["checkFile"] = "/health";
  ASSERT_NO_FATAL_FAILURE(Register(web));
  ASSERT_NO_FATAL_FAILURE(Register(ClusterDoc(
      "ui-batch", nlohmann::json::array({NodeDoc(NthIp(1), 8080), NodeDoc(NthIp(2), 8080)}))));
  // Every node NORMAL on the instance the browser will ask.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto c = cluster_->GetCluster(1, "ui-web");
        if (!c) return false;
        for (const auto& n : (*c)["nodes"]) {
          if (n.value("status", "") != "NORMAL") return false;
        }
        return true;
      },
      seconds(20)))
      << cluster_->GetCluster(1, "ui-web").value_or(nullptr).dump();

  // Opened on the instance that checks ui-web: only it records the
  // transitions the cluster page shows.
  int checker = -1;
  ASSERT_TRUE(WaitUntil([&] { return (checker = cluster_->Checker("ui-web")) >= 0; }, seconds(20)));
  ASSERT_NO_FATAL_FAILURE(OpenDashboard(checker, "/clusters", "clusters"));
  EXPECT_EQ(RowData("tr[data-cluster='ui-web']", "health"), "healthy")
      << Text("document.body.innerText");
  EXPECT_EQ(Text("document.querySelector(\"tr[data-cluster='ui-web'] .counts\").textContent"),
            "3 up");
  EXPECT_EQ(RowData("tr[data-cluster='ui-batch']", "health"), "healthy");
  EXPECT_EQ(Text("document.querySelectorAll('#clusters-table tbody tr').length"), "2");

  // Same page, no reload: follow the link to the cluster.
  ASSERT_TRUE(browser_->Eval("document.querySelector(\"tr[data-cluster='ui-web'] a\").click()"));
  ASSERT_TRUE(browser_->WaitFor("document.body.dataset.ready === 'cluster'", seconds(10)));
  for (const std::string& spec : specs) {
    EXPECT_EQ(RowData("tr[data-spec='" + spec + "']", "state"), "up") << spec;
  }

  // Stop the second target: its node must turn red by itself.
  const std::string down_spec = specs[1];
  auto stopped_at = std::chrono::steady_clock::now();
  targets_[1]->Stop();
  // Slack for a loaded 2-core machine and sanitizer builds.
  const milliseconds bound(kFall * kIntervalMs + 1000 /* poll */ + 5000 /* slack */);
  bool red = browser_->WaitFor("document.querySelector(" + Js("tr[data-spec='" + down_spec + "']") +
                                   ")?.dataset.state === 'down'",
                               bound);
  long long took = MsSince(stopped_at);
  ASSERT_TRUE(red) << "node " << down_spec << " not shown down within " << bound.count()
                   << " ms; page: " << Text("document.querySelector('#nodes-table').innerText");
  std::cout << "node shown down " << took << " ms after its target stopped (fall " << kFall << " x "
            << kIntervalMs << " ms, 1 s poll)\n";
  EXPECT_EQ(RowData("tr[data-spec='" + down_spec + "']", "status"), "ABNORMAL");
  EXPECT_EQ(RowData("tr[data-spec='" + specs[0] + "']", "state"), "up");
  EXPECT_EQ(RowData("tr[data-spec='" + specs[2] + "']", "state"), "up");
  EXPECT_EQ(Text("getComputedStyle(document.querySelector(" +
                 Js("tr[data-spec='" + down_spec + "'] .status") + ")).color"),
            "rgb(207, 34, 46)")
      << "a down node is drawn in the status red";
  EXPECT_EQ(Text("document.title"), "jcm · ui-web (1 down)");
  // "Recent transitions": the newest row is that node going down, with the
  // checker's reason (the history is read in the same poll as the nodes).
  const std::string newest = "document.querySelector('#transitions-table tbody tr')";
  EXPECT_TRUE(browser_->WaitFor(newest + "?.dataset.node === " + Js(down_spec) + " && " + newest +
                                    ".dataset.from === 'NORMAL' && " + newest +
                                    ".dataset.to === 'ABNORMAL'",
                                seconds(3)))
      << Text("document.querySelector('#transitions').innerText");
  EXPECT_NE(Text(newest + ".cells[3].textContent").find("answer"), std::string::npos)
      << Text(newest + ".innerText");
  EXPECT_EQ(Text(newest + ".cells[0].textContent").substr(0, 2), "20")
      << "a UTC time first: " << Text(newest + ".innerText");
  EXPECT_EQ(Text("document.getElementById('transitions-empty').hidden"), "true");

  // A cluster nobody checks (checkType NONE): the empty state instead.
  ASSERT_NO_FATAL_FAILURE(Go("#/c/ui-batch", "cluster"));
  EXPECT_TRUE(
      browser_->WaitFor("document.querySelector('.page-head h1')?.textContent === 'ui-batch' && "
                        "document.getElementById('transitions-table').hidden && "
                        "!document.getElementById('transitions-empty').hidden",
                        seconds(5)))
      << Text("document.querySelector('#transitions').innerText");
  EXPECT_NE(Text("document.getElementById('transitions-empty').textContent")
                .find("no transitions recorded on this instance"),
            std::string::npos);

  // Back to the list: the cluster is degraded, one node down.
  ASSERT_NO_FATAL_FAILURE(Go("#/clusters", "clusters"));
  EXPECT_TRUE(browser_->WaitFor(
      "document.querySelector(\"tr[data-cluster='ui-web']\")?.dataset.health === 'degraded'",
      seconds(5)))
      << Text("document.body.innerText");
  EXPECT_EQ(Text("document.querySelector(\"tr[data-cluster='ui-web'] .counts\").textContent"),
            "2 up · 1 down");
  ExpectNoPageProblems();
}

TEST_F(DashboardTest, NamesEachClustersCheckerAndShowsTheDeployment) {
  const std::vector<std::string> names = {"ui-alpha", "ui-bravo", "ui-charlie",
                                          "ui-delta", "ui-echo",  "ui-foxtrot"};
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_NO_FATAL_FAILURE(Register(
        ClusterDoc(names[i], nlohmann::json::array({NodeDoc(NthIp(static_cast<int>(i)), 8080)}))));
  }
  // Who checks what, as each checker says of itself.
  std::map<std::string, std::string> owner;
  std::map<std::string, int> share;
  ASSERT_TRUE(WaitUntil(
      [&] {
        owner.clear();
        share.clear();
        for (int i = 0; i < cluster_->size(); ++i) {
          auto s = cluster_->Status(i);
          if (!s || !s->contains("health")) return false;
          for (const auto& n : (*s)["health"]["checking"]) {
            owner[n.get<std::string>()] = cluster_->address(i);
            share[cluster_->address(i)]++;
          }
        }
        return owner.size() == names.size();
      },
      seconds(20)))
      << owner.size() << " of " << names.size() << " clusters have a checker";
  std::set<std::string> distinct;
  for (const auto& [n, o] : owner) distinct.insert(o);
  ASSERT_GE(distinct.size(), 2u) << "all on one checker: the owner check would prove little";

  ASSERT_NO_FATAL_FAILURE(OpenDashboard(0, "/clusters", "clusters"));
  for (const std::string& n : names) {
    EXPECT_EQ(RowData("tr[data-cluster='" + n + "'] td[data-owner]", "owner"), owner[n]) << n;
  }

  ASSERT_NO_FATAL_FAILURE(Go("#/deployment", "deployment"));
  int leader = cluster_->WaitForLeader(seconds(10));
  ASSERT_GE(leader, 0);
  EXPECT_EQ(Text("document.querySelectorAll('#members-table tbody tr').length"), "3");
  for (int i = 0; i < cluster_->size(); ++i) {
    const std::string row = "tr[data-member='" + cluster_->address(i) + "']";
    EXPECT_EQ(Text("document.querySelector(" + Js(row + " .pill") + ")?.textContent"),
              i == leader ? "Leader" : "Follower")
        << cluster_->address(i);
    EXPECT_EQ(Text("document.querySelector(" + Js(row + " td.num") + ")?.textContent"),
              std::to_string(share[cluster_->address(i)]))
        << "clusters checked by " << cluster_->address(i);
  }
  EXPECT_EQ(Text("document.querySelector(\"[data-tile='ZooKeeper'] .tile-value\").textContent"),
            "CONNECTED");
  ExpectNoPageProblems();
}

// Read-only without a token: no switch anywhere. With a token entered in
// the header, switches appear; two clicks (arm, confirm) take a node
// offline, which the API then shows, and the row follows.
TEST_F(DashboardTest, SwitchesNeedATokenAndTakeANodeOffline) {
  const std::string spec = NodeSpec(NthIp(7), 8080);
  ASSERT_NO_FATAL_FAILURE(Register(ClusterDoc(
      "ui-switch", nlohmann::json::array({NodeDoc(NthIp(7), 8080), NodeDoc(NthIp(8), 8080)}))));
  ASSERT_NO_FATAL_FAILURE(OpenDashboard(2, "/c/ui-switch", "cluster"));
  const std::string row = "tr[data-spec='" + spec + "']";
  ASSERT_EQ(RowData(row, "state"), "up") << Text("document.body.innerText");
  EXPECT_EQ(Text("document.querySelectorAll('button.switch').length"), "0");
  EXPECT_EQ(Text("document.getElementById('token-button').textContent"), "Read-only");

  ASSERT_TRUE(
      browser_->Eval("document.getElementById('token-button').click();"
                     "document.getElementById('token-input').value = 'test-token';"
                     "document.querySelector('#token-form button[type=submit]').click()"));
  ASSERT_TRUE(
      browser_->WaitFor("document.body.dataset.ready === 'cluster' && "
                        "document.querySelectorAll('button.switch').length === 3",
                        seconds(10)))
      << "one switch for the cluster and one per node; body: " << Text("document.body.innerText");
  EXPECT_EQ(Text("sessionStorage.getItem('jcm.writeToken')"), "test-token");
  EXPECT_EQ(Text("document.getElementById('token-button').textContent"), "Writes enabled");

  // Record what the page sends (jcm-server does not check tokens yet).
  ASSERT_TRUE(browser_->Eval(
      "window.jcmSent = []; const realFetch = window.fetch; window.fetch = (url, o = {}) => {"
      "  window.jcmSent.push([o.method || 'GET', url, (o.headers || {}).Authorization || '']);"
      "  return realFetch(url, o); }; true"));
  // First click arms, second sends.
  const std::string button = "document.querySelector(" + Js(row + " button.switch") + ")";
  ASSERT_TRUE(browser_->Eval(button + ".click()"));
  EXPECT_EQ(Text(button + ".textContent"), "Set offline?");
  EXPECT_EQ(cluster_->GetCluster(2, "ui-switch").value_or(nullptr)["nodes"][0].value("online", ""),
            "ONLINE")
      << "one click must not write";
  ASSERT_TRUE(browser_->Eval(button + ".click()"));
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto c = cluster_->GetCluster(2, "ui-switch");
        if (!c) return false;
        for (const auto& n : (*c)["nodes"]) {
          if (n.value("ip", "") == NthIp(7)) return n.value("online", "") == "OFFLINE";
        }
        return false;
      },
      seconds(10)))
      << "the node was not set offline";
  EXPECT_TRUE(browser_->WaitFor(
      "document.querySelector(" + Js(row) + ")?.dataset.state === 'offline'", seconds(5)));
  EXPECT_EQ(RowData("tr[data-spec='" + NodeSpec(NthIp(8), 8080) + "']", "state"), "up");
  EXPECT_EQ(Text("JSON.stringify(window.jcmSent.filter(r => r[0] === 'POST'))"),
            "[[\"POST\",\"/c/node/online/ui-switch\",\"Bearer test-token\"]]");
  EXPECT_EQ(Text("window.jcmSent.filter(r => r[0] === 'GET' && r[2] !== '').length"), "0")
      << "reads carry no token";
  EXPECT_TRUE(browser_->WaitFor(
      "[...document.querySelectorAll('.toast')].some(t => t.textContent.includes('done'))",
      seconds(5)))
      << "the write is confirmed to the operator";
  ExpectNoPageProblems();
}

// The instance the page talks to stops: the page says so within its fetch
// timeout, keeps the last data on screen (greyed), and recovers by itself
// once the instance is back on the same address.
TEST_F(DashboardTest, SaysWhenItsInstanceIsGoneAndRecovers) {
  ASSERT_NO_FATAL_FAILURE(
      Register(ClusterDoc("ui-lost", nlohmann::json::array({NodeDoc(NthIp(9), 8080)}))));
  ASSERT_NO_FATAL_FAILURE(OpenDashboard(0, "/clusters", "clusters"));
  ASSERT_TRUE(
      browser_->WaitFor("document.querySelector(\"tr[data-cluster='ui-lost']\")", seconds(10)));
  EXPECT_EQ(Text("document.getElementById('banner').hidden"), "true");

  ASSERT_TRUE(cluster_->server(0).Term());
  EXPECT_TRUE(
      browser_->WaitFor("document.getElementById('conn').classList.contains('conn-bad') && "
                        "!document.getElementById('banner').hidden",
                        seconds(10)))
      << Text("document.getElementById('conn').textContent");
  EXPECT_NE(Text("document.getElementById('banner').textContent")
                .find("Cannot reach " + cluster_->address(0)),
            std::string::npos)
      << Text("document.getElementById('banner').textContent");
  EXPECT_EQ(Text("document.body.classList.contains('stale')"), "true");
  EXPECT_EQ(RowData("tr[data-cluster='ui-lost']", "health"), "healthy") << "the last data stays";

  std::string error;
  ASSERT_TRUE(cluster_->server(0).Restart(&error)) << error;
  EXPECT_TRUE(browser_->WaitFor(
      "document.getElementById('conn').classList.contains('conn-ok') && "
      "document.getElementById('banner').hidden && !document.body.classList.contains('stale')",
      seconds(20)))
      << Text("document.getElementById('banner').textContent");
  EXPECT_EQ(Text("document.getElementById('js-errors').dataset.count"), "0");
  // Refused connections are logged by the browser itself while the instance
  // was gone; anything else is ours.
  for (const std::string& p : browser_->Problems()) {
    if (p.find("ERR_CONNECTION_REFUSED") == std::string::npos &&
        p.find("ERR_EMPTY_RESPONSE") == std::string::npos) {
      ADD_FAILURE() << "browser reported: " << p;
    }
  }
}

}  // namespace
}  // namespace jcm::testing
