// ZooKeeper ACLs (issue 9 item 3) against a real ZooKeeper and real
// jcm-server processes:
// - with --zk-auth-file, the instances work as usual (leader, members, a
//   cluster written, its node checked and the status served everywhere)
//   while an unauthenticated ZooKeeper client, and one with a wrong
//   password, can create, set and delete nothing under the root, nor read it;
// - an instance without the credential refuses to start: a log line naming
//   the root and what it lacks, exit code 2;
// - a deployment made without ACLs gets them when restarted with the
//   credential (and --zk-world-read lets others read, still not write).
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "storage/zk_client.h"
#include "storage/zk_root_guard.h"
#include "tests/support/http_target.h"
#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const std::string kCredential = "jcm-ops:zk-acl-test-password";

std::string WriteAuthFile(const TempDir& dir, const std::string& text) {
  std::string path = dir.path() + "/zk-auth";
  std::ofstream(path) << text << "\n";
  return path;
}

// A plain ZooKeeper client over the C API, authenticated or not.
std::unique_ptr<ZkClient> Client(const std::string& connect, const std::string& auth = "") {
  auto c = std::make_unique<ZkClient>(ZkClient::Options{connect, 5000, auth, false},
                                      [](const ZkEvent&) {});
  EXPECT_TRUE(c->Start().ok());
  EXPECT_TRUE(c->WaitConnected(10000));
  return c;
}

bool WaitFor(const std::function<bool()>& pred, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return pred();
}

void ExpectDenied(const Status& s, const std::string& what) {
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << what << ": " << s.ToString();
}

// Every way to change the tree, tried by `zk` on the znodes jcm made.
void ExpectNoWriteAccess(ZkClient* zk, const std::vector<std::string>& existing,
                         const std::string& root) {
  ExpectDenied(zk->Create(root + "/intruder", "x", 0).status(), "create under the root");
  for (const std::string& p : existing) {
    ExpectDenied(zk->Create(p + "/intruder", "x", 0).status(), "create under " + p);
    ExpectDenied(zk->Set(p, "{\"name\":\"x\"}", -1, nullptr), "set " + p);
    // Deleting a znode is its parent's DELETE permission: the root's parent
    // is not jcm's (the root can go only when empty, never while jcm runs).
    if (p == root) {
      EXPECT_FALSE(zk->Delete(p, -1).ok());
    } else {
      ExpectDenied(zk->Delete(p, -1), "delete " + p);
    }
    ExpectDenied(zk->ResetAcl(p), "set ACL of " + p);
  }
}

class ZkAclTest : public JcmClusterTest {
 protected:
  ZkAclTest() {
    options_.instances = 2;
    options_.extra_args = {"--zk-auth-file", WriteAuthFile(auth_dir_, kCredential),
                           "--health-interval-ms", "500"};
  }
  TempDir auth_dir_;
};

