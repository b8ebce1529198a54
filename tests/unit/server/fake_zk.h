// FakeZk: an in-memory ZooKeeper behind the ZkApi seam, for unit tests of
// logic above storage/ (ClusterStore, Membership, ClusterWriter) that must
// run in milliseconds without processes.
//
// What it models: a tree of znodes with data versions, czxid/mzxid/pzxid
// from one zxid counter, ephemeral owners, sequential names, and atomic
// multi() with ZooKeeper's error mapping (no node -> NotFound, node exists /
// bad version / not empty -> Conflict). What it does not: watches (no
// event after Start()'s kConnected; tests drive the logic directly), and
// connection loss (set_state() simulates it).
//
// Fault injection: `before_multi` runs before every multi() outside the
// fake's lock; it may change the tree (another writer), block (to let a
// queue build up), throw, or return a non-OK Status to fail the call.
// `before_get` runs before every read the same way.
//
// Thread-safety: thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "storage/zk_api.h"

namespace jcm::testing {

class FakeZk : public ZkApi {
 public:
  std::function<Status(const std::vector<ZkOp>& ops)> before_multi;
  // Runs before every Get() (GetMany() is Gets) outside the fake's lock,
  // with the path: it may change the tree (a write racing a read).
  std::function<void(const std::string& path)> before_get;
  // The same after the read was taken: a write landing after the reader's
  // answer left ZooKeeper, before the reader looked at it.
  std::function<void(const std::string& path)> after_get;

  void SetEventHandler(EventHandler handler) override { handler_ = std::move(handler); }
  // Connects at once and, when `connect_on_start`, hands kConnected (a new
  // session) to the handler on the calling thread.
  Status Start() override {
    state_ = ZkState::kConnected;
    if (connect_on_start && handler_) handler_(ZkEvent{ZkEvent::Type::kConnected, "", true});
    return Status::Ok();
  }
  bool connect_on_start = true;
  void Close() override { state_ = ZkState::kClosed; }
  ZkState state() const override { return state_.load(); }
  void set_state(ZkState s) { state_ = s; }
  int64_t session_id() const override { return 0x1234; }
  bool WaitConnected(int) const override { return connected(); }

  Result<std::string> Get(const std::string& path, ZkStat* stat, bool watch) override {
    if (before_get) before_get(path);
    Result<std::string> got = Read(path, stat, watch);
    if (after_get) after_get(path);
    return got;
  }
  Result<std::vector<std::string>> GetChildren(const std::string& path, bool watch) override {
    return GetChildren(path, watch, nullptr);
  }
  Result<std::vector<std::string>> GetChildren(const std::string& path, bool,
                                               ZkStat* stat) override {
    std::lock_guard lock(mu_);
    if (Status s = Usable(); !s.ok()) return s;
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return Status::NotFound("no node " + path);
    if (stat) *stat = it->second.stat;
    std::vector<std::string> out;
    for (const std::string& c : ChildrenLocked(path)) out.push_back(c.substr(path.size() + 1));
    return out;
  }
  std::vector<ZkGetResult> GetMany(const std::vector<std::string>& paths, bool watch,
                                   size_t) override {
    std::vector<ZkGetResult> out;
    for (const std::string& p : paths) {
      ZkGetResult r;
      Result<std::string> got = Get(p, &r.stat, watch);
      r.status = got.status();
      if (got.ok()) r.data = got.value();
      out.push_back(std::move(r));
    }
    return out;
  }
  Status Exists(const std::string& path, ZkStat* stat, bool) override {
    std::lock_guard lock(mu_);
    if (Status s = Usable(); !s.ok()) return s;
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return Status::NotFound("no node " + path);
    if (stat) *stat = it->second.stat;
    return Status::Ok();
  }
  Result<std::string> Create(const std::string& path, const std::string& data, int flags) override {
    std::vector<ZkOpResult> results;
    Status s = Multi({ZkOp::Create(path, data, flags)}, &results);
    if (!s.ok()) return s;
    return results[0].created_path;
  }
  Status Set(const std::string& path, const std::string& data, int version, ZkStat* stat) override {
    std::vector<ZkOpResult> results;
    Status s = Multi({ZkOp::Set(path, data, version)}, &results);
    if (s.ok() && stat) *stat = results[0].stat;
    return s;
  }
  Status Delete(const std::string& path, int version) override {
    return Multi({ZkOp::Delete(path, version)}, nullptr);
  }
  Status EnsurePath(const std::string& path) override {
    std::lock_guard lock(mu_);
    for (size_t i = 1; i <= path.size(); ++i) {
      if (i == path.size() || path[i] == '/') {
        std::string p = path.substr(0, i);
        if (!nodes_.count(p)) CreateLocked(p, "", 0);
      }
    }
    return Status::Ok();
  }
  Status Multi(const std::vector<ZkOp>& ops, std::vector<ZkOpResult>* results) override {
    if (before_multi) {
      Status s = before_multi(ops);
      if (!s.ok()) return s;
    }
    std::lock_guard lock(mu_);
    ++multis_;
    if (Status s = Usable(); !s.ok()) return s;
    // Apply to a copy; commit only if every op succeeds (all or nothing).
    std::map<std::string, Znode> saved = nodes_;
    const int64_t saved_zxid = zxid_;
    std::vector<ZkOpResult> out(ops.size());
    ++zxid_;  // one transaction, one zxid
    Status failed;
    for (size_t i = 0; i < ops.size() && failed.ok(); ++i) {
      out[i].status = ApplyLocked(ops[i], &out[i]);
      if (!out[i].status.ok()) failed = out[i].status;
    }
    if (!failed.ok()) {
      nodes_ = std::move(saved);
      zxid_ = saved_zxid;
    }
    if (results) *results = std::move(out);
    return failed;
  }
  Status ExpireSessionForTest() override { return Status::Unavailable("not modelled"); }

