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
// - ACLs: with Options::auth ("user:password", digest scheme) every session
//   authenticates before its first request, and every znode created
//   (Create, Multi, EnsurePath) gets ALL for that identity only (plus READ
//   for anyone with world_read). Without it, znodes are open
//   (world:anyone ALL), as before. ZNOAUTH becomes PermissionDenied.
//
// Thread-safety: all methods are thread-safe. Calls made while the session is
// being replaced wait for the new handle.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/status.h"
#include "storage/zk_api.h"

typedef struct _zhandle zhandle_t;  // NOLINT: the C client's opaque handle
struct ACL;
struct ACL_vector;

namespace jcm {

class ZkClient : public ZkApi {
 public:
  struct Options {
    std::string hosts;  // "host:port[,host:port...]"
    int session_timeout_ms = 6000;
    // "user:password" for ZooKeeper's digest scheme; empty: anonymous
    // sessions and open ACLs. Never logged.
    std::string auth = {};
    // With `auth`: anyone may read what jcm creates (not write it).
    bool world_read = false;
  };
  // How long a resolved host list is used before the C client resolves it
  // again in routine (see Start()).
  static constexpr int kHostResolutionWindowMs = 30000;

  // `handler` may be empty and set later with SetEventHandler().
  ZkClient(Options options, EventHandler handler = nullptr);
  ~ZkClient() override;
  ZkClient(const ZkClient&) = delete;
  ZkClient& operator=(const ZkClient&) = delete;

  // Opens the first session and starts the dispatch thread. Returns at once;
  // kConnected arrives through the handler.
  Status Start() override;
  // Closes the session (ephemerals go at once) and joins the dispatch thread.
  void Close() override;
  void SetEventHandler(EventHandler handler) override { handler_ = std::move(handler); }

  ZkState state() const override { return state_.load(); }
  int64_t session_id() const override { return session_id_.load(); }
  // Blocks until connected or the timeout passes. Returns connected().
  bool WaitConnected(int timeout_ms) const override;

  Result<std::string> Get(const std::string& path, ZkStat* stat, bool watch) override;
  Result<std::vector<std::string>> GetChildren(const std::string& path, bool watch) override;
  // Same, with the parent's stat (its pzxid dates the listing).
  Result<std::vector<std::string>> GetChildren(const std::string& path, bool watch,
                                               ZkStat* stat) override;
  // Reads many znodes with pipelined asynchronous gets, at most `window`
  // outstanding at once: one round trip per window, not per znode. Returns
  // one result per path, in order. Watches as Get() does.
  std::vector<ZkGetResult> GetMany(const std::vector<std::string>& paths, bool watch,
                                   size_t window = 1000) override;
  // NotFound if absent (and, with watch, a kCreated event arrives on creation).
  Status Exists(const std::string& path, ZkStat* stat, bool watch) override;
  // Returns the created path (with the sequence suffix when sequential).
  Result<std::string> Create(const std::string& path, const std::string& data, int flags) override;
  Status Set(const std::string& path, const std::string& data, int version, ZkStat* stat) override;
  Status Delete(const std::string& path, int version) override;
  // Creates `path` and its missing parents as empty persistent znodes.
  Status EnsurePath(const std::string& path) override;
  // All or nothing. On failure the returned Status is the first failing op's,
  // and `results` (if given) holds every op's own status.
  Status Multi(const std::vector<ZkOp>& ops, std::vector<ZkOpResult>* results) override;

  ZkAcl CreateAcl() const override { return create_acl_; }
  std::string Identity() const override { return identity_; }
  Result<ZkAcl> GetAcl(const std::string& path, ZkStat* stat) override;
  Status ResetAcl(const std::string& path) override;

  // The id ZooKeeper's digest scheme derives from "user:password":
  // "user:" + base64(sha1("user:password")).
  static std::string DigestId(const std::string& user_password);

  // Test seam: ends this session from the server side (a second handle
  // attaches to the session and closes it), as a partition past the session
  // timeout would. The handler then sees kExpired and a new session.
  Status ExpireSessionForTest() override;

  // Translates a ZooKeeper return code (exposed for tests).
  static Status FromZkCode(int rc, const std::string& what);

 private:
  static void WatcherThunk(zhandle_t* zh, int type, int state, const char* path, void* ctx);
  void OnWatcher(zhandle_t* zh, int type, int state, const char* path);
  void DispatchLoop();
  Status OpenSession();  // REQUIRES: handle_mu_ held exclusively
  void Enqueue(ZkEvent event);

  const Options options_;
  EventHandler handler_;  // set before Start()
  // Fixed at construction: the ACL of every created znode, as jcm values
  // and as the C client's vector (pointing into create_acl_'s strings).
  ZkAcl create_acl_;
  std::string identity_;
  std::vector<struct ACL> c_acl_;
  std::unique_ptr<struct ACL_vector> c_acl_vector_;

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
