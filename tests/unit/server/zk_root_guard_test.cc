// ZkRootGuard (storage/zk_root_guard.h) on an in-memory ZooKeeper with ACLs:
// the access check names the znode, what is missing and the ACL found; the
// migration gives every persistent znode the create ACL, leaves ephemerals,
// and does the root last. Also the credential file reader and the digest id.
#include "storage/zk_root_guard.h"

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "storage/zk_auth_file.h"
#include "storage/zk_client.h"
#include "tests/support/test_env.h"
#include "tests/unit/server/fake_zk.h"

namespace jcm {
namespace {

// FakeZk plus one ACL per znode (open unless set), an identity, and the
// ACL calls counted in order.
class AclFakeZk : public testing::FakeZk {
 public:
  std::string identity;
  ZkAcl create_acl{{kPermAll, "world", "anyone"}};
  std::map<std::string, ZkAcl> acls;
  std::vector<std::string> reset_order;
  std::set<std::string> reset_denied;  // ResetAcl answers PermissionDenied

  ZkAcl CreateAcl() const override { return create_acl; }
  std::string Identity() const override { return identity; }
  Result<ZkAcl> GetAcl(const std::string& path, ZkStat* stat) override {
    ZkStat st;
    Status s = Exists(path, &st, false);
    if (!s.ok()) return s;
    // FakeZk keeps no child count in its stats; the walk relies on it.
    Result<std::vector<std::string>> kids = GetChildren(path, false);
    st.num_children = kids.ok() ? static_cast<int32_t>(kids->size()) : 0;
    if (stat) *stat = st;
    auto it = acls.find(path);
    return it == acls.end() ? ZkAcl{{kPermAll, "world", "anyone"}} : it->second;
  }
  Status ResetAcl(const std::string& path) override {
    if (reset_denied.count(path)) return Status::PermissionDenied("set ACL of " + path);
    reset_order.push_back(path);
    acls[path] = create_acl;
    return Status::Ok();
  }
};

const std::vector<std::string> kDirs{"/clusters", "/servers", "/status"};
const std::string kDigest = "jcm:4uGha8MdF8uS+Vgsb3iVs0lNyG8=";  // sha1("jcm:s3cret"), base64

TEST(ZkRootGuardTest, DigestIdIsZooKeepers) {
  // Computed independently (python hashlib) for "jcm:s3cret".
  EXPECT_EQ(ZkClient::DigestId("jcm:s3cret"), kDigest);
  ZkClient with_auth(ZkClient::Options{"127.0.0.1:1", 6000, "jcm:s3cret", true});
  EXPECT_EQ(with_auth.Identity(), "digest:" + kDigest);
  EXPECT_EQ(with_auth.CreateAcl(),
            (ZkAcl{{ZkApi::kPermAll, "digest", kDigest}, {ZkApi::kPermRead, "world", "anyone"}}));
  ZkClient anonymous(ZkClient::Options{"127.0.0.1:1", 6000, "", false});
  EXPECT_EQ(anonymous.Identity(), "");
  EXPECT_EQ(anonymous.CreateAcl(), (ZkAcl{{ZkApi::kPermAll, "world", "anyone"}}));
}

TEST(ZkRootGuardTest, GrantedPermsAndDescriptions) {
  ZkAcl acl{{ZkApi::kPermAll, "digest", kDigest}, {ZkApi::kPermRead, "world", "anyone"}};
  EXPECT_EQ(ZkRootGuard::Granted(acl, "digest:" + kDigest), ZkApi::kPermAll);
  EXPECT_EQ(ZkRootGuard::Granted(acl, ""), ZkApi::kPermRead);
  EXPECT_EQ(ZkRootGuard::Granted(acl, "digest:other:xyz"), ZkApi::kPermRead);
  // As ZooKeeper shows a digest id to a caller without ADMIN.
  ZkAcl redacted{{ZkApi::kPermRead | ZkApi::kPermWrite, "digest", "jcm:x"}};
  EXPECT_EQ(ZkRootGuard::Granted(redacted, "digest:" + kDigest),
            ZkApi::kPermRead | ZkApi::kPermWrite);
  EXPECT_EQ(ZkRootGuard::Granted(redacted, "digest:other:xyz"), 0);
  EXPECT_EQ(ZkRootGuard::PermNames(ZkApi::kPermWrite | ZkApi::kPermDelete), "WRITE,DELETE");
  EXPECT_EQ(ZkRootGuard::PermNames(ZkApi::kPermAll), "ALL");
  EXPECT_EQ(ZkRootGuard::PermNames(0), "none");
  // The digest hash stays out of messages.
  EXPECT_EQ(ZkRootGuard::Describe(acl), "digest:jcm=ALL, world:anyone=READ");
  EXPECT_TRUE(ZkRootGuard::SameAcl(acl, {acl[1], acl[0]}));
  EXPECT_FALSE(ZkRootGuard::SameAcl(acl, {acl[0]}));
}

TEST(ZkRootGuardTest, AccessCheckNamesZnodeMissingPermsAndAcl) {
  AclFakeZk zk;
  zk.Start();
  ZkRootGuard guard(&zk, "/jcm", kDirs);
  EXPECT_TRUE(guard.CheckAccess().ok());  // no root yet: nothing to check
  ASSERT_TRUE(zk.EnsurePath("/jcm/clusters").ok());
  EXPECT_TRUE(guard.CheckAccess().ok());  // open ACLs
  zk.acls["/jcm/clusters"] = {{ZkApi::kPermAll, "digest", kDigest},
                              {ZkApi::kPermRead, "world", "anyone"}};
  Status s = guard.CheckAccess();
  ASSERT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "ZooKeeper root /jcm: znode /jcm/clusters denies anonymous (no --zk-auth-file) "
            "WRITE,CREATE,DELETE (its ACL: digest:jcm=ALL, world:anyone=READ); jcm needs "
            "READ,WRITE,CREATE,DELETE");
  zk.identity = "digest:" + kDigest;
  EXPECT_TRUE(guard.CheckAccess().ok());
  zk.identity = "digest:other:hash";
  s = guard.CheckAccess();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("denies digest:other WRITE,CREATE,DELETE"), std::string::npos)
      << s.message();
}

