#include "storage/cluster_store.h"

#include "model/cluster_codec.h"
#include "model/limits.h"
#include "storage/compression.h"

namespace jcm {

namespace {

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
  for (const char* dir : {"/clusters", "/servers", "/status"}) {
    Status s = zk_->EnsurePath(root_ + dir);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::string> ClusterStore::Encode(const Cluster& cluster) {
  std::string json = EncodeCluster(cluster, ClusterJsonForm::kStored).dump();
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
  std::string inflated;
  if (!bytes.empty() && bytes[0] != '{') {
    // Stored clusters are bounded by the znode size; a ratio of 64 is far
    // beyond what cluster JSON compresses to.
    Result<std::string> r = ZlibDecompress(bytes, 64 * limits::kMaxZnodeBytes);
    if (!r.ok()) return r.status();
    inflated = std::move(r).value();
    bytes = inflated;
  }
  nlohmann::json doc;
  Status s = ParseJsonText(bytes, &doc);
  if (!s.ok()) return s;
  return DecodeCluster(doc, out);
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
  Result<std::string> data = zk_->Get(ClusterPath(name), &stat, watch);
  if (!data.ok()) return data.status();
  StoredCluster out;
  if (held_version > 0 && stat.mzxid <= held_version) {
    out.not_newer = true;
    out.cluster.name = name;
    out.cluster.version = stat.mzxid;
    out.znode_version = stat.version;
    out.czxid = stat.czxid;
    return out;
  }
  Status s = Decode(data.value(), &out.cluster);
  if (!s.ok()) {
    return Status::Internal("stored cluster " + ClusterPath(name) +
                            " is unreadable: " + s.ToString());
  }
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
    StoredCluster c;
    Status s = Decode(got[i].data, &c.cluster);
    if (!s.ok()) {
      out.emplace_back(
          Status::Internal("stored cluster " + paths[i] + " is unreadable: " + s.ToString()));
      continue;
    }
    c.cluster.version = got[i].stat.mzxid;
    c.znode_version = got[i].stat.version;
    c.czxid = got[i].stat.czxid;
    out.emplace_back(std::move(c));
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
  if (s.ok()) return results.back().stat.mzxid;
  s = FenceOrWriteFailure(results, s, fence);
  if (s.IsNotFound()) return Status::Conflict(s.message());
  return s;
}

}  // namespace jcm
