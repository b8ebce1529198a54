#include "storage/zk_root_guard.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace jcm {
namespace {

// Logged one by one up to this many; beyond it, only counted.
constexpr size_t kMaxLoggedFailures = 10;

}  // namespace

ZkRootGuard::ZkRootGuard(ZkApi* zk, std::string root, std::vector<std::string> dirs)
    : zk_(zk), root_(std::move(root)), dirs_(std::move(dirs)) {}

int ZkRootGuard::Granted(const ZkAcl& acl, const std::string& identity) {
  int perms = 0;
  // ZooKeeper shows a digest id as "user:x" to a caller without ADMIN on
  // the znode: then the user name is all that can be compared.
  const std::string user = identity.substr(0, identity.rfind(':'));
  for (const ZkAclEntry& e : acl) {
    const std::string id = e.scheme + ":" + e.id;
    const bool redacted =
        e.scheme == "digest" && id.size() > 2 && id.compare(id.size() - 2, 2, ":x") == 0;
    if ((e.scheme == "world" && e.id == "anyone") ||
        (!identity.empty() && (id == identity || (redacted && id == user + ":x")))) {
      perms |= e.perms;
    }
  }
  return perms;
}

std::string ZkRootGuard::PermNames(int perms) {
  if ((perms & ZkApi::kPermAll) == ZkApi::kPermAll) return "ALL";
  static const std::pair<int, const char*> kNames[] = {{ZkApi::kPermRead, "READ"},
                                                       {ZkApi::kPermWrite, "WRITE"},
                                                       {ZkApi::kPermCreate, "CREATE"},
                                                       {ZkApi::kPermDelete, "DELETE"},
                                                       {ZkApi::kPermAdmin, "ADMIN"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(perms & bit)) continue;
    if (!out.empty()) out += ",";
    out += name;
  }
  return out.empty() ? "none" : out;
}

std::string ZkRootGuard::Describe(const ZkAcl& acl) {
  std::string out;
  for (const ZkAclEntry& e : acl) {
    if (!out.empty()) out += ", ";
    // A digest id is "user:hash"; the hash is a password's SHA-1, not for logs.
    std::string id = e.scheme == "digest" ? e.id.substr(0, e.id.find(':')) : e.id;
    out += e.scheme + ":" + id + "=" + PermNames(e.perms);
  }
  return out.empty() ? "(empty)" : out;
}

bool ZkRootGuard::SameAcl(const ZkAcl& a, const ZkAcl& b) {
  if (a.size() != b.size()) return false;
  return std::all_of(a.begin(), a.end(), [&](const ZkAclEntry& e) {
    return std::find(b.begin(), b.end(), e) != b.end();
  });
}

std::string ZkRootGuard::Child(const std::string& path, const std::string& name) const {
  return path == "/" ? "/" + name : path + "/" + name;
}

Status ZkRootGuard::CheckAccess() const {
  const std::string identity = zk_->Identity();
  std::vector<std::string> paths{root_};
  for (const std::string& d : dirs_) paths.push_back(root_ + d);
  for (const std::string& path : paths) {
    Result<ZkAcl> acl = zk_->GetAcl(path, nullptr);
    if (!acl.ok() && acl.status().IsNotFound()) {
      if (path == root_) return Status::Ok();  // created by EnsureLayout, with our ACL
      continue;
    }
    const std::string who = identity.empty() ? std::string("anonymous (no --zk-auth-file)")
                                             : identity.substr(0, identity.rfind(':'));
    if (!acl.ok()) {
      if (acl.status().code() == Status::Code::kPermissionDenied) {
        return Status::PermissionDenied(
            "ZooKeeper root " + root_ + ": znode " + path + " does not let " + who +
            " read its ACL (missing READ); jcm needs " + PermNames(kNeeded));
      }
      return acl.status();
    }
    int missing = kNeeded & ~Granted(acl.value(), identity);
    if (missing != 0) {
      return Status::PermissionDenied("ZooKeeper root " + root_ + ": znode " + path + " denies " +
                                      who + " " + PermNames(missing) + " (its ACL: " +
                                      Describe(acl.value()) + "); jcm needs " + PermNames(kNeeded));
    }
  }
  return Status::Ok();
}

Result<ZkRootGuard::Migration> ZkRootGuard::MigrateAcls() const {
  Migration m;
  if (zk_->Identity().empty()) return m;
  Result<ZkAcl> root_acl = zk_->GetAcl(root_, nullptr);
  if (!root_acl.ok()) {
    if (root_acl.status().IsNotFound()) {
      m.already_done = true;  // a new root: everything gets the ACL at creation
      return m;
    }
    return root_acl.status();
  }
  if (SameAcl(root_acl.value(), zk_->CreateAcl())) {
    m.already_done = true;
    return m;
  }
  MigrateBelow(root_, &m);
  // Root last, and only after a clean walk: it marks the walk as complete
  // for the next start.
  if (m.failed == 0) MigrateOne(root_, &m);
  return m;
}

void ZkRootGuard::MigrateBelow(const std::string& path, Migration* m) const {
  Result<std::vector<std::string>> children = zk_->GetChildren(path, false);
  if (!children.ok()) {
    if (!children.status().IsNotFound() && ++m->failed <= kMaxLoggedFailures) {
      spdlog::warn("event=zk_acl_migration_failed path={} error=\"{}\"", path,
                   children.status().ToString());
    }
    return;
  }
  for (const std::string& c : children.value()) {
    std::string p = Child(path, c);
    // Leaves (every cluster and status znode) cost no listing.
    if (MigrateOne(p, m) > 0) MigrateBelow(p, m);
  }
}

int32_t ZkRootGuard::MigrateOne(const std::string& path, Migration* m) const {
  ZkStat stat;
  Result<ZkAcl> acl = zk_->GetAcl(path, &stat);
  if (!acl.ok()) {
    if (!acl.status().IsNotFound() && ++m->failed <= kMaxLoggedFailures) {
      spdlog::warn("event=zk_acl_migration_failed path={} error=\"{}\"", path,
                   acl.status().ToString());
    }
    return 0;
  }
  if (stat.ephemeral_owner != 0) {
    ++m->ephemeral_left;
    return stat.num_children;
  }
  if (SameAcl(acl.value(), zk_->CreateAcl())) return stat.num_children;
  Status s = zk_->ResetAcl(path);
  if (s.ok()) {
    ++m->changed;
  } else if (!s.IsNotFound() && ++m->failed <= kMaxLoggedFailures) {
    spdlog::warn("event=zk_acl_migration_failed path={} acl=\"{}\" error=\"{}\"", path,
                 Describe(acl.value()), s.ToString());
  }
  return stat.num_children;
}

}  // namespace jcm
