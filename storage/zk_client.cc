#include "storage/zk_client.h"

#include <zookeeper/zookeeper.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

#include <spdlog/spdlog.h>

namespace jcm {
namespace {

// Big enough for any znode ZooKeeper accepts (jute.maxbuffer, 1 MiB).
constexpr int kMaxZnodeRead = (1 << 20) + 4096;

// The C client logs every failed connect attempt at ERROR, twenty times a
// second while ZooKeeper is down. Route it into our log at debug level; our
// own state events say what matters.
void ZkLogToSpdlog(const char* message) { spdlog::debug("zk_client: {}", message); }

// The last-resort barrier of the dispatch thread: an exception out of the
// handler (a bug, or a decoder that should have returned a Status) would end
// the process through std::terminate; instead it is logged and the next
// event is handled. What the failed handler would have done is redone on the
// next event that re-reads the same data.
void CallHandler(const ZkClient::EventHandler& handler, const ZkEvent& ev) {
  try {
    handler(ev);
  } catch (const std::exception& e) {
    spdlog::error("event=zk_handler_exception type={} path={} error=\"{}\"",
                  static_cast<int>(ev.type), ev.path, e.what());
  } catch (...) {
    spdlog::error("event=zk_handler_exception type={} path={} error=\"unknown exception\"",
                  static_cast<int>(ev.type), ev.path);
  }
}

ZkStat ToZkStat(const struct Stat& s) {
  ZkStat out;
  out.czxid = s.czxid;
  out.mzxid = s.mzxid;
  out.version = s.version;
  out.ephemeral_owner = s.ephemeralOwner;
  out.num_children = s.numChildren;
  out.pzxid = s.pzxid;
  return out;
}

}  // namespace

const char* ToString(ZkState state) {
  switch (state) {
    case ZkState::kConnecting:
      return "CONNECTING";
    case ZkState::kConnected:
      return "CONNECTED";
    case ZkState::kExpired:
      return "EXPIRED";
    case ZkState::kClosed:
      return "CLOSED";
  }
  return "UNKNOWN";
}

ZkOp ZkOp::Create(std::string path, std::string data, int flags) {
  return ZkOp{Kind::kCreate, std::move(path), std::move(data), -1, flags};
}
ZkOp ZkOp::Set(std::string path, std::string data, int version) {
  return ZkOp{Kind::kSet, std::move(path), std::move(data), version, 0};
}
ZkOp ZkOp::Delete(std::string path, int version) {
  return ZkOp{Kind::kDelete, std::move(path), {}, version, 0};
}
ZkOp ZkOp::Check(std::string path, int version) {
  return ZkOp{Kind::kCheck, std::move(path), {}, version, 0};
}

Status ZkClient::FromZkCode(int rc, const std::string& what) {
  if (rc == ZOK) return Status::Ok();
  std::string msg = what + ": " + zerror(rc);
  switch (rc) {
    case ZNONODE:
      return Status::NotFound(msg);
    case ZNODEEXISTS:
    case ZBADVERSION:
    case ZNOTEMPTY:
      return Status::Conflict(msg);
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:
    case ZCLOSING:
    case ZSESSIONMOVED:
      return Status::Unavailable("ZooKeeper unavailable: " + msg);
    case ZBADARGUMENTS:
      return Status::InvalidArgument(msg);
    case ZNOAUTH:
    case ZAUTHFAILED:
      return Status::PermissionDenied(msg);
    default:
      return Status::Internal(msg);
  }
}

static int CreateFlags(int flags) {
  bool eph = flags & ZkClient::kEphemeral;
  bool seq = flags & ZkClient::kSequential;
  if (eph && seq) return ZOO_EPHEMERAL_SEQUENTIAL;
  if (eph) return ZOO_EPHEMERAL;
  if (seq) return ZOO_PERSISTENT_SEQUENTIAL;
  return ZOO_PERSISTENT;
}

std::string ZkClient::DigestId(const std::string& user_password) {
  unsigned char sha[SHA_DIGEST_LENGTH];
  unsigned int sha_len = 0;
  EVP_Digest(user_password.data(), user_password.size(), sha, &sha_len, EVP_sha1(), nullptr);
  unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, sha, SHA_DIGEST_LENGTH);
  std::string user = user_password.substr(0, user_password.find(':'));
  return user + ":" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

ZkClient::ZkClient(Options options, EventHandler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {
  if (options_.auth.empty()) {
    create_acl_ = {{kPermAll, "world", "anyone"}};
  } else {
    // An explicit digest id rather than ZooKeeper's "auth" scheme: the ACL
    // then reads the same in every tool, and Identity() can be compared
    // with what GetAcl() returns.
    std::string id = DigestId(options_.auth);
    identity_ = "digest:" + id;
    create_acl_ = {{kPermAll, "digest", id}};
    if (options_.world_read) create_acl_.push_back({kPermRead, "world", "anyone"});
  }
  c_acl_.resize(create_acl_.size());
  for (size_t i = 0; i < create_acl_.size(); ++i) {
    c_acl_[i].perms = create_acl_[i].perms;
    c_acl_[i].id.scheme = create_acl_[i].scheme.data();
    c_acl_[i].id.id = create_acl_[i].id.data();
  }
  c_acl_vector_ = std::make_unique<struct ACL_vector>();
  c_acl_vector_->count = static_cast<int32_t>(c_acl_.size());
  c_acl_vector_->data = c_acl_.data();
}

ZkClient::~ZkClient() { Close(); }

Status ZkClient::Start() {
  zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
  {
    std::unique_lock lock(handle_mu_);
    Status s = OpenSession();
    if (!s.ok()) return s;
  }
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  return Status::Ok();
}

Status ZkClient::OpenSession() {
  state_ = ZkState::kConnecting;
  session_id_ = 0;
  zh_ = zookeeper_init2(options_.hosts.c_str(), &ZkClient::WatcherThunk,
                        options_.session_timeout_ms, nullptr, this, 0, &ZkLogToSpdlog);
  if (zh_ == nullptr) {
    return Status::Unavailable("zookeeper_init failed for '" + options_.hosts + "'");
  }
  // By default the C client resolves the host list again each time its I/O
  // thread checks the socket, i.e. per request: getaddrinfo() with its
  // netlink query of the interfaces was ~8 % of a follower's CPU under
  // load. A change of address is still found within the window, and at
  // once after a lost connection (the client resolves then regardless).
  zoo_set_servers_resolution_delay(zh_, kHostResolutionWindowMs);
  if (!options_.auth.empty()) {
    // Queued now, sent by the C client right after the handshake (and again
    // after every reconnect of this session), ahead of any request of ours.
    int rc = zoo_add_auth(zh_, "digest", options_.auth.data(),
                          static_cast<int>(options_.auth.size()), nullptr, nullptr);
    if (rc != ZOK) return FromZkCode(rc, "add digest auth");
  }
  return Status::Ok();
}

void ZkClient::Close() {
  {
    std::unique_lock lock(handle_mu_);
    if (zh_ != nullptr) {
      zhandle_t* zh = zh_;
      zh_ = nullptr;
      zookeeper_close(zh);
    }
    state_ = ZkState::kClosed;
  }
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  state_cv_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

bool ZkClient::WaitConnected(int timeout_ms) const {
  std::unique_lock lock(state_mu_);
  return state_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [this] { return state_.load() == ZkState::kConnected; });
}

void ZkClient::WatcherThunk(zhandle_t* zh, int type, int state, const char* path, void* ctx) {
  static_cast<ZkClient*>(ctx)->OnWatcher(zh, type, state, path);
}

void ZkClient::OnWatcher(zhandle_t* zh, int type, int state, const char* path) {
  if (type == ZOO_SESSION_EVENT) {
    if (state == ZOO_CONNECTED_STATE) {
      const clientid_t* id = zoo_client_id(zh);
      {
        std::lock_guard lock(state_mu_);
        if (state_.load() == ZkState::kClosed) return;
        session_id_ = id ? id->client_id : 0;
        state_ = ZkState::kConnected;
      }
      state_cv_.notify_all();
      Enqueue({ZkEvent::Type::kConnected, "", false});
    } else if (state == ZOO_EXPIRED_SESSION_STATE) {
      {
        std::lock_guard lock(state_mu_);
        if (state_.load() == ZkState::kClosed) return;
        state_ = ZkState::kExpired;
      }
      {
        std::lock_guard lock(queue_mu_);
        if (expired_pending_) return;
        expired_pending_ = true;
      }
      Enqueue({ZkEvent::Type::kExpired, "", false});
    } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE ||
               state == ZOO_NOTCONNECTED_STATE) {
      {
        std::lock_guard lock(state_mu_);
        if (state_.load() != ZkState::kConnected) return;
        state_ = ZkState::kConnecting;
      }
      Enqueue({ZkEvent::Type::kDisconnected, "", false});
    }
    return;
  }
  ZkEvent ev{ZkEvent::Type::kDataChanged, path ? path : "", false};
  if (type == ZOO_CHILD_EVENT) {
    ev.type = ZkEvent::Type::kChildrenChanged;
  } else if (type == ZOO_CHANGED_EVENT) {
    ev.type = ZkEvent::Type::kDataChanged;
  } else if (type == ZOO_CREATED_EVENT) {
    ev.type = ZkEvent::Type::kCreated;
  } else if (type == ZOO_DELETED_EVENT) {
    ev.type = ZkEvent::Type::kDeleted;
  } else {
    return;  // ZOO_NOTWATCHING_EVENT and anything newer
  }
  Enqueue(std::move(ev));
}

void ZkClient::Enqueue(ZkEvent event) {
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return;
    queue_.push_back(std::move(event));
  }
  queue_cv_.notify_one();
}

