// ZkApi: the seam between jcm and ZooKeeper. Everything above storage/
// (ClusterStore, Membership, the server) talks to ZooKeeper through this
// interface only, so their logic can be tested on an in-memory fake
// (tests/unit/server/fake_zk.h) in milliseconds, and ZkClient is the one
// implementation over the real C client.
//
// Contract (every implementation): ZooKeeper's semantics as ZkClient
// documents them (error codes as jcm::Status, zxid-ordered stats, watches
// delivered as ZkEvents on one dispatch thread to the handler set by
// SetEventHandler, never on the caller's thread).
//
// Thread-safety: implementations are thread-safe; SetEventHandler must be
// called before Start().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/status.h"

namespace jcm {

enum class ZkState { kConnecting, kConnected, kExpired, kClosed };
const char* ToString(ZkState state);

struct ZkEvent {
  enum class Type {
    kConnected,     // a session is usable; `new_session` says if it is a new one
    kDisconnected,  // lost the server; the session may still come back
    kExpired,       // the session is gone with its ephemerals and watches
    kChildrenChanged,
    kDataChanged,
    kCreated,
    kDeleted,
  };
  Type type;
  std::string path;
  bool new_session = false;
};

// The parts of ZooKeeper's Stat jcm uses.
struct ZkStat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int32_t version = 0;  // data version, for conditional writes
  int64_t ephemeral_owner = 0;
  int32_t num_children = 0;
  int64_t pzxid = 0;  // zxid of the last change to the children
};

// One answer of GetMany().
struct ZkGetResult {
  Status status;
  std::string data;
  ZkStat stat;
};

// One operation of a multi(). Build with the static helpers.
struct ZkOp {
  enum class Kind { kCreate, kSet, kDelete, kCheck };
  Kind kind;
  std::string path;
  std::string data;
  int version = -1;  // -1: any version
  int create_flags = 0;
  static ZkOp Create(std::string path, std::string data, int flags = 0);
  static ZkOp Set(std::string path, std::string data, int version);
  static ZkOp Delete(std::string path, int version);
  static ZkOp Check(std::string path, int version);
};

// One entry of a znode's ACL: ZooKeeper's permission bits for an identity
// ("world"/"anyone", "digest"/"user:base64(sha1(user:password))", ...).
struct ZkAclEntry {
  int perms = 0;  // ZkApi::kPerm* bits
  std::string scheme;
  std::string id;
  bool operator==(const ZkAclEntry&) const = default;
};
using ZkAcl = std::vector<ZkAclEntry>;

struct ZkOpResult {
  Status status;
  ZkStat stat;               // for kSet
  std::string created_path;  // for kCreate
};

class ZkApi {
 public:
  using EventHandler = std::function<void(const ZkEvent&)>;

  // Flags for Create() (ZooKeeper's values).
  static constexpr int kEphemeral = 1;
  static constexpr int kSequential = 2;
  // ACL permission bits (ZooKeeper's values).
  static constexpr int kPermRead = 1;
  static constexpr int kPermWrite = 2;
  static constexpr int kPermCreate = 4;
  static constexpr int kPermDelete = 8;
  static constexpr int kPermAdmin = 16;
  static constexpr int kPermAll = 31;

  virtual ~ZkApi() = default;

  // Where events go. REQUIRES: called before Start().
  virtual void SetEventHandler(EventHandler handler) = 0;
  // Opens the first session; kConnected arrives through the handler.
  virtual Status Start() = 0;
  // Closes the session (ephemerals go at once); no event after it returns.
  virtual void Close() = 0;

  virtual ZkState state() const = 0;
  bool connected() const { return state() == ZkState::kConnected; }
  virtual int64_t session_id() const = 0;
  // Blocks until connected or the timeout passes. Returns connected().
  virtual bool WaitConnected(int timeout_ms) const = 0;

  virtual Result<std::string> Get(const std::string& path, ZkStat* stat, bool watch) = 0;
  virtual Result<std::vector<std::string>> GetChildren(const std::string& path, bool watch) = 0;
  // With the parent's stat (its pzxid dates the listing); `stat` may be null.
  virtual Result<std::vector<std::string>> GetChildren(const std::string& path, bool watch,
                                                       ZkStat* stat) = 0;
  // Reads many znodes, at most `window` outstanding at once. One result per
  // path, in order. Watches as Get() does.
  virtual std::vector<ZkGetResult> GetMany(const std::vector<std::string>& paths, bool watch,
                                           size_t window = 1000) = 0;
  // NotFound if absent (and, with watch, a kCreated event arrives on creation).
  virtual Status Exists(const std::string& path, ZkStat* stat, bool watch) = 0;
  // Returns the created path (with the sequence suffix when sequential).
  virtual Result<std::string> Create(const std::string& path, const std::string& data,
                                     int flags) = 0;
  virtual Status Set(const std::string& path, const std::string& data, int version,
                     ZkStat* stat) = 0;
  virtual Status Delete(const std::string& path, int version) = 0;
  // Creates `path` and its missing parents as empty persistent znodes.
  virtual Status EnsurePath(const std::string& path) = 0;
  // All or nothing. On failure the returned Status is the first failing op's,
  // and `results` (if given) holds every op's own status.
  virtual Status Multi(const std::vector<ZkOp>& ops, std::vector<ZkOpResult>* results) = 0;

  // ACLs. Every znode Create()/Multi() makes gets CreateAcl(). The defaults
  // describe an open ZooKeeper (world:anyone ALL, no identity) for fakes;
  // ZkClient overrides them when it authenticates (--zk-auth-file).
  //
  // The ACL every created znode gets.
  virtual ZkAcl CreateAcl() const { return {{kPermAll, "world", "anyone"}}; }
  // This session's identity as it appears in an ACL ("digest:user:hash"),
  // empty when the session is anonymous.
  virtual std::string Identity() const { return {}; }
  // A znode's ACL (and its stat, if `stat` is given).
  virtual Result<ZkAcl> GetAcl(const std::string& path, ZkStat* stat) {
    Status s = Exists(path, stat, false);
    if (!s.ok()) return s;
    return CreateAcl();
  }
  // Replaces a znode's ACL with CreateAcl() (any ACL version).
  virtual Status ResetAcl(const std::string& /*path*/) { return Status::Ok(); }

  // Test seam: ends this session from the server side; the handler then
  // sees kExpired and a new session.
  virtual Status ExpireSessionForTest() = 0;
};

}  // namespace jcm
