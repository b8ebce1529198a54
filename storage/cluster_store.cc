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

std::shared_ptr<ClusterStore::Entry> ClusterStore::EntryFor(const std::string& name) {
  std::lock_guard lock(cache_mu_);
  std::shared_ptr<Entry>& e = entries_[name];
  if (!e) e = std::make_shared<Entry>();
  return e;
}

void ClusterStore::DropCache(const std::string& name) {
  std::lock_guard lock(cache_mu_);
  entries_.erase(name);
}

size_t ClusterStore::CachedNodes(const std::string& name) const {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(cache_mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return 0;
    e = it->second;
  }
  std::lock_guard lock(e->mu);
  if (e->buckets.form == ClusterBucketState::Form::kBuckets) return e->buckets.node_count();
  return e->fragments.size();
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
  return DecodeLoaded(name, path, std::move(data).value(), stat, watch, held_version);
}

namespace {

StoredCluster NotNewer(const std::string& name, const ZkStat& stat) {
  StoredCluster out;
  out.not_newer = true;
  out.cluster.name = name;
  out.cluster.version = stat.mzxid;
  out.znode_version = stat.version;
  out.czxid = stat.czxid;
  return out;
}

}  // namespace

Result<StoredCluster> ClusterStore::DecodeLoaded(const std::string& name, const std::string& path,
                                                 std::string bytes, const ZkStat& stat, bool watch,
                                                 int64_t held_version) {
  if (held_version > 0 && stat.mzxid <= held_version) {
    // Held already (the ack of a write this instance forwarded brought it).
    // The buckets held still step to it by the header's delta, or the next
    // version, whose delta is based on this one, would read its buckets.
    if (ClusterBuckets::IsHeader(bytes)) StepHeldBuckets(name, bytes, stat);
    return NotNewer(name, stat);
  }
  if (bad_log_.Reported(path, stat.mzxid)) {
    return Status::Internal(std::string(kUnreadablePrefix) + path + " (mzxid " +
                            std::to_string(stat.mzxid) + ") is unreadable, as logged");
  }
  std::shared_ptr<Entry> entry = EntryFor(name);
  std::lock_guard lock(entry->mu);
  // Our own write, read back by its watch (perhaps before the writer
  // published it, which it is about to), or an older version than it (the
  // writer stored a newer one while this read waited for the entry's
  // mutex): nothing to decode for a caller that takes not_newer (it holds
  // an earlier version), as the writer publishes what it wrote. Either
  // form: a leader under a steady stream of writes parsed 37-43 % of its
  // own writes again (bench/zk/run.sh: 3,434 of 7,955 reloads).
  if (held_version > 0 && stat.mzxid <= entry->buckets.written_mzxid) {
    return NotNewer(name, stat);
  }
  const size_t size = bytes.size();
  Result<StoredCluster> r = Status::Internal("not decoded");
  // The decoders return a Status for every input; this catches what no
  // input check can rule out (an allocation failing), so nothing escapes.
  try {
    if (ClusterBuckets::IsHeader(bytes)) {
      r = LoadBucketed(name, path, std::move(bytes), stat, watch, held_version, entry.get());
    } else {
      r = DecodeInline(name, path, bytes, stat, entry.get());
    }
  } catch (const std::exception& e) {
    entry->buckets.Clear();
    entry->fragments = StoredClusterCodec::FragmentCache{};
    r = Unreadable(path, stat, size, Status::Internal(std::string("decoding failed: ") + e.what()));
  }
  if (r.ok() && !r->not_newer) bad_log_.Clear(path);
  return r;
}

Status ClusterStore::Unreadable(const std::string& path, const ZkStat& stat, size_t bytes,
                                const Status& why) {
  if (bad_log_.FirstReport(path, stat.mzxid)) {
    spdlog::error("event=cluster_znode_unreadable path={} mzxid={} bytes={} error=\"{}\"", path,
                  stat.mzxid, bytes, why.ToString());
  }
  return Status::Internal(std::string(kUnreadablePrefix) + path + " (mzxid " +
                          std::to_string(stat.mzxid) + ") is unreadable: " + why.ToString());
}