void ZkClient::DispatchLoop() {
  for (;;) {
    ZkEvent ev;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      ev = std::move(queue_.front());
      queue_.pop_front();
    }
    if (ev.type == ZkEvent::Type::kExpired) {
      spdlog::warn("event=zk_session_expired session=0x{:x}", last_announced_session_);
      CallHandler(handler_, ev);
      std::unique_lock lock(handle_mu_);
      if (zh_ == nullptr) return;  // closing
      zookeeper_close(zh_);
      zh_ = nullptr;
      {
        std::lock_guard qlock(queue_mu_);
        expired_pending_ = false;
        // Events queued by the dead handle describe a world we re-read anyway.
        std::erase_if(queue_, [](const ZkEvent& e) { return e.type != ZkEvent::Type::kExpired; });
      }
      Status s = OpenSession();
      if (!s.ok()) spdlog::error("event=zk_reopen_failed error=\"{}\"", s.ToString());
      continue;
    }
    if (ev.type == ZkEvent::Type::kConnected) {
      int64_t id = session_id_.load();
      ev.new_session = id != last_announced_session_;
      last_announced_session_ = id;
      spdlog::info("event=zk_connected session=0x{:x} new_session={}", id, ev.new_session);
    } else if (ev.type == ZkEvent::Type::kDisconnected) {
      spdlog::warn("event=zk_disconnected session=0x{:x}", last_announced_session_);
    }
    CallHandler(handler_, ev);
  }
}

