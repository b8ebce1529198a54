// jcmctl end to end: the built binary, run as a child process like a user
// would, against a real ZooKeeper and three real jcm-server processes shared
// by the suite (each test uses its own cluster names). Every assertion reads
// what jcmctl printed or its exit code; writes are checked through jcmctl get.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "tests/integration/jcmctl/ctl_runner.h"
#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class JcmctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new JcmCluster();
    std::string error;
    if (!cluster_->Start(&error)) {
      setup_error_ = new std::string(error + "\n" + cluster_->AllLogs());
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    ASSERT_GE(cluster_->WaitForLeader(seconds(20)), 0) << cluster_->AllLogs();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << cluster_->AllLogs();
  }

  // All three servers, as a user would list them; a follower first so that
  // writes go through forwarding too.
  static std::string Servers() {
    return "http://" + cluster_->address(1) + ",http://" + cluster_->address(0) + ",http://" +
           cluster_->address(2);
  }
  static CtlResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", Servers()});
    return RunCtl(args);
  }
  static nlohmann::json Json(const CtlResult& r) {
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << r.err;
    return j;
  }
  // Writes a cluster document to a file and applies it; the file's path.
  std::string WriteDoc(const nlohmann::json& doc) {
    std::string path = dir_.path() + "/" + doc.value("name", "doc") + ".json";
    std::ofstream(path) << doc.dump(2);
    return path;
  }
  static const nlohmann::json* FindNode(const nlohmann::json& cluster, const std::string& ip) {
    for (const auto& n : cluster["nodes"]) {
      if (n["ip"] == ip) return &n;
    }
    return nullptr;
  }

  // A cluster document with checkType NONE (nodes online are NORMAL).
  static nlohmann::json Doc(const std::string& name, std::vector<nlohmann::json> nodes) {
    return ClusterDoc(name, nlohmann::json(std::move(nodes)), "NONE");
  }

  static JcmCluster* cluster_;
  static std::string* setup_error_;
  TempDir dir_{"jcmctl-it"};
};

JcmCluster* JcmctlTest::cluster_ = nullptr;
std::string* JcmctlTest::setup_error_ = nullptr;

