// API tokens against three real jcm-server instances on a real ZooKeeper:
// writes refused (401 / 401 / 403) on the leader and on followers with
// nothing written, reads closed once a read token is named, a follower
// forwarding the caller's token to the leader, and SIGHUP re-reading the
// tokens file without a restart.
#include <signal.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/support/jcm_cluster.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

const std::string kWrite = "auth-test-write-token-1";
const std::string kRead = "auth-test-read-token-01";

struct Answer {
  int status = 0;
  std::string body;
};

Answer Call(const std::string& address, const std::string& method, const std::string& path,
            const std::string& token, const std::string& body = "") {
  auto colon = address.rfind(':');
  httplib::Client c(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
  c.set_read_timeout(std::chrono::seconds(5));
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  httplib::Result r = method == "GET"    ? c.Get(path, h)
                      : method == "POST" ? c.Post(path, h, body, "application/json")
                                         : c.Delete(path, h, body, "application/json");
  if (!r) return {};
  return {r->status, r->body};
}

class AuthTest : public JcmClusterTest {
 protected:
  AuthTest() {
    options_.write_token = kWrite;
    options_.read_token = kRead;
  }
  std::string Doc(const std::string& name) {
    return ClusterDoc(name, nlohmann::json::array({NodeDoc(NthIp(1), 8080)})).dump();
  }
};

TEST_F(AuthTest, WritesRefusedOnEveryInstanceAndNothingWritten) {
  for (int i = 0; i < cluster_->size(); ++i) {
    const std::string a = cluster_->address(i);
    for (const std::string& token : {std::string(), std::string("not-a-known-token-42"), kRead}) {
      int want = token == kRead ? 403 : 401;
      SCOPED_TRACE("instance " + std::to_string(i) + " token '" + token + "'");
      Answer put = Call(a, "POST", "/c", token, Doc("guarded"));
      EXPECT_EQ(put.status, want) << put.body;
      EXPECT_NE(put.body.find("authorization"), std::string::npos) << put.body;
      EXPECT_EQ(put.body.find(kWrite), std::string::npos);
      EXPECT_EQ(Call(a, "DELETE", "/c/guarded", token).status, want);
      EXPECT_EQ(Call(a, "POST", "/c/online/guarded", token, "false").status, want);
    }
  }
  for (int i = 0; i < cluster_->size(); ++i) {
    Answer list = Call(cluster_->address(i), "GET", "/c/list", kRead);
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(nlohmann::json::parse(list.body)["data"], nlohmann::json::array()) << list.body;
  }
  // Through a follower, with the write token: forwarded with it, accepted
  // by the leader, visible everywhere.
  int leader = cluster_->WaitForLeader(milliseconds(5000));
  ASSERT_GE(leader, 0);
  int follower = cluster_->AFollower(leader);
  Answer put = Call(cluster_->address(follower), "POST", "/c", kWrite, Doc("guarded"));
  ASSERT_EQ(put.status, 200) << put.body;
  for (int i = 0; i < cluster_->size(); ++i) {
    bool seen = false;
    for (int t = 0; t < 100 && !seen; ++t) {
      seen = Call(cluster_->address(i), "GET", "/c/guarded", kRead).status == 200;
      if (!seen) std::this_thread::sleep_for(milliseconds(50));
    }
    EXPECT_TRUE(seen) << "instance " << i;
  }
}

TEST_F(AuthTest, ReadsNeedATokenOnceAReadTokenIsNamed) {
  const std::string a = cluster_->address(0);
  EXPECT_EQ(Call(a, "GET", "/c", "").status, 401);
  EXPECT_EQ(Call(a, "POST", "/sub", "", R"({"units":[]})").status, 401);
  EXPECT_EQ(Call(a, "GET", "/sys/status", "").status, 401);
  EXPECT_EQ(Call(a, "GET", "/c", kRead).status, 200);
  EXPECT_EQ(Call(a, "POST", "/sub", kWrite, R"({"units":[]})").status, 200);
  EXPECT_EQ(Call(a, "GET", "/healthz", "").status, 200);
  EXPECT_EQ(Call(a, "GET", "/readyz", "").status, 200);
}

TEST_F(AuthTest, SighupReloadsTheTokensFile) {
  const std::string fresh = "auth-test-rotated-token";
  std::ofstream(cluster_->tokens_file()) << "write " << fresh << "\n";
  for (int i = 0; i < cluster_->size(); ++i) cluster_->server(i).Signal(SIGHUP);
  for (int i = 0; i < cluster_->size(); ++i) {
    const std::string a = cluster_->address(i);
    bool rotated = false;
    for (int t = 0; t < 100 && !rotated; ++t) {
      rotated = Call(a, "POST", "/c/online/nosuch", kWrite, "true").status == 401;
      if (!rotated) std::this_thread::sleep_for(milliseconds(50));
    }
    EXPECT_TRUE(rotated) << "instance " << i << " still takes the old token";
    // The new token passes auth (the cluster does not exist: 404 from the
    // leader, not 401).
    EXPECT_EQ(Call(a, "POST", "/c/online/nosuch", fresh, "true").status, 404);
    // No read token any more: reads are open again.
    EXPECT_EQ(Call(a, "GET", "/c/list", "").status, 200);
    EXPECT_TRUE(cluster_->server(i).running()) << "SIGHUP must not stop the instance";
  }
}

}  // namespace
}  // namespace jcm::testing