#define JCM_ZK_HANDLE_OR_RETURN(lock)                                           \
  std::shared_lock lock(handle_mu_);                                            \
  if (zh_ == nullptr) return Status::Unavailable("ZooKeeper client is closed"); \
  if (state_.load() != ZkState::kConnected) {                                   \
    return Status::Unavailable(std::string("not connected to ZooKeeper (") +    \
                               ToString(state_.load()) + ")");                  \
  }

Result<std::string> ZkClient::Get(const std::string& path, ZkStat* stat, bool watch) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  thread_local std::unique_ptr<char[]> buf(new char[kMaxZnodeRead]);
  int len = kMaxZnodeRead;
  struct Stat st {};
  int rc = zoo_get(zh_, path.c_str(), watch ? 1 : 0, buf.get(), &len, &st);
  if (rc != ZOK) return FromZkCode(rc, "get " + path);
  if (stat) *stat = ToZkStat(st);
  return std::string(buf.get(), len > 0 ? len : 0);
}

Result<std::vector<std::string>> ZkClient::GetChildren(const std::string& path, bool watch) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  struct String_vector children {};
  int rc = zoo_get_children(zh_, path.c_str(), watch ? 1 : 0, &children);
  if (rc != ZOK) return FromZkCode(rc, "get children of " + path);
  std::vector<std::string> out;
  out.reserve(children.count);
  for (int i = 0; i < children.count; ++i) out.emplace_back(children.data[i]);
  deallocate_String_vector(&children);
  return out;
}