Result<StoredCluster> ClusterStore::DecodeInline(const std::string& name, const std::string& path,
                                                 std::string_view bytes, const ZkStat& stat,
                                                 Entry* entry) {
  StoredCluster out;
  // The previous version's nodes, by their text: only changed nodes are
  // parsed (see StoredClusterCodec).
  Status s = DecodeUnchecked(bytes, &entry->fragments, &out.cluster);
  if (s.ok() && out.cluster.name != name) {
    // A definition copied under another name would shadow the real one.
    s = Status::InvalidArgument("name: " + QuoteForError(out.cluster.name) +
                                " is not the znode's name");
  }
  ClusterBucketState& st = entry->buckets;
  if (!s.ok()) {
    st.Clear();
    st.form = ClusterBucketState::Form::kUnreadable;
    st.header_version = stat.version;
    st.header_mzxid = stat.mzxid;
    return Unreadable(path, stat, bytes.size(), s);
  }
  if (st.form != ClusterBucketState::Form::kInline) {
    st.Clear();  // (not swept: buckets of the previous form may be left)
    st.form = ClusterBucketState::Form::kInline;
  }
  st.header_version = stat.version;
  st.header_mzxid = stat.mzxid;
  out.cluster.version = stat.mzxid;
  out.znode_version = stat.version;
  out.czxid = stat.czxid;
  return out;
}

Result<StoredCluster> ClusterStore::LoadBucketed(const std::string& name, const std::string& path,
                                                 std::string bytes, ZkStat stat, bool watch,
                                                 int64_t held_version, Entry* entry) {
  ClusterBucketState& st = entry->buckets;
  // Marks the header read last as unreadable (logged once per mzxid).
  auto unreadable = [&](const Status& why) {
    st.Clear();
    st.form = ClusterBucketState::Form::kUnreadable;
    st.header_version = stat.version;
    st.header_mzxid = stat.mzxid;
    return Unreadable(path, stat, bytes.size(), why);
  };
  // A write between the header's read and its buckets' makes them newer
  // than the header says: read the header again (its watch fires anyway).
  // Also at the start when this state is newer than what was read (a
  // concurrent load went first): read what is there now. An attempt keeps
  // the buckets it decoded (ClusterBucketState::ahead), so the next one
  // fetches only those changed since: attempts get cheaper as they go.
  constexpr int kAttempts = 8;
  bool reread = st.form == ClusterBucketState::Form::kBuckets && st.header_mzxid > stat.mzxid;
  Status conflict;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (reread) {
      ZkStat again;
      Result<std::string> data = zk_->Get(path, &again, watch);
      if (!data.ok()) {
        if (data.status().IsNotFound()) {
          bad_log_.Clear(path);
          st.Clear();
        }
        return data.status();
      }
      // After a conflict, the same header again: a bucket is missing or
      // newer for good, not raced.
      if (attempt > 0 && again.mzxid == stat.mzxid) return unreadable(conflict);
      bytes = std::move(data).value();
      stat = again;
      if (held_version > 0 && stat.mzxid <= held_version) return NotNewer(name, stat);
      if (!ClusterBuckets::IsHeader(bytes)) return DecodeInline(name, path, bytes, stat, entry);
    }
    ClusterBuckets::Header h;
    Status s = ClusterBuckets::DecodeHeader(bytes, &h);
    if (s.ok() && h.placeholder) {
      // A creation too large for one write, not finished: no cluster yet.
      return Status::NotFound("cluster '" + name + "' is being created");
    }
    if (s.ok() && h.cluster.name != name) {
      s = Status::InvalidArgument("header.cluster.name: " + QuoteForError(h.cluster.name) +
                                  " is not the znode's name");
    }
    if (s.ok()) s = RefreshBuckets(path, h, stat, &st);
    if (s.ok()) {
      StoredCluster out;
      out.cluster = st.Assemble();
      out.cluster.version = stat.mzxid;
      out.znode_version = stat.version;
      out.czxid = stat.czxid;
      return out;
    }
    if (s.IsUnavailable()) return s;
    if (!s.IsConflict()) return unreadable(s);
    // Conflict: raced by a write, or a bucket missing or newer for good;
    // the next attempt tells them apart by the header's mzxid. After the
    // last, give up for now: the write that raced this read came after the
    // header's read, so the watch that read armed fires for it.
    conflict = s;
    reread = true;
  }
  return Status::Unavailable("cluster '" + name + "' kept changing while its buckets were read");
}