TEST_F(ZkAclTest, InstancesWorkAndAnUnauthenticatedClientCanChangeNothing) {
  // The instances with the credential: a leader both agree on, two members,
  // a cluster written through a follower, its node checked by whichever
  // instance owns it and the status served by both.
  int leader = cluster_->WaitForLeader(milliseconds(10000));
  ASSERT_GE(leader, 0);
  for (int i = 0; i < 2; ++i) {
    auto st = cluster_->Status(i);
    ASSERT_TRUE(st);
    EXPECT_EQ((*st)["members"].size(), 2u) << st->dump();
  }
  int port = FreeLoopbackPort("127.0.0.1");
  HttpTarget target("127.0.0.1", port, "/health");
  ASSERT_TRUE(target.Start());
  nlohmann::json doc =
      ClusterDoc("guarded", nlohmann::json::array({NodeDoc("127.0.0.1", port)}), "HTTP");
  doc["checkFile"] = "/health";
  HttpReply put = HttpPostJson(cluster_->address(cluster_->AFollower(leader)), "/c", doc);
  ASSERT_EQ(put.status, 200) << put.Describe();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(WaitFor(
        [&] {
          auto c = cluster_->GetCluster(i, "guarded");
          return c && (*c)["nodes"][0]["status"] == "NORMAL";
        },
        milliseconds(20000)))
        << "instance " << i << "\n"
        << cluster_->AllLogs();
  }

  const std::string connect = cluster_->zk().connect_string();
  auto owner = Client(connect, kCredential);
  Result<std::vector<std::string>> members = owner->GetChildren("/jcm/servers", false);
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 2u);
  Result<ZkAcl> acl = owner->GetAcl("/jcm/clusters/guarded", nullptr);
  ASSERT_TRUE(acl.ok()) << acl.status().ToString();
  EXPECT_EQ(acl.value(), (ZkAcl{{ZkApi::kPermAll, "digest", ZkClient::DigestId(kCredential)}}));

  std::vector<std::string> existing{"/jcm",
                                    "/jcm/clusters",
                                    "/jcm/servers",
                                    "/jcm/status",
                                    "/jcm/clusters/guarded",
                                    "/jcm/status/guarded",
                                    "/jcm/servers/" + members->at(0)};
  for (const std::string& p : existing) {
    ASSERT_TRUE(owner->Exists(p, nullptr, false).ok()) << p;
  }
  for (const std::string& who : {std::string(), std::string("jcm-ops:wrong-password")}) {
    SCOPED_TRACE(who.empty() ? "anonymous" : "wrong password");
    auto stranger = Client(connect, who);
    ExpectNoWriteAccess(stranger.get(), existing, "/jcm");
    ExpectDenied(stranger->Get("/jcm/clusters/guarded", nullptr, false).status(), "read");
    ExpectDenied(stranger->GetChildren("/jcm/clusters", false).status(), "list");
  }
  // Nothing changed: the cluster is intact and still served.
  for (int i = 0; i < 2; ++i) {
    auto c = cluster_->GetCluster(i, "guarded");
    ASSERT_TRUE(c);
    EXPECT_EQ(SpecsOf(*c), (std::vector<std::string>{NodeSpec("127.0.0.1", port)}));
  }

  // An instance without the credential: a clear refusal, exit code 2, not
  // a crash loop or an instance failing every write.
  JcmServerOptions o;
  o.zk_connect = connect;
  o.log_dir = cluster_->dir();
  JcmServerProcess anonymous(o);
  std::string error;
  ASSERT_TRUE(anonymous.Launch(&error)) << error;
  ASSERT_TRUE(WaitFor([&] { return !anonymous.running(); }, milliseconds(15000)))
      << anonymous.log();
  int status = anonymous.exit_status();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 2) << anonymous.log();
  std::string log = anonymous.log();
  EXPECT_NE(log.find("event=zk_root_access_denied root=/jcm"), std::string::npos) << log;
  EXPECT_NE(log.find("anonymous (no --zk-auth-file)"), std::string::npos) << log;
  EXPECT_EQ(log.find("zk-acl-test-password"), std::string::npos);
}