Result<std::vector<std::string>> ZkClient::GetChildren(const std::string& path, bool watch,
                                                       ZkStat* stat) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  struct String_vector children {};
  struct Stat st {};
  int rc = zoo_get_children2(zh_, path.c_str(), watch ? 1 : 0, &children, &st);
  if (rc != ZOK) return FromZkCode(rc, "get children of " + path);
  std::vector<std::string> out;
  out.reserve(children.count);
  for (int i = 0; i < children.count; ++i) out.emplace_back(children.data[i]);
  deallocate_String_vector(&children);
  if (stat) *stat = ToZkStat(st);
  return out;
}

namespace {

// Shared by the completions of one GetMany() call.
struct GetManyBatch {
  std::mutex mu;
  std::condition_variable cv;
  size_t outstanding = 0;  // GUARDED_BY(mu)
  std::vector<ZkGetResult>* results = nullptr;
  const std::vector<std::string>* paths = nullptr;
};

struct GetManyCall {
  GetManyBatch* batch;
  size_t index;
};

// Runs on the C client's completion thread: copy out and wake the caller.
void GetManyCompletion(int rc, const char* value, int value_len, const struct Stat* stat,
                       const void* data) {
  auto* call = static_cast<GetManyCall*>(const_cast<void*>(data));
  GetManyBatch* batch = call->batch;
  ZkGetResult& r = (*batch->results)[call->index];
  if (rc == ZOK) {
    r.status = Status::Ok();
    if (value != nullptr && value_len > 0) r.data.assign(value, static_cast<size_t>(value_len));
    if (stat != nullptr) r.stat = ToZkStat(*stat);
  } else {
    r.status = ZkClient::FromZkCode(rc, "get " + (*batch->paths)[call->index]);
  }
  delete call;
  // Notify under the lock: once the caller sees its last completion it
  // returns and `batch` (on its stack) is gone, so nothing may touch it
  // after the lock is released. (Notifying after unlocking let a caller
  // woken by another completion return first; the late notify_all then
  // wrote into a reused stack frame.)
  std::lock_guard lock(batch->mu);
  --batch->outstanding;
  batch->cv.notify_all();
}

}  // namespace

std::vector<ZkGetResult> ZkClient::GetMany(const std::vector<std::string>& paths, bool watch,
                                           size_t window) {
  std::vector<ZkGetResult> results(paths.size());
  std::shared_lock lock(handle_mu_);
  if (zh_ == nullptr || state_.load() != ZkState::kConnected) {
    Status s = zh_ == nullptr ? Status::Unavailable("ZooKeeper client is closed")
                              : Status::Unavailable(std::string("not connected to ZooKeeper (") +
                                                    ToString(state_.load()) + ")");
    for (ZkGetResult& r : results) r.status = s;
    return results;
  }
  GetManyBatch batch;
  batch.results = &results;
  batch.paths = &paths;
  if (window == 0) window = 1;
  for (size_t i = 0; i < paths.size(); ++i) {
    {
      std::unique_lock wait(batch.mu);
      batch.cv.wait(wait, [&] { return batch.outstanding < window; });
      ++batch.outstanding;
    }
    auto* call = new GetManyCall{&batch, i};
    int rc = zoo_aget(zh_, paths[i].c_str(), watch ? 1 : 0, &GetManyCompletion, call);
    if (rc != ZOK) {
      // Not queued: no completion will come for it.
      delete call;
      results[i].status = FromZkCode(rc, "get " + paths[i]);
      std::lock_guard wait(batch.mu);
      --batch.outstanding;
    }
  }
  // The C client completes every queued request, with an error on
  // connection loss, so this wait ends.
  std::unique_lock wait(batch.mu);
  batch.cv.wait(wait, [&] { return batch.outstanding == 0; });
  return results;
}

