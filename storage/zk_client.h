// ZkClient: the one wrapper over the ZooKeeper C client. Nothing else in jcm
// sees zhandle_t or a ZooKeeper return code.
//
// - ZooKeeper codes become jcm::Status exactly once, here: ZNONODE ->
//   NotFound, ZNODEEXISTS / ZBADVERSION / ZNOTEMPTY -> Conflict,
//   ZCONNECTIONLOSS / ZOPERATIONTIMEOUT / ZSESSIONEXPIRED / not connected ->
//   Unavailable.
// - Watch and session callbacks arrive on the C client's completion thread;
//   they are turned into typed ZkEvents and queued, and one dispatch thread
//   owned by this class hands them to the EventHandler. The handler may call
//   the synchronous methods (the C client forbids that on its own thread).
//   An exception escaping the handler is logged and dropped: the dispatch
//   thread goes on with the next event.
// - On session expiry the dispatch thread closes the dead handle and opens a
//   new session; the handler sees kExpired, then kConnected with a new
//   session id. Watches do not survive a new session: the handler re-reads
//   and re-arms everything on every kConnected whose session is new.
//
// Thread-safety: all methods are thread-safe. Calls made while the session is
// being replaced wait for the new handle.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/status.h"

typedef struct _zhandle zhandle_t;  // NOLINT: the C client's opaque handle

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

struct ZkOpResult {
  Status status;
  ZkStat stat;               // for kSet
  std::string created_path;  // for kCreate
};

class ZkClient {
 public:
  struct Options {
    std::string hosts;  // "host:port[,host:port...]"
    int session_timeout_ms = 6000;
  };
  using EventHandler = std::function<void(const ZkEvent&)>;

  // Flags for Create().
  static const int kEphemeral;
  static const int kSequential;

  ZkClient(Options options, EventHandler handler);
  ~ZkClient();
  ZkClient(const ZkClient&) = delete;
  ZkClient& operator=(const ZkClient&) = delete;

  // Opens the first session and starts the dispatch thread. Returns at once;
  // kConnected arrives through the handler.
  Status Start();
  // Closes the session (ephemerals go at once) and joins the dispatch thread.
  void Close();

  ZkState state() const { return state_.load(); }
  bool connected() const { return state_.load() == ZkState::kConnected; }
  int64_t session_id() const { return session_id_.load(); }
  // Blocks until connected or the timeout passes. Returns connected().
  bool WaitConnected(int timeout_ms) const;

  Result<std::string> Get(const std::string& path, ZkStat* stat, bool watch);
  Result<std::vector<std::string>> GetChildren(const std::string& path, bool watch);
  // Same, with the parent's stat (its pzxid dates the listing).
  Result<std::vector<std::string>> GetChildren(const std::string& path, bool watch, ZkStat* stat);
  // Reads many znodes with pipelined asynchronous gets, at most `window`
  // outstanding at once: one round trip per window, not per znode. Returns
  // one result per path, in order. Watches as Get() does.
  std::vector<ZkGetResult> GetMany(const std::vector<std::string>& paths, bool watch,
                                   size_t window = 1000);
  // NotFound if absent (and, with watch, a kCreated event arrives on creation).
  Status Exists(const std::string& path, ZkStat* stat, bool watch);
  // Returns the created path (with the sequence suffix when sequential).
  Result<std::string> Create(const std::string& path, const std::string& data, int flags);
  Status Set(const std::string& path, const std::string& data, int version, ZkStat* stat);
  Status Delete(const std::string& path, int version);
  // Creates `path` and its missing parents as empty persistent znodes.
  Status EnsurePath(const std::string& path);
  // All or nothing. On failure the returned Status is the first failing op's,
  // and `results` (if given) holds every op's own status.
  Status Multi(const std::vector<ZkOp>& ops, std::vector<ZkOpResult>* results);

  // Test seam: ends this session from the server side (a second handle
  // attaches to the session and closes it), as a partition past the session
  // timeout would. The handler then sees kExpired and a new session.
  Status ExpireSessionForTest();

  // Translates a ZooKeeper return code (exposed for tests).
  static Status FromZkCode(int rc, const std::string& what);

 private:
  static void WatcherThunk(zhandle_t* zh, int type, int state, const char* path, void* ctx);
  void OnWatcher(zhandle_t* zh, int type, int state, const char* path);
  void DispatchLoop();
  Status OpenSession();  // REQUIRES: handle_mu_ held exclusively
  void Enqueue(ZkEvent event);

  const Options options_;
  const EventHandler handler_;

  mutable std::shared_mutex handle_mu_;
  zhandle_t* zh_ = nullptr;  // GUARDED_BY(handle_mu_)

  std::atomic<ZkState> state_{ZkState::kConnecting};
  std::atomic<int64_t> session_id_{0};
  int64_t last_announced_session_ = 0;  // dispatch thread only

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<ZkEvent> queue_;     // GUARDED_BY(queue_mu_)
  bool stopping_ = false;         // GUARDED_BY(queue_mu_)
  bool expired_pending_ = false;  // GUARDED_BY(queue_mu_)

  mutable std::mutex state_mu_;
  mutable std::condition_variable state_cv_;

  std::thread dispatcher_;
};

}  // namespace jcm
