// ZkRootGuard: what an instance checks of its ZooKeeper root before using it
// (ClusterService does it once per process, on its first session).
//
// - CheckAccess: the root and each layout directory that exists must grant
//   this session's identity (ZkApi::Identity(), or anonymous) READ, WRITE,
//   CREATE and DELETE through an entry for that identity or for
//   world:anyone. Otherwise a PermissionDenied that names the znode, the
//   missing permissions, who we are and the ACL found (digest hashes left
//   out): an operator reads what to fix instead of watching an instance
//   fail every write. An absent root is not checked: creating it is
//   (EnsureLayout then fails with PermissionDenied on a closed parent).
// - MigrateAcls: turns a deployment made without ACLs into a protected one.
//   Only with an identity. Every persistent znode under the root whose ACL
//   differs from ZkApi::CreateAcl() gets it, the root last, so a root that
//   already has it means the walk was done (and everything created since got
//   it at creation). Two round trips per znode (ACL read, ACL write), a
//   listing only for znodes with children. Ephemeral znodes (members,
//   statuses) are left alone: they belong to running instances, which would
//   lose access to their own znodes, and they go away with them.
//
// Thread-safety: not thread-safe; used on one thread (the ZooKeeper dispatch
// thread) during start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/status.h"
#include "storage/zk_api.h"

namespace jcm {

class ZkRootGuard {
 public:
  // jcm needs these on the root and its layout directories.
  static constexpr int kNeeded =
      ZkApi::kPermRead | ZkApi::kPermWrite | ZkApi::kPermCreate | ZkApi::kPermDelete;

  struct Migration {
    bool already_done = false;  // the root had CreateAcl(): nothing walked
    size_t changed = 0;         // znodes given CreateAcl()
    size_t ephemeral_left = 0;  // ephemeral znodes left as they were
    size_t failed = 0;          // znodes whose ACL could not be set (logged)
  };

  // `dirs`: the layout directories below the root ("/clusters", ...).
  ZkRootGuard(ZkApi* zk, std::string root, std::vector<std::string> dirs);

  Status CheckAccess() const;
  // Ok with nothing done when the session has no identity.
  Result<Migration> MigrateAcls() const;

  // The permissions `acl` grants `identity` ("scheme:id", empty: anonymous).
  static int Granted(const ZkAcl& acl, const std::string& identity);
  // "READ,CREATE" ("none" for 0).
  static std::string PermNames(int perms);
  // "digest:jcm=ALL, world:anyone=READ": digest hashes are left out.
  static std::string Describe(const ZkAcl& acl);
  // Same entries, any order.
  static bool SameAcl(const ZkAcl& a, const ZkAcl& b);

 private:
  // Walks below `path` (not `path` itself).
  void MigrateBelow(const std::string& path, Migration* m) const;
  // Converts one znode; returns its number of children.
  int32_t MigrateOne(const std::string& path, Migration* m) const;
  std::string Child(const std::string& path, const std::string& name) const;

  ZkApi* const zk_;
  const std::string root_;
  const std::vector<std::string> dirs_;
};

}  // namespace jcm