Status ZkClient::ExpireSessionForTest() {
  clientid_t copy{};
  {
    std::shared_lock lock(handle_mu_);
    if (zh_ == nullptr) return Status::Unavailable("ZooKeeper client is closed");
    const clientid_t* id = zoo_client_id(zh_);
    if (id == nullptr || id->client_id == 0) return Status::Unavailable("no session");
    copy = *id;
  }
  auto ignore = [](zhandle_t*, int, int, const char*, void*) {};
  // A second handle attaches to the session and closes it, which ends the
  // session for both. Unless this handle, dropped by the server when the
  // second attached, reconnected to the session before the close: the
  // server then dropped the second's connection and its close went nowhere
  // (seen under load in CI). So: check that the session ended, else again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    clientid_t again = copy;
    zhandle_t* other = zookeeper_init2(options_.hosts.c_str(), ignore, options_.session_timeout_ms,
                                       &again, nullptr, 0, &ZkLogToSpdlog);
    if (other == nullptr) return Status::Unavailable("zookeeper_init failed");
    for (int i = 0; i < 200 && zoo_state(other) != ZOO_CONNECTED_STATE; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    zookeeper_close(other);
    for (int i = 0; i < 200; ++i) {
      if (state_.load() == ZkState::kExpired || session_id_.load() != copy.client_id) {
        return Status::Ok();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return Status::Unavailable("the session outlived 5 attempts to end it");
}

Status ZkClient::Exists(const std::string& path, ZkStat* stat, bool watch) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  struct Stat st {};
  int rc = zoo_exists(zh_, path.c_str(), watch ? 1 : 0, &st);
  if (rc != ZOK) return FromZkCode(rc, "exists " + path);
  if (stat) *stat = ToZkStat(st);
  return Status::Ok();
}

Result<std::string> ZkClient::Create(const std::string& path, const std::string& data, int flags) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  std::string created(path.size() + 32, '\0');
  int rc =
      zoo_create(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), c_acl_vector_.get(),
                 CreateFlags(flags), created.data(), static_cast<int>(created.size()));
  if (rc != ZOK) return FromZkCode(rc, "create " + path);
  created.resize(strlen(created.c_str()));
  return created;
}

Status ZkClient::Set(const std::string& path, const std::string& data, int version, ZkStat* stat) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  struct Stat st {};
  int rc = zoo_set2(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), version, &st);
  if (rc != ZOK) return FromZkCode(rc, "set " + path);
  if (stat) *stat = ToZkStat(st);
  return Status::Ok();
}

Status ZkClient::Delete(const std::string& path, int version) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  int rc = zoo_delete(zh_, path.c_str(), version);
  return FromZkCode(rc, "delete " + path);
}

Result<ZkAcl> ZkClient::GetAcl(const std::string& path, ZkStat* stat) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  struct ACL_vector acl {};
  struct Stat st {};
  int rc = zoo_get_acl(zh_, path.c_str(), &acl, &st);
  if (rc != ZOK) return FromZkCode(rc, "get ACL of " + path);
  ZkAcl out;
  out.reserve(static_cast<size_t>(acl.count));
  for (int i = 0; i < acl.count; ++i) {
    const struct ACL& a = acl.data[i];
    out.push_back({a.perms, a.id.scheme ? a.id.scheme : "", a.id.id ? a.id.id : ""});
  }
  deallocate_ACL_vector(&acl);
  if (stat) *stat = ToZkStat(st);
  return out;
}

Status ZkClient::ResetAcl(const std::string& path) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  int rc = zoo_set_acl(zh_, path.c_str(), -1, c_acl_vector_.get());
  return FromZkCode(rc, "set ACL of " + path);
}

Status ZkClient::EnsurePath(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    Result<std::string> r = Create(prefix, "", 0);
    if (!r.ok() && !r.status().IsConflict()) return r.status();
  }
  return Status::Ok();
}

