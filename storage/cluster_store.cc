#include "storage/cluster_store.h"

#include <spdlog/spdlog.h>

#include "model/cluster_codec.h"
#include "model/limits.h"
#include "model/validation.h"
#include "storage/compression.h"
#include "storage/stored_cluster_codec.h"

namespace jcm {

namespace {

// Starts the message of every IsUnreadable() status.
constexpr std::string_view kUnreadablePrefix = "stored cluster ";

// The fence check is op 0 of every write; its failure means leadership is gone.
Status FenceOrWriteFailure(const std::vector<ZkOpResult>& results, const Status& overall,
                           const std::string& fence) {
  if (!results.empty() && results[0].status.IsNotFound()) {
    return Status::NotLeader("election znode " + fence + " is gone: leadership lost");
  }
  return overall;
}

}  // namespace

ClusterStore::ClusterStore(ZkApi* zk, std::string root) : zk_(zk), root_(std::move(root)) {}

std::string ClusterStore::ClusterPath(std::string_view name) const {
  return ClustersDir() + "/" + std::string(name);
}

std::string ClusterStore::NameFromPath(std::string_view path) const {
  std::string prefix = ClustersDir() + "/";
  if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return {};
  std::string_view name = path.substr(prefix.size());
  if (name.find('/') != std::string_view::npos) return {};
  return std::string(name);
}

Status ClusterStore::EnsureLayout() {
  for (const std::string& dir : LayoutDirs()) {
    Status s = zk_->EnsurePath(root_ + dir);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::string> ClusterStore::Encode(const Cluster& cluster) {
  std::string json = StoredClusterCodec::Encode(cluster);
  std::string bytes = json.size() > kCompressAbove ? ZlibCompress(json) : std::move(json);
  if (bytes.size() > limits::kMaxZnodeBytes) {
    return Status::TooLarge(
        "cluster '" + cluster.name + "' encodes to " + std::to_string(bytes.size()) + " bytes (" +
        std::to_string(cluster.nodes.size()) + " nodes), over the ZooKeeper limit of " +
        std::to_string(limits::kMaxZnodeBytes) + " bytes");
  }
  return bytes;
}

Status ClusterStore::Decode(std::string_view bytes, Cluster* out) {
  // The decoders return a Status for every input; this catches what no input
  // check can rule out (an allocation failing), so nothing escapes either way.
  try {
    return DecodeUnchecked(bytes, nullptr, out);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("stored cluster: decoding failed: ") + e.what());
  }
}

Status ClusterStore::DecodeUnchecked(std::string_view bytes,
                                     StoredClusterCodec::FragmentCache* cache, Cluster* out) {
  std::string text;
  if (!bytes.empty() && bytes[0] != '{') {
    // Capped: a hostile znode of 1 MB could otherwise inflate to 1 GB.
    Result<std::string> r = ZlibDecompress(bytes, limits::kMaxInflatedClusterBytes);
    if (!r.ok()) return r.status();
    text = std::move(r).value();
  } else {
    text.assign(bytes);
  }
  return StoredClusterCodec::Decode(std::move(text), cache, out);
}

std::unique_ptr<StoredClusterCodec::FragmentCache> ClusterStore::TakeCache(
    const std::string& name) {
  std::lock_guard lock(cache_mu_);
  auto it = caches_.find(name);
  if (it == caches_.end()) return std::make_unique<StoredClusterCodec::FragmentCache>();
  std::unique_ptr<StoredClusterCodec::FragmentCache> c = std::move(it->second);
  caches_.erase(it);
  return c;
}

void ClusterStore::ReturnCache(const std::string& name,
                               std::unique_ptr<StoredClusterCodec::FragmentCache> cache) {
  std::lock_guard lock(cache_mu_);
  // A concurrent decode of the same cluster may have returned one first;
  // either is a correct cache (its keys are node texts).
  caches_.emplace(name, std::move(cache));
}

void ClusterStore::DropCache(const std::string& name) {
  std::lock_guard lock(cache_mu_);
  caches_.erase(name);
}

size_t ClusterStore::CachedNodes(const std::string& name) const {
  std::lock_guard lock(cache_mu_);
  auto it = caches_.find(name);
  return it == caches_.end() ? 0 : it->second->size();
}

bool ClusterStore::IsUnreadable(const Status& status) {
  return status.code() == Status::Code::kInternal &&
         status.message().compare(0, kUnreadablePrefix.size(), kUnreadablePrefix) == 0;
}

Result<std::vector<std::string>> ClusterStore::ListNames(bool watch, int64_t* pzxid) {
  ZkStat stat;
  Result<std::vector<std::string>> names = zk_->GetChildren(ClustersDir(), watch, &stat);
  if (names.ok() && pzxid != nullptr) *pzxid = stat.pzxid;
  return names;
}

Result<StoredCluster> ClusterStore::Load(const std::string& name, bool watch,
                                         int64_t held_version) {
  ZkStat stat;
  const std::string path = ClusterPath(name);
  Result<std::string> data = zk_->Get(path, &stat, watch);
  if (!data.ok()) {
    if (data.status().IsNotFound()) {
      bad_log_.Clear(path);
      DropCache(name);
    }
    return data.status();
  }
  if (held_version > 0 && stat.mzxid <= held_version) {
    StoredCluster out;
    out.not_newer = true;
    out.cluster.name = name;
    out.cluster.version = stat.mzxid;
    out.znode_version = stat.version;
    out.czxid = stat.czxid;
    return out;
  }
  return DecodeLoaded(name, path, data.value(), stat);
}

Result<StoredCluster> ClusterStore::DecodeLoaded(const std::string& name, const std::string& path,
                                                 std::string_view bytes, const ZkStat& stat) {
  if (bad_log_.Reported(path, stat.mzxid)) {
    return Status::Internal(std::string(kUnreadablePrefix) + path + " (mzxid " +
                            std::to_string(stat.mzxid) + ") is unreadable, as logged");
  }
  StoredCluster out;
  // The previous version's nodes, by their text: only changed nodes are
  // parsed (see StoredClusterCodec).
  std::unique_ptr<StoredClusterCodec::FragmentCache> cache = TakeCache(name);
  Status s;
  try {
    s = DecodeUnchecked(bytes, cache.get(), &out.cluster);
  } catch (const std::exception& e) {
    s = Status::Internal(std::string("stored cluster: decoding failed: ") + e.what());
  }
  ReturnCache(name, std::move(cache));
  if (s.ok() && out.cluster.name != name) {
    // A definition copied under another name would shadow the real one.
    s = Status::InvalidArgument("name: " + QuoteForError(out.cluster.name) +
                                " is not the znode's name");
  }
  if (!s.ok()) {
    if (bad_log_.FirstReport(path, stat.mzxid)) {
      spdlog::error("event=cluster_znode_unreadable path={} mzxid={} bytes={} error=\"{}\"", path,
                    stat.mzxid, bytes.size(), s.ToString());
    }
    return Status::Internal(std::string(kUnreadablePrefix) + path + " (mzxid " +
                            std::to_string(stat.mzxid) + ") is unreadable: " + s.ToString());
  }
  bad_log_.Clear(path);
  out.cluster.version = stat.mzxid;
  out.znode_version = stat.version;
  out.czxid = stat.czxid;
  return out;
}

std::vector<LoadResult> ClusterStore::LoadMany(const std::vector<std::string>& names, bool watch) {
  std::vector<std::string> paths;
  paths.reserve(names.size());
  for (const std::string& n : names) paths.push_back(ClusterPath(n));
  std::vector<ZkGetResult> got = zk_->GetMany(paths, watch);
  std::vector<LoadResult> out;
  out.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (!got[i].status.ok()) {
      out.emplace_back(got[i].status);
      continue;
    }
    out.emplace_back(DecodeLoaded(names[i], paths[i], got[i].data, got[i].stat));
  }
  return out;
}

Result<int64_t> ClusterStore::ClustersDirPzxid() {
  ZkStat stat;
  Status s = zk_->Exists(ClustersDir(), &stat, false);
  if (!s.ok()) return s;
  return stat.pzxid;
}

Result<StoredCluster> ClusterStore::Save(Cluster cluster, int32_t expected_znode_version,
                                         const std::string& fence) {
  Result<std::string> bytes = Encode(cluster);
  if (!bytes.ok()) return bytes.status();
  const std::string path = ClusterPath(cluster.name);
  std::vector<ZkOp> ops;
  ops.push_back(ZkOp::Check(fence, -1));
  if (expected_znode_version < 0) {
    // Create empty, then set in the same transaction: the set's Stat gives
    // the version (mzxid) of exactly this write, which create does not.
    ops.push_back(ZkOp::Create(path, "", 0));
    ops.push_back(ZkOp::Set(path, std::move(bytes).value(), 0));
  } else {
    ops.push_back(ZkOp::Set(path, std::move(bytes).value(), expected_znode_version));
  }
  std::vector<ZkOpResult> results;
  Status s = zk_->Multi(ops, &results);
  if (!s.ok()) {
    s = FenceOrWriteFailure(results, s, fence);
    // A set on a missing znode means someone deleted it: a conflict too.
    if (s.IsNotFound()) return Status::Conflict(s.message());
    return s;
  }
  StoredCluster out;
  out.cluster = std::move(cluster);
  out.cluster.version = results.back().stat.mzxid;
  out.znode_version = results.back().stat.version;
  out.czxid = results.back().stat.czxid;
  return out;
}

Result<int64_t> ClusterStore::Remove(const std::string& name, int32_t expected_znode_version,
                                     const std::string& fence) {
  std::vector<ZkOp> ops = {ZkOp::Check(fence, -1),
                           ZkOp::Delete(ClusterPath(name), expected_znode_version),
                           ZkOp::Set(ClustersDir(), "", -1)};
  std::vector<ZkOpResult> results;
  Status s = zk_->Multi(ops, &results);
  if (s.ok()) {
    DropCache(name);
    return results.back().stat.mzxid;
  }
  s = FenceOrWriteFailure(results, s, fence);
  if (s.IsNotFound()) return Status::Conflict(s.message());
  return s;
}

}  // namespace jcm