TEST_F(JcmctlTest, ApplyThenLsGetAndRm) {
  nlohmann::json doc =
      Doc("ctl-apply", {NodeDoc("10.9.0.1", 8080, 9090), NodeDoc("10.9.0.2", 8080)});
  doc["nodes"][1]["online"] = "OFFLINE";
  CtlResult r = Ctl({"apply", "-f", WriteDoc(doc)});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("applied cluster ctl-apply (version "), std::string::npos) << r.out;

  // ls: a row for the cluster with its counts (checkType NONE: online nodes
  // are NORMAL; the offline one is counted apart).
  r = Ctl({"ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("NAME ", 0), 0u) << r.out;
  std::string row;
  for (size_t at = 0, nl; (nl = r.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    if (r.out.compare(at, 10, "ctl-apply ") == 0) row = r.out.substr(at, nl - at);
  }
  ASSERT_FALSE(row.empty()) << r.out;
  // NAME STATE NODES NORMAL ABNORMAL TIMEOUT INVALID OFFLINE PANIC CHECK VERSION
  std::istringstream fields(row);
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
  ASSERT_EQ(f.size(), 11u) << row;
  EXPECT_EQ(f[1], "ONLINE");
  EXPECT_EQ(f[2], "2");
  EXPECT_EQ(f[3], "1");
  EXPECT_EQ(f[7], "1");
  EXPECT_EQ(f[9], "NONE");

  r = Ctl({"get", "ctl-apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Cluster:  ctl-apply"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10.9.0.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10.9.0.2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("OFFLINE"), std::string::npos) << r.out;

  r = Ctl({"rm", "ctl-apply"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("removed cluster ctl-apply"), std::string::npos) << r.out;
  r = Ctl({"get", "ctl-apply"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
}

TEST_F(JcmctlTest, ApplyReadsStdin) {
  const std::string path = WriteDoc(Doc("ctl-stdin", {NodeDoc("10.9.1.1", 80)}));
  CtlProcess p;
  std::string error;
  ASSERT_TRUE(p.Start({"--server", Servers(), "apply", "-f", "-"}, {}, path, &error)) << error;
  CtlResult r = p.Wait(seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl({"-o", "json", "get", "ctl-stdin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(r)["nodes"].size(), 1u);
}

TEST_F(JcmctlTest, NodeCommandsChangeWhatGetShows) {
  ASSERT_EQ(Ctl({"apply", "-f", WriteDoc(Doc("ctl-nodes", {NodeDoc("10.9.2.1", 80)}))}).exit_code,
            0);
  CtlResult r = Ctl({"add-node", "ctl-nodes", "10.9.2.2", "http:8080,TCP:9090", "--weight", "250"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json c = Json(Ctl({"-o", "json", "get", "ctl-nodes"}));
  const nlohmann::json* added = FindNode(c, "10.9.2.2");
  ASSERT_NE(added, nullptr) << c.dump();
  EXPECT_EQ((*added)["weight"], 250);
  EXPECT_EQ((*added)["protos"].size(), 2u);

  const std::string spec = "10.9.2.2|HTTP:8080|TCP:9090";
  r = Ctl({"offline", "ctl-nodes", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  c = Json(Ctl({"-o", "json", "get", "ctl-nodes"}));
  EXPECT_EQ((*FindNode(c, "10.9.2.2"))["online"], "OFFLINE");
  EXPECT_EQ((*FindNode(c, "10.9.2.1"))["online"], "ONLINE");

  r = Ctl({"online", "ctl-nodes", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  c = Json(Ctl({"-o", "json", "get", "ctl-nodes"}));
  EXPECT_EQ((*FindNode(c, "10.9.2.2"))["online"], "ONLINE");

  r = Ctl({"offline", "ctl-nodes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(Ctl({"-o", "json", "get", "ctl-nodes"}))["online"], "OFFLINE");
  r = Ctl({"online", "ctl-nodes"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(Ctl({"-o", "json", "get", "ctl-nodes"}))["online"], "ONLINE");

  r = Ctl({"rm-node", "ctl-nodes", spec, "10.9.2.1|HTTP:80"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  c = Json(Ctl({"-o", "json", "get", "ctl-nodes"}));
  EXPECT_TRUE(c["nodes"].empty()) << c.dump();
}

TEST_F(JcmctlTest, BadUsageExitsTwoAndSendsNothing) {
  const std::vector<std::vector<std::string>> cases = {
      {},                                                   // no command
      {"frobnicate"},                                       // unknown command
      {"get"},                                              // missing NAME
      {"history"},                                          // missing NAME
      {"add-node", "ctl-usage", "10.9.3.1", "HTTP:99999"},  // bad port
      {"add-node", "ctl-usage", "10.9.3.1", "8080"},        // not PROTO:PORT
      {"pick", "ctl-usage", "--policy", "hash"},            // hash without --key
      {"-o", "yaml", "ls"},
      {"--token", "t", "--token-file", "/nonexistent", "ls"},
      {"--server", "ftp://127.0.0.1:1", "ls"},
  };
  for (const auto& args : cases) {
    CtlResult r = Ctl(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.out << r.err;
    EXPECT_FALSE(r.err.empty()) << joined;
  }
  // Nothing was created by the refused add-node lines.
  EXPECT_EQ(Ctl({"get", "ctl-usage"}).exit_code, 1);
  // --help on every command is not an error.
  for (const char* cmd : {"status", "ls", "get", "history", "apply", "add-node", "rm-node",
                          "online", "offline", "rm", "watch", "pick"}) {
    CtlResult r = Ctl({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << r.err;
    EXPECT_NE(r.out.find("Usage: jcmctl " + std::string(cmd)), std::string::npos) << r.out;
  }
}

TEST_F(JcmctlTest, RefusedRequestExitsOneWithTheServersMessage) {
  ASSERT_EQ(Ctl({"apply", "-f", WriteDoc(Doc("ctl-refused", {NodeDoc("10.9.4.1", 80)}))}).exit_code,
            0);
  CtlResult r = Ctl({"add-node", "ctl-refused", "300.1.1.1", "HTTP:80"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  // The server's message names the field and the value.
  EXPECT_NE(r.err.find("'300.1.1.1' is not an IPv4 or IPv6 literal"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ip"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP 400"), std::string::npos) << r.err;
  r = Ctl({"rm-node", "ctl-refused", "10.9.4.99|HTTP:80"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("10.9.4.99|HTTP:80"), std::string::npos) << r.err;
  // The cluster is as it was.
  EXPECT_EQ(Json(Ctl({"-o", "json", "get", "ctl-refused"}))["nodes"].size(), 1u);
}

TEST_F(JcmctlTest, FailsOverWhenTheFirstServerIsDead) {
  ASSERT_EQ(
      Ctl({"apply", "-f", WriteDoc(Doc("ctl-failover", {NodeDoc("10.9.5.1", 80)}))}).exit_code, 0);
  const int dead = FreeLoopbackPort();
  ASSERT_GT(dead, 0);
  const std::string dead_url = "http://127.0.0.1:" + std::to_string(dead);
  // A read and a write, each with a dead server first.
  CtlResult r = RunCtl({"--server", dead_url + "," + cluster_->address(2), "get", "ctl-failover"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("10.9.5.1"), std::string::npos) << r.out;
  r = RunCtl({"add-node", "ctl-failover", "10.9.5.2", "HTTP:80"},
             {"JCM_SERVER=" + dead_url + "," + cluster_->address(0)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json(Ctl({"-o", "json", "get", "ctl-failover"}))["nodes"].size(), 2u);
  // Nobody answers: exit 1 and say who was tried.
  r = RunCtl({"--server", dead_url, "ls"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no server answered"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dead_url), std::string::npos) << r.err;
}

TEST_F(JcmctlTest, JsonOutputParsesAndStatusShowsTheDeployment) {
  ASSERT_EQ(Ctl({"apply", "-f", WriteDoc(Doc("ctl-json", {NodeDoc("10.9.6.1", 80)}))}).exit_code,
            0);
  CtlResult r = Ctl({"ls", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json list = Json(r);
  ASSERT_TRUE(list.is_array());
  bool found = false;
  for (const auto& c : list) {
    if (c["name"] == "ctl-json") {
      found = true;
      EXPECT_EQ(c["nodes"]["total"], 1);
      EXPECT_EQ(c["nodes"]["normal"], 1);
    }
  }
  EXPECT_TRUE(found) << list.dump();

  const int leader = cluster_->AgreedLeader();
  ASSERT_GE(leader, 0);
  r = Ctl({"-o", "json", "status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json s = Json(r);
  EXPECT_EQ(s["leader"], cluster_->address(leader));
  EXPECT_EQ(s["zookeeper"], "CONNECTED");
  ASSERT_EQ(s["members"].size(), 3u);
  ASSERT_EQ(s["checkerShare"].size(), 3u);
  for (const auto& m : s["checkerShare"]) {
    // Every member answered and has a known share.
    EXPECT_TRUE(m["checking"].is_number_integer()) << s.dump();
  }

  r = Ctl({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Leader:      " + cluster_->address(leader)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ZooKeeper:   CONNECTED"), std::string::npos) << r.out;
  for (int i = 0; i < 3; ++i) EXPECT_NE(r.out.find(cluster_->address(i)), std::string::npos);
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "colour on a file";
}

// Colour only on a terminal: the same command on a pseudo-terminal and on
// a file (NO_COLOR is dropped from the child's environment).
TEST_F(JcmctlTest, ColourOnlyOnATerminal) {
  ASSERT_EQ(Ctl({"apply", "-f", WriteDoc(Doc("ctl-colour", {NodeDoc("10.9.9.1", 80)}))}).exit_code,
            0);
  CtlProcess tty;
  std::string error;
  ASSERT_TRUE(tty.StartOnTerminal({"--server", Servers(), "get", "ctl-colour"}, &error)) << error;
  CtlResult on_tty = tty.Wait(seconds(30));
  ASSERT_EQ(on_tty.exit_code, 0) << on_tty.err;
  EXPECT_NE(on_tty.out.find("\x1b[32mNORMAL\x1b[0m"), std::string::npos) << on_tty.out;
  CtlResult on_file = Ctl({"get", "ctl-colour"});
  ASSERT_EQ(on_file.exit_code, 0);
  EXPECT_EQ(on_file.out.find('\x1b'), std::string::npos) << on_file.out;
  EXPECT_NE(on_file.out.find("NORMAL"), std::string::npos);
}

TEST_F(JcmctlTest, WatchPrintsAnAddedLineAfterAddNode) {
  ASSERT_EQ(Ctl({"apply", "-f", WriteDoc(Doc("ctl-watch", {NodeDoc("10.9.7.1", 80)}))}).exit_code,
            0);
  CtlProcess watch;
  std::string error;
  ASSERT_TRUE(watch.Start(
      {"--server", Servers(), "watch", "ctl-watch", "--max-changes", "1", "--wait-ms", "10000"}, {},
      "", &error))
      << error;
  // The baseline is in once it says so; changes after that are reported.
  ASSERT_TRUE(WaitUntil(
      [&] { return watch.Stderr().find("watching ctl-watch") != std::string::npos; }, seconds(15)))
      << watch.Stderr();
  CtlResult add = Ctl({"add-node", "ctl-watch", "10.9.7.2", "HTTP:80"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  CtlResult r = watch.Wait(seconds(15));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // "<time>  ctl-watch  added    10.9.7.2|HTTP:80  NORMAL"
  EXPECT_NE(r.out.find("  ctl-watch  added    10.9.7.2|HTTP:80"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(0, 2), "20") << r.out;  // starts with the timestamp
  // The change came as a delta (RESP_DELTA), not as the whole cluster.
  long long deltas = 0;
  for (int i = 0; i < 3; ++i) {
    if (auto st = cluster_->Status(i)) deltas += (*st)["api"].value("subDeltaUnits", 0LL);
  }
  EXPECT_GE(deltas, 1);
}

// A real node health-checked by the servers goes down and comes back: watch
// reports both (through RESP_STATUS, with the exact status from GET).
TEST_F(JcmctlTest, WatchReportsARealNodeGoingDownAndUp) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  HttpTarget target("127.0.0.1", port);
  ASSERT_TRUE(target.Start());
  nlohmann::json doc =
      ClusterDoc("ctl-health", nlohmann::json::array({NodeDoc("127.0.0.1", port)}), "HTTP");
  doc["intervalMs"] = 200;
  ASSERT_EQ(Ctl({"apply", "-f", WriteDoc(doc)}).exit_code, 0);
  const std::string spec = NodeSpec("127.0.0.1", port);
  auto status = [&] {
    CtlResult r = Ctl({"-o", "json", "get", "ctl-health"});
    nlohmann::json c = nlohmann::json::parse(r.out, nullptr, false);
    return c.is_object() && !c["nodes"].empty() ? c["nodes"][0].value("status", "") : "";
  };
  ASSERT_TRUE(WaitUntil([&] { return status() == "NORMAL"; }, seconds(20), milliseconds(200)));

  CtlProcess watch;
  std::string error;
  ASSERT_TRUE(watch.Start(
      {"--server", Servers(), "watch", "ctl-health", "--max-changes", "2", "--wait-ms", "10000"},
      {}, "", &error))
      << error;
  ASSERT_TRUE(WaitUntil(
      [&] { return watch.Stderr().find("watching ctl-health") != std::string::npos; }, seconds(15)))
      << watch.Stderr();
  target.set_status(500);
  ASSERT_TRUE(
      WaitUntil([&] { return watch.Stdout().find("  down     " + spec) != std::string::npos; },
                seconds(20), milliseconds(100)))
      << watch.Stdout() << watch.Stderr();
  EXPECT_NE(watch.Stdout().find("  down     " + spec + "  ABNORMAL"), std::string::npos)
      << watch.Stdout();
  target.set_status(200);
  CtlResult r = watch.Wait(seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("  up       " + spec + "  NORMAL"), std::string::npos) << r.out;
}

// A real node health-checked by the servers goes down and comes back:
// `jcmctl history` shows both transitions, newest first, with their reasons,
// from the instance that checks the cluster, even when another server is
// listed first; a server that does not check it says so.
TEST_F(JcmctlTest, HistoryShowsARealNodeGoingDownNewestFirst) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  HttpTarget target("127.0.0.1", port);
  ASSERT_TRUE(target.Start());
  nlohmann::json doc =
      ClusterDoc("ctl-history", nlohmann::json::array({NodeDoc("127.0.0.1", port)}), "HTTP");
  doc["intervalMs"] = 200;
  ASSERT_EQ(Ctl({"apply", "-f", WriteDoc(doc)}).exit_code, 0);
  const std::string spec = NodeSpec("127.0.0.1", port);
  auto status = [&] {
    CtlResult r = Ctl({"-o", "json", "get", "ctl-history"});
    nlohmann::json c = nlohmann::json::parse(r.out, nullptr, false);
    return c.is_object() && !c["nodes"].empty() ? c["nodes"][0].value("status", "") : "";
  };
  ASSERT_TRUE(WaitUntil([&] { return status() == "NORMAL"; }, seconds(20), milliseconds(200)));
  // The checker, as it says of itself, and a server that is not it.
  int checker = -1;
  ASSERT_TRUE(
      WaitUntil([&] { return (checker = cluster_->Checker("ctl-history")) >= 0; }, seconds(20)));
  const std::string checker_url = "http://" + cluster_->address(checker);
  const std::string other_url = "http://" + cluster_->address((checker + 1) % cluster_->size());

  target.set_status(500);
  ASSERT_TRUE(WaitUntil([&] { return status() == "ABNORMAL"; }, seconds(20), milliseconds(200)));
  target.set_status(200);
  ASSERT_TRUE(WaitUntil([&] { return status() == "NORMAL"; }, seconds(20), milliseconds(200)));

  // The non-checker first: jcmctl says so and shows the checker's history.
  CtlResult r = RunCtl({"--server", other_url + "," + checker_url, "history", "ctl-history"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find(other_url + " does not check ctl-history"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(checker_url + " checks it"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Checked by:  " + cluster_->address(checker)), std::string::npos) << r.out;
  const size_t header = r.out.find("\nTIME (UTC) ");
  ASSERT_NE(header, std::string::npos) << r.out;
  // The offset of the first row naming the node with that change and reason
  // (columns are padded, so each piece is looked up in the row).
  auto row_of = [&](const std::string& change, const std::string& reason) {
    for (size_t at = 0, nl; (nl = r.out.find('\n', at)) != std::string::npos; at = nl + 1) {
      const std::string line = r.out.substr(at, nl - at);
      const size_t c = line.find("  " + change + "  ");
      if (line.find("  " + spec + "  ") != std::string::npos && c != std::string::npos &&
          line.find(reason, c) != std::string::npos) {
        return at;
      }
    }
    return std::string::npos;
  };
  const size_t down = row_of("NORMAL \u2192 ABNORMAL", "bad-answer");
  const size_t up = row_of("ABNORMAL \u2192 NORMAL", "success");
  ASSERT_NE(down, std::string::npos) << r.out;
  ASSERT_NE(up, std::string::npos) << r.out;
  EXPECT_LT(header, up) << r.out;
  EXPECT_LT(up, down) << "newest first:\n" << r.out;
  // Each row starts with its UTC time, "YYYY-MM-DD hh:mm:ss.mmm".
  EXPECT_EQ(r.out.substr(down, 2), "20") << r.out;
  EXPECT_EQ(r.out[down + 10], ' ') << r.out;
  EXPECT_EQ(r.out[down + 19], '.') << r.out;

  // -o json: the checker's raw reply.
  r = RunCtl({"--server", checker_url, "-o", "json", "history", "ctl-history"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  nlohmann::json j = Json(r);
  EXPECT_EQ(j["cluster"], "ctl-history");
  EXPECT_EQ(j["checking"], true);
  bool went_down = false;
  for (const auto& t : j["nodes"][spec]) {
    if (t["from"] == "NORMAL" && t["to"] == "ABNORMAL") {
      went_down = true;
      EXPECT_TRUE(t["at"].is_number_integer()) << t.dump();
      EXPECT_NE(t["reason"].get<std::string>().find("bad-answer"), std::string::npos) << t.dump();
    }
  }
  EXPECT_TRUE(went_down) << j.dump();

  // Only a server that does not check it: said on stderr, nothing recorded.
  r = RunCtl({"--server", other_url, "history", "ctl-history"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("no server given with --server checks it"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("no transitions recorded on this instance"), std::string::npos) << r.out;

  r = Ctl({"history", "ctl-no-such-cluster"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << r.err;
}

TEST_F(JcmctlTest, PickReturnsNodesOfTheCluster) {
  ASSERT_EQ(Ctl({"apply", "-f",
                 WriteDoc(Doc("ctl-pick", {NodeDoc("10.9.8.1", 8081), NodeDoc("10.9.8.2", 8082),
                                           NodeDoc("10.9.8.3", 8083)}))})
                .exit_code,
            0);
  const std::set<std::string> nodes = {"10.9.8.1:8081", "10.9.8.2:8082", "10.9.8.3:8083"};
  CtlResult r = Ctl({"pick", "ctl-pick", "--count", "6"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::set<std::string> seen;
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    EXPECT_TRUE(nodes.count(line)) << line;
    seen.insert(line);
  }
  EXPECT_EQ(count, 6);
  EXPECT_EQ(seen, nodes);  // round-robin visits each node

  // Consistent hash: the same key, the same node, also across invocations.
  r = Ctl({"pick", "ctl-pick", "--policy", "hash", "--key", "session-7", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json first = Json(r);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(nodes.count(first[0]["ip"].get<std::string>() + ":" +
                          std::to_string(first[0]["port"].get<int>())))
      << first.dump();
  EXPECT_EQ(Json(Ctl({"pick", "ctl-pick", "-p", "hash", "-k", "session-7", "-o", "json"})), first);

  r = Ctl({"pick", "ctl-no-such-cluster"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace jcm::testing