namespace {

// The op paths of a zoo_multi() call, in memory of their own from malloc().
// Why: in CI (2026-12-02, the paused-leader test under ASan) zoo_multi()
// free()d the path of one of our ops: the session turned unrecoverable (its
// I/O thread had found it expired) while zoo_amulti() was building the
// request. Our reading of libzookeeper 3.8: once one op fails to set up,
// the ops after it skip their setup but still call
// free_duplicate_path(req.path, op_path), with req.path left over from an
// earlier op, which then is free()d. With the paths in our strings that was
// a free() of operator new's memory (ASan's abort; heap corruption in a
// release build). Here such a free() hits one of these copies, so after a
// call that failed while building (which copies it freed is not knowable)
// they are kept, never freed again: parked, still reachable, which costs
// the paths of one multi per such rare failure.
class MultiPaths {
 public:
  explicit MultiPaths(const std::vector<ZkOp>& ops) {
    copies_.reserve(ops.size());
    for (const ZkOp& op : ops) copies_.push_back(strdup(op.path.c_str()));
  }
  ~MultiPaths() {
    if (!keep_) {
      for (char* p : copies_) free(p);  // NOLINT: strdup's memory
      return;
    }
    std::lock_guard lock(ParkedMu());
    for (char* p : copies_) Parked().push_back(p);
  }
  MultiPaths(const MultiPaths&) = delete;
  MultiPaths& operator=(const MultiPaths&) = delete;

  bool ok() const {
    for (const char* p : copies_) {
      if (p == nullptr) return false;
    }
    return true;
  }
  const char* operator[](size_t i) const { return copies_[i]; }
  // The call failed before its request was sent (rc from building it).
  void KeepAfter(int rc) {
    keep_ = rc == ZMARSHALLINGERROR || rc == ZINVALIDSTATE || rc == ZBADARGUMENTS;
  }

 private:
  static std::mutex& ParkedMu() {
    static std::mutex mu;
    return mu;
  }
  static std::vector<char*>& Parked() {
    static auto* parked = new std::vector<char*>();  // never destroyed: reachable
    return *parked;
  }
  std::vector<char*> copies_;
  bool keep_ = false;
};

}  // namespace

Status ZkClient::Multi(const std::vector<ZkOp>& ops, std::vector<ZkOpResult>* results) {
  JCM_ZK_HANDLE_OR_RETURN(lock);
  const int n = static_cast<int>(ops.size());
  std::vector<zoo_op_t> zops(n);
  std::vector<zoo_op_result_t> zres(n);
  std::vector<struct Stat> stats(n);
  std::vector<std::string> paths(n);
  MultiPaths op_paths(ops);
  if (!op_paths.ok()) return Status::Internal("multi: out of memory for its paths");
  for (int i = 0; i < n; ++i) {
    const ZkOp& op = ops[i];
    switch (op.kind) {
      case ZkOp::Kind::kCreate:
        paths[i].assign(op.path.size() + 32, '\0');
        zoo_create_op_init(&zops[i], op_paths[i], op.data.data(), static_cast<int>(op.data.size()),
                           c_acl_vector_.get(), CreateFlags(op.create_flags), paths[i].data(),
                           static_cast<int>(paths[i].size()));
        break;
      case ZkOp::Kind::kSet:
        zoo_set_op_init(&zops[i], op_paths[i], op.data.data(), static_cast<int>(op.data.size()),
                        op.version, &stats[i]);
        break;
      case ZkOp::Kind::kDelete:
        zoo_delete_op_init(&zops[i], op_paths[i], op.version);
        break;
      case ZkOp::Kind::kCheck:
        zoo_check_op_init(&zops[i], op_paths[i], op.version);
        break;
    }
  }
  int rc = zoo_multi(zh_, n, zops.data(), zres.data());
  op_paths.KeepAfter(rc);
  Status first_failure;
  if (results) results->assign(n, ZkOpResult{});
  for (int i = 0; i < n; ++i) {
    Status s = FromZkCode(zres[i].err, "multi op " + std::to_string(i) + " on " + ops[i].path);
    // ZRUNTIMEINCONSISTENCY marks the ops rolled back because another failed.
    if (!s.ok() && zres[i].err != ZRUNTIMEINCONSISTENCY && first_failure.ok()) first_failure = s;
    if (results) {
      (*results)[i].status = s;
      if (ops[i].kind == ZkOp::Kind::kSet && zres[i].err == ZOK) {
        (*results)[i].stat = ToZkStat(stats[i]);
      }
      if (ops[i].kind == ZkOp::Kind::kCreate && zres[i].err == ZOK) {
        (*results)[i].created_path = std::string(paths[i].c_str());
      }
    }
  }
  if (rc == ZOK) return Status::Ok();
  if (!first_failure.ok()) return first_failure;
  return FromZkCode(rc, "multi");
}

}  // namespace jcm