// A deployment made without ACLs, restarted with the credential and
// --zk-world-read: every persistent znode gets the ACL at start, the
// cluster stays served and writable through jcm, strangers may read it but
// change nothing.
TEST(ZkAclMigrationTest, OpenDeploymentGetsTheAclOnRestart) {
  JcmClusterOptions options;
  options.instances = 1;
  JcmCluster cluster(options);
  std::string error;
  ASSERT_TRUE(cluster.Start(&error)) << error;
  nlohmann::json nodes = nlohmann::json::array({NodeDoc(NthIp(1), 8080), NodeDoc(NthIp(2), 8080)});
  ASSERT_EQ(HttpPostJson(cluster.address(0), "/c", ClusterDoc("old", nodes)).status, 200);
  const std::string connect = cluster.zk().connect_string();
  auto stranger = Client(connect);
  Result<ZkAcl> before = stranger->GetAcl("/jcm/clusters/old", nullptr);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before.value(), (ZkAcl{{ZkApi::kPermAll, "world", "anyone"}}));
  ASSERT_TRUE(cluster.server(0).Term());

  TempDir auth_dir;
  JcmServerOptions o;
  o.zk_connect = connect;
  o.log_dir = cluster.dir();
  o.extra_args = {"--zk-auth-file", WriteAuthFile(auth_dir, kCredential), "--zk-world-read"};
  JcmServerProcess protected_instance(o);
  ASSERT_TRUE(protected_instance.Start(&error)) << error;
  const std::string a = protected_instance.address();
  ASSERT_TRUE(WaitFor([&] { return HttpGet(a, "/readyz").status == 200; }, milliseconds(15000)))
      << protected_instance.log();
  EXPECT_NE(protected_instance.log().find("event=zk_acl root=/jcm"), std::string::npos)
      << protected_instance.log();
  HttpReply got = HttpGet(a, "/c/old");
  ASSERT_EQ(got.status, 200) << got.Describe();
  EXPECT_EQ(SpecsOf(got.data()).size(), 2u);

  const ZkAcl want{{ZkApi::kPermAll, "digest", ZkClient::DigestId(kCredential)},
                   {ZkApi::kPermRead, "world", "anyone"}};
  // Read with the credential: ZooKeeper shows others digest ids as "user:x".
  auto owner = Client(connect, kCredential);
  for (const char* p :
       {"/jcm", "/jcm/clusters", "/jcm/servers", "/jcm/status", "/jcm/clusters/old"}) {
    Result<ZkAcl> acl = owner->GetAcl(p, nullptr);
    ASSERT_TRUE(acl.ok()) << p << ": " << acl.status().ToString();
    EXPECT_TRUE(ZkRootGuard::SameAcl(acl.value(), want))
        << p << ": " << ZkRootGuard::Describe(acl.value());
  }
  // World-readable, not writable.
  EXPECT_TRUE(stranger->Get("/jcm/clusters/old", nullptr, false).ok());
  ExpectNoWriteAccess(stranger.get(), {"/jcm/clusters", "/jcm/clusters/old"}, "/jcm");
  // jcm itself writes as usual, and its new znodes get the ACL at creation.
  HttpReply add = HttpPostJson(a, "/c/node/old", nlohmann::json::array({NodeDoc(NthIp(3), 8080)}));
  ASSERT_EQ(add.status, 200) << add.Describe();
  ASSERT_EQ(HttpPostJson(a, "/c", ClusterDoc("new", nodes)).status, 200);
  Result<ZkAcl> fresh = owner->GetAcl("/jcm/clusters/new", nullptr);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(ZkRootGuard::SameAcl(fresh.value(), want));
  ExpectDenied(stranger->Delete("/jcm/clusters/new", -1), "delete new");

  // An instance without the credential may read here, not write: it says
  // what it lacks and exits with 2.
  JcmServerOptions anon;
  anon.zk_connect = connect;
  anon.log_dir = cluster.dir();
  JcmServerProcess anonymous(anon);
  ASSERT_TRUE(anonymous.Launch(&error)) << error;
  ASSERT_TRUE(WaitFor([&] { return !anonymous.running(); }, milliseconds(15000)))
      << anonymous.log();
  EXPECT_TRUE(WIFEXITED(anonymous.exit_status()) && WEXITSTATUS(anonymous.exit_status()) == 2);
  EXPECT_NE(anonymous.log().find("denies anonymous (no --zk-auth-file) WRITE,CREATE,DELETE (its "
                                 "ACL: digest:jcm-ops=ALL, world:anyone=READ)"),
            std::string::npos)
      << anonymous.log();
}

}  // namespace
}  // namespace jcm::testing