void ClusterStore::StepHeldBuckets(const std::string& name, std::string_view bytes,
                                   const ZkStat& stat) {
  std::shared_ptr<Entry> entry = EntryFor(name);
  std::lock_guard lock(entry->mu);
  ClusterBucketState& st = entry->buckets;
  // Only a state exactly one write behind can step: check before parsing.
  if (st.form != ClusterBucketState::Form::kBuckets || st.header_version + 1 != stat.version ||
      st.czxid != stat.czxid) {
    return;
  }
  ClusterBuckets::Header h;
  try {
    if (!ClusterBuckets::DecodeHeader(bytes, &h).ok() || h.placeholder || h.cluster.name != name) {
      return;
    }
    ApplyHeaderDelta(h, stat, &st);
  } catch (const std::exception&) {
    // (An allocation failing.) The next load reads the buckets.
    st.Clear();
  }
}

bool ClusterStore::ApplyHeaderDelta(const ClusterBuckets::Header& h, const ZkStat& stat,
                                    ClusterBucketState* st) {
  // (Holding this very header: nothing to apply, nor missed.)
  if (!h.delta || st->header_mzxid == stat.mzxid) return false;
  const auto nb = static_cast<uint32_t>(h.versions.size());
  // The writes to apply, in order: the last one, or the two last when this
  // state is two writes behind and the header carries the one before.
  std::vector<const ClusterBuckets::Delta*> chain;
  if (st->header_mzxid == h.delta->base && st->header_version + 1 == stat.version) {
    chain = {&*h.delta};
  } else if (h.previous && st->header_mzxid == h.previous->base &&
             st->header_version + 2 == stat.version) {
    chain = {&*h.previous, &*h.delta};
  }
  if (chain.empty() || st->form != ClusterBucketState::Form::kBuckets || st->czxid != stat.czxid ||
      st->generation != h.generation || st->buckets.size() != nb) {
    ++header_deltas_missed_;
    return false;
  }
  // Every bucket a write names is one version on per write that names it,
  // and no other moved: the header says so, or this state and the writer's
  // were not the same.
  std::vector<int32_t> bumps(nb, 0);
  std::vector<std::vector<std::string>> set_specs(chain.size());
  for (size_t w = 0; w < chain.size(); ++w) {
    std::vector<bool> named(nb, false);
    for (const std::string& spec : chain[w]->removed) {
      named[ClusterBuckets::BucketOf(spec, nb)] = true;
    }
    set_specs[w].reserve(chain[w]->set.size());
    for (const Node& node : chain[w]->set) {
      set_specs[w].push_back(node.Spec());
      named[ClusterBuckets::BucketOf(set_specs[w].back(), nb)] = true;
    }
    for (uint32_t b = 0; b < nb; ++b) bumps[b] += named[b] ? 1 : 0;
  }
  bool agrees = true;
  for (uint32_t b = 0; agrees && b < nb; ++b) {
    agrees = h.versions[b] == st->buckets[b].version + bumps[b];
  }
  auto refuse = [&] {
    ++header_deltas_refused_;
    spdlog::warn(
        "event=header_delta_refused cluster={} mzxid={} reason=\"the buckets held with its "
        "changes applied differ from the header; reading them\"",
        h.cluster.name, stat.mzxid);
    return false;
  };
  if (!agrees) return refuse();
  // In place: the named buckets are moved out of `st` and back.
  BucketEdit edit(*st, BucketEdit::Mode::kInPlace);
  std::map<uint32_t, ClusterBucketState::Bucket> changed;
  bool count_agrees = false;
  try {
    // Write by write, each as its writer did: removals, then the nodes set.
    for (size_t w = 0; w < chain.size(); ++w) {
      for (const std::string& spec : chain[w]->removed) edit.Remove(spec);
      for (size_t k = 0; k < chain[w]->set.size(); ++k) {
        edit.Set(chain[w]->set[k], std::move(set_specs[w][k]));
      }
    }
    count_agrees = edit.NodeCount() == h.node_count;
    changed = edit.Finish();
  } catch (...) {
    st->Clear();  // some buckets are out of it
    throw;
  }
  if (!count_agrees) {
    // The buckets edited are not the writer's: none of this state holds.
    st->Clear();
    return refuse();
  }
  for (auto& [b, w] : changed) {
    w.version = h.versions[b];
    st->buckets[b] = std::move(w);
  }
  st->fields = h.cluster;
  st->header_version = stat.version;
  st->header_mzxid = stat.mzxid;
  ++header_deltas_applied_;
  if (chain.size() == 2) ++header_deltas_applied_two_;
  return true;
}

