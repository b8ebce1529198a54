// ClusterStore's write paths: Save (inline, changed buckets, full rewrites)
// and Remove. See cluster_store.h for the stored forms.
#include <algorithm>
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "model/limits.h"
#include "storage/cluster_store.h"
#include "storage/compression.h"

namespace jcm {

namespace {

using Bucket = ClusterBucketState::Bucket;
using Form = ClusterBucketState::Form;

// The fence check is op 0 of every write; its failure means leadership is gone.
Status FenceOrWriteFailure(const std::vector<ZkOpResult>& results, const Status& overall,
                           const std::string& fence) {
  if (!results.empty() && results[0].status.IsNotFound()) {
    return Status::NotLeader("election znode " + fence + " is gone: leadership lost");
  }
  return overall;
}

// A failed multi as Save() and Remove() report it.
Status WriteFailure(const std::vector<ZkOpResult>& results, const Status& overall,
                    const std::string& fence) {
  Status s = FenceOrWriteFailure(results, overall, fence);
  // A set on a missing znode means someone deleted it: a conflict too.
  if (s.IsNotFound()) return Status::Conflict(s.message());
  return s;
}

// What an op costs of a request, framing included (generously).
size_t OpBytes(const ZkOp& op) { return op.path.size() + op.data.size() + 64; }

// Deletes of `children` of `path`: into `now` while the request (already
// `size` bytes) stays within `max_bytes`, the rest into `later`.
void SplitDeletes(const std::string& path, const std::vector<std::string>& children, size_t size,
                  size_t max_bytes, std::vector<ZkOp>* now, std::vector<ZkOp>* later) {
  for (const std::string& c : children) {
    ZkOp del = ZkOp::Delete(path + "/" + c, -1);
    if (size + OpBytes(del) <= max_bytes) {
      size += OpBytes(del);
      now->push_back(std::move(del));
    } else {
      later->push_back(std::move(del));
    }
  }
}

StoredCluster StoredAt(Cluster cluster, const ZkStat& stat) {
  StoredCluster out;
  out.cluster = std::move(cluster);
  out.cluster.version = stat.mzxid;
  out.znode_version = stat.version;
  out.czxid = stat.czxid;
  return out;
}

// The cluster without its nodes (every other field, whatever fields a
// Cluster grows).
Cluster FieldsOf(const Cluster& cluster) {
  Cluster fields = cluster;  // shares the node chunks, then drops them
  fields.nodes.clear();
  return fields;
}

Result<std::string> InlineBytes(const Cluster& cluster, std::string json) {
  std::string bytes =
      json.size() > ClusterStore::kCompressAbove ? ZlibCompress(json) : std::move(json);
  if (bytes.size() > limits::kMaxZnodeBytes) {
    return Status::TooLarge(
        "cluster '" + cluster.name + "' encodes to " + std::to_string(bytes.size()) + " bytes (" +
        std::to_string(cluster.nodes.size()) + " nodes), over the ZooKeeper limit of " +
        std::to_string(limits::kMaxZnodeBytes) + " bytes");
  }
  return bytes;
}

}  // namespace

Result<std::string> ClusterStore::Encode(const Cluster& cluster) {
  return InlineBytes(cluster, StoredClusterCodec::Encode(cluster));
}

Result<StoredCluster> ClusterStore::Save(Cluster cluster, int32_t expected_znode_version,
                                         const std::string& fence, const ClusterChanges* changes) {
  std::shared_ptr<Entry> entry = EntryFor(cluster.name);
  std::lock_guard lock(entry->mu);
  Result<StoredCluster> r =
      SaveLocked(entry.get(), std::move(cluster), expected_znode_version, fence, changes);
  if (!r.ok()) {
    // Refused, or lost on the way (it may have applied): what is stored is
    // read again before the next write. The buckets held stay usable: only
    // those whose version moved are read.
    entry->buckets.header_version = -1;
    entry->buckets.swept = false;
  }
  return r;
}

Result<StoredCluster> ClusterStore::SaveLocked(Entry* entry, Cluster cluster, int32_t expected,
                                               const std::string& fence,
                                               const ClusterChanges* changes) {
  ClusterBucketState& st = entry->buckets;
  const std::string path = ClusterPath(cluster.name);
  if (expected < 0) {
    std::string json = StoredClusterCodec::Encode(cluster);
    const size_t json_size = json.size();
    const uint32_t buckets =
        json_size <= ClusterBuckets::kBucketAbove
            ? 0
            : ClusterBuckets::ChooseBuckets(cluster.nodes.size(), json_size, 0);
    st.Clear();
    Result<StoredCluster> r = buckets == 0
                                  ? WriteInline(cluster, std::move(json), -1, fence, {}, &st)
                                  : RewriteBucketed(cluster, -1, buckets, fence, &st);
    if (r.ok() || !r.status().IsConflict()) return r;
    // The znode exists. The placeholder of a creation that never finished
    // (its leader died) is taken over; anything else is a conflict.
    ZkStat stat;
    Result<std::string> data = zk_->Get(path, &stat, false);
    ClusterBuckets::Header h;
    if (!data.ok() || !ClusterBuckets::IsHeader(data.value()) ||
        !ClusterBuckets::DecodeHeader(data.value(), &h).ok() || !h.placeholder) {
      return r;
    }
    spdlog::warn("event=cluster_placeholder_taken_over path={}", path);
    st.Clear();
    st.form = Form::kUnreadable;
    st.header_version = stat.version;
    if (buckets > 0) return RewriteBucketed(cluster, stat.version, buckets, fence, &st);
    Result<std::vector<std::string>> children = zk_->GetChildren(path, false);
    if (!children.ok()) return children.status();
    return WriteInline(cluster, StoredClusterCodec::Encode(cluster), stat.version, fence,
                       children.value(), &st);
  }
  Status s = EnsureState(path, expected, &st);
  if (!s.ok()) return s;
  if (!st.swept && st.form != Form::kUnreadable) {
    s = SweepLeftovers(path, fence, st);
    if (s.code() == Status::Code::kNotLeader) return s;
    st.swept = s.ok();
  }
  if (st.form == Form::kBuckets) {
    StoredCluster out;
    std::optional<uint32_t> rewrite;
    s = WriteChangedBuckets(cluster, expected, fence, changes, &st, &out, &rewrite);
    if (!s.ok()) return s;
    if (!rewrite) return out;
    if (*rewrite > 0) return RewriteBucketed(cluster, expected, *rewrite, fence, &st);
    Result<std::vector<std::string>> children = zk_->GetChildren(path, false);
    if (!children.ok()) return children.status();
    return WriteInline(cluster, StoredClusterCodec::Encode(cluster), expected, fence,
                       children.value(), &st);
  }
  // Inline (or unreadable: rewritten whole, whichever form it wants).
  std::string json = StoredClusterCodec::Encode(cluster);
  if (json.size() > ClusterBuckets::kBucketAbove) {
    // Grown past the line, or the first write of a large cluster an older
    // jcm stored inline: migrate it to buckets.
    const uint32_t buckets = ClusterBuckets::ChooseBuckets(cluster.nodes.size(), json.size(), 0);
    return RewriteBucketed(cluster, expected, buckets, fence, &st);
  }
  std::vector<std::string> children;
  if (st.form != Form::kInline || !st.swept) {
    Result<std::vector<std::string>> listed = zk_->GetChildren(path, false);
    if (!listed.ok()) return listed.status();
    children = std::move(listed).value();
  }
  return WriteInline(cluster, std::move(json), expected, fence, children, &st);
}

Status ClusterStore::EnsureState(const std::string& path, int32_t expected,
                                 ClusterBucketState* st) {
  if (st->form != Form::kUnknown && st->header_version == expected) return Status::Ok();
  ZkStat stat;
  Result<std::string> data = zk_->Get(path, &stat, false);
  if (!data.ok()) {
    if (data.status().IsNotFound()) return Status::Conflict(path + " is gone");
    return data.status();
  }
  if (stat.version != expected) {
    return Status::Conflict(path + " is at version " + std::to_string(stat.version) + ", not " +
                            std::to_string(expected));
  }
  if (!ClusterBuckets::IsHeader(data.value())) {
    // The writer needs nothing of an inline cluster's nodes. (Coming from
    // another form, old buckets may be left: not swept.)
    if (st->form != Form::kInline) st->Clear();
    st->form = Form::kInline;
    st->header_version = stat.version;
    st->header_mzxid = stat.mzxid;
    return Status::Ok();
  }
  ClusterBuckets::Header h;
  Status s = ClusterBuckets::DecodeHeader(data.value(), &h);
  if (s.ok() && h.placeholder) return Status::Conflict(path + " is a creation in progress");
  if (s.ok()) s = RefreshBuckets(path, h, stat, st);
  if (s.ok() || s.IsUnavailable()) return s;
  // A header or bucket that does not decode, or a bucket not as the header
  // says: the write replaces the whole cluster (a new generation).
  spdlog::warn("event=cluster_rewritten_whole path={} reason=\"{}\"", path, s.ToString());
  st->Clear();
  st->form = Form::kUnreadable;
  st->header_version = stat.version;
  st->header_mzxid = stat.mzxid;
  return Status::Ok();
}

Result<StoredCluster> ClusterStore::WriteInline(Cluster& cluster, std::string json,
                                                int32_t expected, const std::string& fence,
                                                const std::vector<std::string>& children,
                                                ClusterBucketState* st) {
  Result<std::string> bytes = InlineBytes(cluster, std::move(json));
  if (!bytes.ok()) return bytes.status();
  const std::string path = ClusterPath(cluster.name);
  std::vector<ZkOp> ops;
  ops.push_back(ZkOp::Check(fence, -1));
  // Old buckets go in the same multi as far as they fit, the rest after:
  // once the cluster znode holds the whole document nothing reads them.
  std::vector<ZkOp> later;
  SplitDeletes(path, children, bytes->size() + 64, kMaxMultiBytes, &ops, &later);
  if (expected < 0) {
    // Create empty, then set in the same transaction: the set's Stat gives
    // the version (mzxid) of exactly this write, which create does not.
    ops.push_back(ZkOp::Create(path, "", 0));
    ops.push_back(ZkOp::Set(path, std::move(bytes).value(), 0));
  } else {
    ops.push_back(ZkOp::Set(path, std::move(bytes).value(), expected));
  }
  std::vector<ZkOpResult> results;
  Status s = zk_->Multi(ops, &results);
  if (!s.ok()) return WriteFailure(results, s, fence);
  const ZkStat& stat = results.back().stat;
  st->Clear();
  st->form = Form::kInline;
  st->header_version = stat.version;
  st->header_mzxid = stat.mzxid;
  st->written_mzxid = stat.mzxid;
  st->swept = later.empty() || MultiInBatches(later, fence).ok();
  return StoredAt(std::move(cluster), stat);
}

Result<StoredCluster> ClusterStore::RewriteBucketed(Cluster& cluster, int32_t expected, uint32_t nb,
                                                    const std::string& fence,
                                                    ClusterBucketState* st) {
  const std::string path = ClusterPath(cluster.name);
  std::vector<std::string> children;
  if (expected >= 0) {
    Result<std::vector<std::string>> listed = zk_->GetChildren(path, false);
    if (!listed.ok()) {
      if (listed.status().IsNotFound()) return Status::Conflict(path + " is gone");
      return listed.status();
    }
    children = std::move(listed).value();
  }
  // A generation no child has used: a rewrite that never switched may have
  // left buckets of the next one.
  uint64_t generation = st->form == Form::kBuckets ? st->generation : 0;
  for (const std::string& c : children) {
    uint64_t g = 0;
    uint32_t i = 0;
    if (ClusterBuckets::ParseBucketName(c, &g, &i)) generation = std::max(generation, g);
  }
  ++generation;

  std::vector<Bucket> buckets(nb);
  for (const Node& n : cluster.nodes) {
    std::string spec = n.Spec();
    Bucket& b = buckets[ClusterBuckets::BucketOf(spec, nb)];
    b.nodes.push_back(n);
    b.specs.push_back(std::move(spec));
  }
  std::vector<ZkOp> creates;
  creates.reserve(nb);
  size_t stored = 0;
  for (uint32_t i = 0; i < nb; ++i) {
    std::string data =
        ClusterBuckets::EncodeBucket(buckets[i].nodes, &buckets[i].json_bytes, &buckets[i].texts);
    buckets[i].stored_bytes = data.size();
    stored += data.size();
    creates.push_back(
        ZkOp::Create(path + "/" + ClusterBuckets::BucketName(generation, i), std::move(data)));
  }
  if (stored > limits::kMaxZnodeBytes) {
    return Status::TooLarge("cluster '" + cluster.name + "' encodes to " + std::to_string(stored) +
                            " bytes (" + std::to_string(cluster.nodes.size()) + " nodes in " +
                            std::to_string(nb) + " buckets), over the limit of " +
                            std::to_string(limits::kMaxZnodeBytes) + " bytes a cluster may store");
  }
  ClusterBuckets::Header h;
  h.cluster = FieldsOf(cluster);
  h.generation = generation;
  h.node_count = static_cast<uint32_t>(cluster.nodes.size());
  h.versions.assign(nb, 0);
  std::string header = ClusterBuckets::EncodeHeader(h);

  std::vector<ZkOpResult> results;
  size_t total = header.size() + 128;
  for (const ZkOp& op : creates) total += OpBytes(op);
  std::vector<ZkOp> final_ops;
  std::vector<ZkOp> later;
  std::vector<std::string> created;  // buckets written so far, for the clean-up of a failure
  bool placeholder_made = false;
  if (expected < 0 && total <= kMaxMultiBytes) {
    // Small enough for one transaction: the cluster appears whole.
    final_ops.push_back(ZkOp::Check(fence, -1));
    final_ops.push_back(ZkOp::Create(path, "", 0));
    for (ZkOp& op : creates) final_ops.push_back(std::move(op));
    final_ops.push_back(ZkOp::Set(path, std::move(header), 0));
  } else {
    // Buckets first, in multis under the request limit: nothing reads them
    // until the header names their generation. A creation makes the cluster
    // znode with a placeholder in the first one (the buckets' parent), which
    // readers take for "not there yet".
    std::vector<ZkOp> batch{ZkOp::Check(fence, -1)};
    size_t size = 0;
    if (expected < 0) {
      batch.push_back(ZkOp::Create(path, ClusterBuckets::EncodePlaceholder(), 0));
      size += OpBytes(batch.back());
    }
    Status s;
    auto flush = [&] {
      std::vector<ZkOpResult> r;
      s = zk_->Multi(batch, &r);
      if (!s.ok()) {
        s = WriteFailure(r, s, fence);
        return;
      }
      for (size_t k = 1; k < batch.size(); ++k) {
        if (batch[k].path != path) created.push_back(batch[k].path);
      }
      placeholder_made = true;  // (made by the first batch of a creation)
      batch.resize(1);
      size = 0;
    };
    for (ZkOp& op : creates) {
      if (batch.size() > 1 && size + OpBytes(op) > kMaxMultiBytes) {
        flush();
        if (!s.ok()) break;
      }
      size += OpBytes(op);
      batch.push_back(std::move(op));
    }
    if (s.ok() && batch.size() > 1) flush();
    if (!s.ok()) {
      Undo(path, created, expected < 0 && placeholder_made, fence);
      return s;
    }
    // Switch: the header names the new generation; old buckets go in the
    // same multi as far as they fit, the rest after (nothing reads them).
    final_ops.push_back(ZkOp::Check(fence, -1));
    SplitDeletes(path, children, header.size() + 64, kMaxMultiBytes, &final_ops, &later);
    final_ops.push_back(ZkOp::Set(path, std::move(header), expected < 0 ? 0 : expected));
  }
  Status s = zk_->Multi(final_ops, &results);
  if (!s.ok()) {
    s = WriteFailure(results, s, fence);
    Undo(path, created, expected < 0 && placeholder_made, fence);
    return s;
  }
  const ZkStat stat = results.back().stat;
  st->Clear();
  st->form = Form::kBuckets;
  st->czxid = stat.czxid;
  st->generation = generation;
  st->fields = std::move(h.cluster);
  st->buckets = std::move(buckets);
  st->header_version = stat.version;
  st->header_mzxid = stat.mzxid;
  st->written_mzxid = stat.mzxid;
  st->swept = later.empty() || MultiInBatches(later, fence).ok();
  spdlog::info("event=cluster_rewritten path={} generation={} buckets={} nodes={} bytes={}", path,
               generation, nb, cluster.nodes.size(), stored);
  return StoredAt(std::move(cluster), stat);
}

Status ClusterStore::WriteChangedBuckets(Cluster& cluster, int32_t expected,
                                         const std::string& fence, const ClusterChanges* changes,
                                         ClusterBucketState* st, StoredCluster* out,
                                         std::optional<uint32_t>* rewrite) {
  const uint32_t nb = static_cast<uint32_t>(st->buckets.size());
  const NodeList& nodes = cluster.nodes;
  const size_t n = nodes.size();
  std::map<uint32_t, Bucket> work;  // the new content of each bucket that changes
  bool planned = false;
  // What the header tells a reader holding the previous one (no delta when
  // the changes are not known, or too many).
  std::optional<ClusterBuckets::Delta> delta;
  if (changes != nullptr) {
    BucketEdit edit(*st, BucketEdit::Mode::kCopy);
    planned = true;
    for (const std::string& spec : changes->removed) edit.Remove(spec);
    for (size_t p : changes->touched) {
      if (p >= n) {
        planned = false;
        break;
      }
      edit.Set(nodes[p], nodes[p].Spec());
    }
    // The changes must account for every node: otherwise (a node whose
    // spec was edited in place, say) compare everything.
    planned = planned && edit.NodeCount() == n;
    if (planned) {
      work = edit.Finish();
      if (st->header_mzxid > 0 &&
          changes->removed.size() + changes->touched.size() <= ClusterBuckets::kMaxDeltaEntries) {
        delta.emplace();
        delta->base = st->header_mzxid;
        delta->removed = changes->removed;
        delta->set.reserve(changes->touched.size());
        for (size_t p : changes->touched) delta->set.push_back(nodes[p]);
      }
    }
  }
  if (!planned) {
    work.clear();
    std::vector<std::vector<size_t>> groups(nb);
    std::vector<std::string> specs(n);
    for (size_t p = 0; p < n; ++p) {
      specs[p] = nodes[p].Spec();
      groups[ClusterBuckets::BucketOf(specs[p], nb)].push_back(p);
    }
    for (uint32_t b = 0; b < nb; ++b) {
      const Bucket& old = st->buckets[b];
      bool same = groups[b].size() == old.nodes.size();
      for (size_t k = 0; same && k < groups[b].size(); ++k) {
        same =
            nodes[groups[b][k]].SameDefinition(old.nodes[k]) && specs[groups[b][k]] == old.specs[k];
      }
      if (same) continue;
      Bucket& w = work[b];
      for (size_t p : groups[b]) {
        w.nodes.push_back(nodes[p]);
        w.specs.push_back(std::move(specs[p]));
      }
    }
  }
  size_t json = st->json_bytes();
  size_t stored = st->stored_bytes();
  std::map<uint32_t, std::string> data;
  for (auto& [b, w] : work) {
    // A planned bucket has every node's text (only the new ones were
    // encoded): joining them is the encode.
    std::string bytes = planned ? ClusterBuckets::EncodeTexts(w.texts)
                                : ClusterBuckets::EncodeBucket(w.nodes, &w.json_bytes, &w.texts);
    w.stored_bytes = bytes.size();
    json = json - st->buckets[b].json_bytes + w.json_bytes;
    stored = stored - st->buckets[b].stored_bytes + w.stored_bytes;
    data.emplace(b, std::move(bytes));
  }
  if (stored > limits::kMaxZnodeBytes) {
    return Status::TooLarge("cluster '" + cluster.name + "' would store " + std::to_string(stored) +
                            " bytes (" + std::to_string(n) + " nodes in " + std::to_string(nb) +
                            " buckets), over the limit of " +
                            std::to_string(limits::kMaxZnodeBytes) + " bytes a cluster may store");
  }
  if (json < ClusterBuckets::kInlineBelow) {
    *rewrite = 0;  // small again: inline
    return Status::Ok();
  }
  const uint32_t want = ClusterBuckets::ChooseBuckets(n, json, nb);
  if (want != nb) {
    *rewrite = want;  // doubled or halved: a new bucket count
    return Status::Ok();
  }
  ClusterBuckets::Header h;
  h.cluster = FieldsOf(cluster);
  h.generation = st->generation;
  h.node_count = static_cast<uint32_t>(n);
  h.versions.resize(nb);
  for (uint32_t b = 0; b < nb; ++b) h.versions[b] = st->buckets[b].version;
  h.delta = std::move(delta);
  // The write before was this writer's too, and nothing since: readers two
  // writes behind can apply both.
  if (h.delta && st->last_delta && st->last_delta_mzxid == st->header_mzxid) {
    h.previous = st->last_delta;
  }
  const std::string path = ClusterPath(cluster.name);
  std::vector<ZkOp> ops;
  ops.reserve(work.size() + 2);
  ops.push_back(ZkOp::Check(fence, -1));
  size_t size = 0;
  for (auto& [b, bytes] : data) {
    ops.push_back(ZkOp::Set(path + "/" + ClusterBuckets::BucketName(st->generation, b),
                            std::move(bytes), st->buckets[b].version));
    size += OpBytes(ops.back());
    ++h.versions[b];
  }
  std::string header_bytes = ClusterBuckets::EncodeHeader(h);
  if (h.previous && header_bytes.size() > ClusterBuckets::kMaxHeaderWithDeltaBytes) {
    h.previous.reset();  // large nodes: the last write's changes only
    header_bytes = ClusterBuckets::EncodeHeader(h);
  }
  if (h.delta && header_bytes.size() > ClusterBuckets::kMaxHeaderWithDeltaBytes) {
    h.delta.reset();  // larger still: readers read their buckets instead
    header_bytes = ClusterBuckets::EncodeHeader(h);
  }
  ops.push_back(ZkOp::Set(path, std::move(header_bytes), expected));
  size += OpBytes(ops.back());
  if (size > kMaxMultiBytes) {
    *rewrite = nb;  // too much changed for one multi: a new generation
    return Status::Ok();
  }
  std::vector<ZkOpResult> results;
  Status s = zk_->Multi(ops, &results);
  if (!s.ok()) return WriteFailure(results, s, fence);
  size_t k = 1;
  for (auto& [b, w] : work) {
    w.version = results[k++].stat.version;
    st->buckets[b] = std::move(w);
  }
  const ZkStat& stat = results.back().stat;
  st->fields = std::move(h.cluster);
  st->last_delta = std::move(h.delta);
  st->last_delta_mzxid = stat.mzxid;
  st->czxid = stat.czxid;
  st->header_version = stat.version;
  st->header_mzxid = stat.mzxid;
  st->written_mzxid = stat.mzxid;
  *out = StoredAt(std::move(cluster), stat);
  return Status::Ok();
}

void ClusterStore::Undo(const std::string& path, const std::vector<std::string>& created,
                        bool placeholder, const std::string& fence) {
  // Best effort: what is left is a leftover the next rewrite deletes (or,
  // for a placeholder, the next creation takes over).
  std::vector<ZkOp> undo;
  for (const std::string& p : created) undo.push_back(ZkOp::Delete(p, -1));
  if (placeholder) undo.push_back(ZkOp::Delete(path, -1));
  if (undo.empty()) return;
  Status s = MultiInBatches(undo, fence);
  if (!s.ok()) {
    spdlog::warn("event=cluster_rewrite_undo_failed path={} left={} error=\"{}\"", path,
                 undo.size(), s.ToString());
  }
}

Status ClusterStore::SweepLeftovers(const std::string& path, const std::string& fence,
                                    const ClusterBucketState& st) {
  Result<std::vector<std::string>> children = zk_->GetChildren(path, false);
  if (!children.ok()) return children.status();
  std::vector<ZkOp> dels;
  for (const std::string& c : children.value()) {
    uint64_t g = 0;
    uint32_t i = 0;
    const bool current = st.form == Form::kBuckets && ClusterBuckets::ParseBucketName(c, &g, &i) &&
                         g == st.generation && i < st.buckets.size();
    if (!current) dels.push_back(ZkOp::Delete(path + "/" + c, -1));
  }
  if (dels.empty()) return Status::Ok();
  spdlog::info("event=cluster_leftovers_deleted path={} count={}", path, dels.size());
  return MultiInBatches(dels, fence);
}

Status ClusterStore::MultiInBatches(const std::vector<ZkOp>& ops, const std::string& fence) {
  std::vector<ZkOp> batch{ZkOp::Check(fence, -1)};
  size_t size = 0;
  auto flush = [&]() -> Status {
    std::vector<ZkOpResult> results;
    Status s = zk_->Multi(batch, &results);
    batch.resize(1);
    size = 0;
    if (!s.ok()) return WriteFailure(results, s, fence);
    return Status::Ok();
  };
  for (const ZkOp& op : ops) {
    if (batch.size() > 1 && size + OpBytes(op) > kMaxMultiBytes) {
      Status s = flush();
      if (!s.ok()) return s;
    }
    size += OpBytes(op);
    batch.push_back(op);
  }
  return batch.size() > 1 ? flush() : Status::Ok();
}

Result<int64_t> ClusterStore::Remove(const std::string& name, int32_t expected_znode_version,
                                     const std::string& fence) {
  std::shared_ptr<Entry> entry = EntryFor(name);
  std::unique_lock lock(entry->mu);
  const std::string path = ClusterPath(name);
  // A znode with children cannot be deleted: its buckets (and any
  // leftovers) go in the same multi, as many as fit; the others first,
  // those of generations the header does not name before its own.
  Result<std::vector<std::string>> children = zk_->GetChildren(path, false);
  if (!children.ok()) {
    if (children.status().IsNotFound()) return Status::Conflict(path + " is gone");
    return children.status();
  }
  const ClusterBucketState& st = entry->buckets;
  std::vector<std::string> kids = std::move(children).value();
  std::stable_partition(kids.begin(), kids.end(), [&](const std::string& c) {
    uint64_t g = 0;
    uint32_t i = 0;
    return !(st.form == Form::kBuckets && ClusterBuckets::ParseBucketName(c, &g, &i) &&
             g == st.generation);
  });
  std::vector<ZkOp> ops{ZkOp::Check(fence, -1)};
  size_t size = 0;
  std::vector<ZkOp> first;
  for (size_t k = kids.size(); k-- > 0;) {
    ZkOp del = ZkOp::Delete(path + "/" + kids[k], -1);
    if (size + OpBytes(del) <= kMaxMultiBytes) {
      size += OpBytes(del);
      ops.push_back(std::move(del));
    } else {
      first.push_back(std::move(del));
    }
  }
  if (!first.empty()) {
    Status s = MultiInBatches(first, fence);
    if (!s.ok()) return s;
  }
  ops.push_back(ZkOp::Delete(path, expected_znode_version));
  ops.push_back(ZkOp::Set(ClustersDir(), "", -1));
  std::vector<ZkOpResult> results;
  Status s = zk_->Multi(ops, &results);
  if (!s.ok()) {
    entry->buckets.header_version = -1;
    return WriteFailure(results, s, fence);
  }
  entry->buckets.Clear();
  lock.unlock();
  DropCache(name);
  return results.back().stat.mzxid;
}

}  // namespace jcm