  int multis() const {
    std::lock_guard lock(mu_);
    return multis_;
  }
  // Znodes read so far (each path of a GetMany() counts).
  int gets() const {
    std::lock_guard lock(mu_);
    return gets_;
  }
  int64_t zxid() const {
    std::lock_guard lock(mu_);
    return zxid_;
  }

 private:
  Result<std::string> Read(const std::string& path, ZkStat* stat, bool) {
    std::lock_guard lock(mu_);
    ++gets_;
    if (Status s = Usable(); !s.ok()) return s;
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return Status::NotFound("no node " + path);
    if (stat) *stat = it->second.stat;
    return it->second.data;
  }
  struct Znode {
    std::string data;
    ZkStat stat;
    int64_t next_seq = 0;
  };

  Status Usable() const {
    if (state_.load() != ZkState::kConnected) return Status::Unavailable("not connected");
    return Status::Ok();
  }
  std::vector<std::string> ChildrenLocked(const std::string& path) const {
    std::vector<std::string> out;
    const std::string prefix = path + "/";
    for (auto it = nodes_.lower_bound(prefix); it != nodes_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (it->first.find('/', prefix.size()) == std::string::npos) out.push_back(it->first);
    }
    return out;
  }
  static std::string Parent(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
  }
  std::string CreateLocked(std::string path, const std::string& data, int flags) {
    const std::string parent = Parent(path);
    if (flags & kSequential) {
      char seq[16];
      snprintf(seq, sizeof(seq), "%010lld", static_cast<long long>(nodes_[parent].next_seq++));
      path += seq;
    }
    Znode& n = nodes_[path];
    n.data = data;
    n.stat.czxid = n.stat.mzxid = n.stat.pzxid = zxid_;
    n.stat.ephemeral_owner = (flags & kEphemeral) ? session_id() : 0;
    if (parent != "/" || nodes_.count("/")) nodes_[parent].stat.pzxid = zxid_;
    return path;
  }
  Status ApplyLocked(const ZkOp& op, ZkOpResult* r) {
    auto it = nodes_.find(op.path);
    switch (op.kind) {
      case ZkOp::Kind::kCreate: {
        if (it != nodes_.end()) return Status::Conflict("node exists " + op.path);
        const std::string parent = Parent(op.path);
        if (parent != "/" && !nodes_.count(parent)) return Status::NotFound("no parent " + parent);
        r->created_path = CreateLocked(op.path, op.data, op.create_flags);
        r->stat = nodes_[r->created_path].stat;
        return Status::Ok();
      }
      case ZkOp::Kind::kCheck:
      case ZkOp::Kind::kSet:
      case ZkOp::Kind::kDelete:
        break;
    }
    if (it == nodes_.end()) return Status::NotFound("no node " + op.path);
    if (op.version >= 0 && op.version != it->second.stat.version) {
      return Status::Conflict("bad version of " + op.path);
    }
    if (op.kind == ZkOp::Kind::kSet) {
      it->second.data = op.data;
      it->second.stat.version++;
      it->second.stat.mzxid = zxid_;
      r->stat = it->second.stat;
    } else if (op.kind == ZkOp::Kind::kDelete) {
      if (!ChildrenLocked(op.path).empty()) return Status::Conflict("not empty " + op.path);
      nodes_.erase(it);
      nodes_[Parent(op.path)].stat.pzxid = zxid_;
    }
    return Status::Ok();
  }

  EventHandler handler_;
  std::atomic<ZkState> state_{ZkState::kConnected};
  mutable std::mutex mu_;
  std::map<std::string, Znode> nodes_;  // GUARDED_BY(mu_)
  int64_t zxid_ = 100;                  // GUARDED_BY(mu_)
  int multis_ = 0;                      // GUARDED_BY(mu_)
  int gets_ = 0;                        // GUARDED_BY(mu_)
};

}  // namespace jcm::testing