Status ClusterStore::RefreshBuckets(const std::string& path, const ClusterBuckets::Header& h,
                                    const ZkStat& stat, ClusterBucketState* st) {
  // One write behind: the header says what that write changed.
  if (ApplyHeaderDelta(h, stat, st)) return Status::Ok();
  const uint32_t b = static_cast<uint32_t>(h.versions.size());
  const bool same_layout = st->form == ClusterBucketState::Form::kBuckets &&
                           st->czxid == stat.czxid && st->generation == h.generation &&
                           st->buckets.size() == b;
  std::vector<uint32_t> to_read;
  size_t kept_json = 0;
  for (uint32_t i = 0; i < b; ++i) {
    if (same_layout && st->buckets[i].version == h.versions[i]) {
      kept_json += st->buckets[i].json_bytes;
      continue;
    }
    to_read.push_back(i);
  }
  std::vector<ClusterBucketState::Bucket> read(to_read.size());
  std::vector<bool> decoded(to_read.size(), false);
  size_t json = kept_json;
  // Buckets an overtaken attempt read already, at the version this header
  // names: no read.
  std::vector<size_t> fetch;  // into to_read
  std::vector<std::string> fetch_paths;
  const bool ahead_fits =
      st->ahead_czxid == stat.czxid && st->ahead_generation == h.generation && st->ahead_count == b;
  for (size_t k = 0; k < to_read.size(); ++k) {
    auto it = ahead_fits ? st->ahead.find(to_read[k]) : st->ahead.end();
    if (it != st->ahead.end() && it->second.version == h.versions[to_read[k]]) {
      read[k] = std::move(it->second);
      st->ahead.erase(it);
      decoded[k] = true;
      json += read[k].json_bytes;
      continue;
    }
    fetch.push_back(k);
    fetch_paths.push_back(path + "/" + ClusterBuckets::BucketName(h.generation, to_read[k]));
  }
  // A bucket newer than the header (a write overtook this read) or gone (a
  // rewrite did): Conflict, once every bucket read was decoded, so that
  // what was read is kept for the next attempt.
  Status overtaken;
  if (!fetch.empty()) {
    // Pipelined; buckets are not watched (every write sets the header).
    std::vector<ZkGetResult> got = zk_->GetMany(fetch_paths, false);
    if (got.size() != fetch.size()) return Status::Unavailable("short read of buckets");
    for (size_t f = 0; f < fetch.size(); ++f) {
      const size_t k = fetch[f];
      const uint32_t i = to_read[k];
      const std::string field = "bucket " + std::to_string(i) + " (" + fetch_paths[f] + ")";
      if (got[f].status.IsNotFound()) {
        overtaken = Status::Conflict(field + " is missing");
        continue;
      }
      if (!got[f].status.ok()) return got[f].status;
      if (got[f].stat.version < h.versions[i]) {
        return Status::InvalidArgument(field + " is at version " +
                                       std::to_string(got[f].stat.version) + ", the header says " +
                                       std::to_string(h.versions[i]));
      }
      if (got[f].stat.version > h.versions[i]) {
        overtaken =
            Status::Conflict(field + " is at version " + std::to_string(got[f].stat.version) +
                             ", newer than the header's " + std::to_string(h.versions[i]));
      }
      ClusterBucketState::Bucket& bk = read[k];
      const size_t budget =
          limits::kMaxInflatedClusterBytes - std::min(json, limits::kMaxInflatedClusterBytes);
      // The version held of this bucket, if any: its unchanged nodes are
      // not parsed again.
      ClusterBuckets::Previous prev;
      if (same_layout) {
        const ClusterBucketState::Bucket& held = st->buckets[i];
        prev = {&held.texts, &held.nodes, &held.specs};
      }
      Status s =
          ClusterBuckets::DecodeBucket(got[f].data, i, b, budget, &bk.nodes, &bk.specs,
                                       &bk.json_bytes, same_layout ? &prev : nullptr, &bk.texts);
      if (!s.ok()) return s;
      json += bk.json_bytes;
      if (json > limits::kMaxInflatedClusterBytes) {
        return Status::TooLarge("buckets: more than " +
                                std::to_string(limits::kMaxInflatedClusterBytes) +
                                " bytes of JSON");
      }
      bk.version = got[f].stat.version;
      bk.stored_bytes = got[f].data.size();
      decoded[k] = true;
    }
  }
  if (!overtaken.ok()) {
    // Keep every bucket decoded (at its own version) for the next attempt.
    if (!ahead_fits) {
      st->ahead.clear();
      st->ahead_czxid = stat.czxid;
      st->ahead_generation = h.generation;
      st->ahead_count = b;
    }
    for (size_t k = 0; k < to_read.size(); ++k) {
      if (decoded[k]) st->ahead[to_read[k]] = std::move(read[k]);
    }
    return overtaken;
  }
  size_t nodes = 0;
  for (uint32_t i = 0, k = 0; i < b; ++i) {
    if (k < to_read.size() && to_read[k] == i) {
      nodes += read[k++].nodes.size();
    } else {
      nodes += st->buckets[i].nodes.size();
    }
  }
  if (nodes != h.node_count) {
    return Status::InvalidArgument("header.nodes: " + std::to_string(h.node_count) +
                                   ", but the buckets hold " + std::to_string(nodes));
  }
  if (!same_layout) {
    const bool swept = st->swept && st->form == ClusterBucketState::Form::kBuckets &&
                       st->generation == h.generation;
    st->Clear();
    st->swept = swept;
    st->buckets.resize(b);
  }
  for (size_t k = 0; k < to_read.size(); ++k) st->buckets[to_read[k]] = std::move(read[k]);
  st->ahead.clear();
  st->form = ClusterBucketState::Form::kBuckets;
  st->czxid = stat.czxid;
  st->generation = h.generation;
  st->fields = h.cluster;
  st->header_version = stat.version;
  st->header_mzxid = stat.mzxid;
  return Status::Ok();
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
    out.emplace_back(
        DecodeLoaded(names[i], paths[i], std::move(got[i].data), got[i].stat, watch, 0));
  }
  return out;
}

Status ClusterStore::Exists(const std::string& name, bool watch) {
  const std::string path = ClusterPath(name);
  Status s = zk_->Exists(path, nullptr, watch);
  if (!s.ok()) return s;
  Result<std::string> data = zk_->Get(path, nullptr, watch);
  if (!data.ok()) return data.status();
  ClusterBuckets::Header h;
  if (ClusterBuckets::IsHeader(data.value()) &&
      ClusterBuckets::DecodeHeader(data.value(), &h).ok() && h.placeholder) {
    return Status::NotFound("cluster '" + name + "' is being created");
  }
  return Status::Ok();
}

Result<int64_t> ClusterStore::ClustersDirPzxid() {
  ZkStat stat;
  Status s = zk_->Exists(ClustersDir(), &stat, false);
  if (!s.ok()) return s;
  return stat.pzxid;
}

}  // namespace jcm