TEST(ZkRootGuardTest, MigrationGivesPersistentZnodesTheAclRootLast) {
  AclFakeZk zk;
  zk.Start();
  for (const std::string& d : kDirs) ASSERT_TRUE(zk.EnsurePath("/jcm" + d).ok());
  ASSERT_TRUE(zk.Create("/jcm/clusters/a", "{}", 0).ok());
  ASSERT_TRUE(zk.Create("/jcm/clusters/b", "{}", 0).ok());
  ASSERT_TRUE(zk.Create("/jcm/servers/member-", "x", ZkApi::kEphemeral | ZkApi::kSequential).ok());
  ZkRootGuard guard(&zk, "/jcm", kDirs);

  // Anonymous: nothing to migrate to.
  Result<ZkRootGuard::Migration> m = guard.MigrateAcls();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(zk.reset_order.empty());

  zk.identity = "digest:" + kDigest;
  zk.create_acl = {{ZkApi::kPermAll, "digest", kDigest}};
  zk.acls["/jcm/clusters/b"] = zk.create_acl;  // created by an instance with the ACL
  m = guard.MigrateAcls();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->already_done);
  EXPECT_EQ(m->changed, 5u);  // clusters/a, clusters, servers, status, root
  EXPECT_EQ(m->ephemeral_left, 1u);
  EXPECT_EQ(m->failed, 0u);
  ASSERT_FALSE(zk.reset_order.empty());
  EXPECT_EQ(zk.reset_order.back(), "/jcm");
  EXPECT_EQ(std::count(zk.reset_order.begin(), zk.reset_order.end(), "/jcm/clusters/b"), 0);

  // Done: the next start sees the root's ACL and walks nothing.
  zk.reset_order.clear();
  m = guard.MigrateAcls();
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->already_done);
  EXPECT_TRUE(zk.reset_order.empty());
}

TEST(ZkRootGuardTest, FailedMigrationLeavesTheRootForTheNextStart) {
  AclFakeZk zk;
  zk.Start();
  ASSERT_TRUE(zk.EnsurePath("/jcm/clusters").ok());
  ASSERT_TRUE(zk.Create("/jcm/clusters/a", "{}", 0).ok());
  zk.identity = "digest:" + kDigest;
  zk.create_acl = {{ZkApi::kPermAll, "digest", kDigest}};
  zk.reset_denied.insert("/jcm/clusters/a");
  ZkRootGuard guard(&zk, "/jcm", kDirs);
  Result<ZkRootGuard::Migration> m = guard.MigrateAcls();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->failed, 1u);
  EXPECT_EQ(std::count(zk.reset_order.begin(), zk.reset_order.end(), "/jcm"), 0);
  zk.reset_denied.clear();
  m = guard.MigrateAcls();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->failed, 0u);
  EXPECT_EQ(zk.reset_order.back(), "/jcm");
}

TEST(ZkAuthFileTest, ReadsOneCredentialAndRefusesTheRestWithoutEchoingIt) {
  jcm::testing::TempDir dir;
  auto write = [&](const std::string& text) {
    std::string path = dir.path() + "/auth";
    std::ofstream(path, std::ios::trunc) << text;
    return path;
  };
  Result<std::string> r = ReadZkAuthFile(write("\n  jcm:s3cret:with:colons\n\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), "jcm:s3cret:with:colons");
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c :
       {Case{"", "is empty"}, Case{"jcmsecret", "no ':' found"}, Case{":secret", "empty user"},
        Case{"jcm:", "empty password"}, Case{"jcm:sec ret", "without whitespace"},
        Case{"jcm:a\njcm:b", "without whitespace"}}) {
    Result<std::string> bad = ReadZkAuthFile(write(c.text));
    ASSERT_FALSE(bad.ok()) << c.text;
    EXPECT_NE(bad.status().message().find(c.want), std::string::npos) << bad.status().message();
    EXPECT_NE(bad.status().message().find("--zk-auth-file"), std::string::npos);
    EXPECT_EQ(bad.status().message().find("sec"), std::string::npos) << bad.status().message();
  }
  EXPECT_FALSE(ReadZkAuthFile(dir.path() + "/absent").ok());
}

}  // namespace
}  // namespace jcm
