#include "server/cluster_registry.h"

#include <algorithm>
#include <utility>

#include "server/cluster_edit.h"

namespace jcm {

std::shared_ptr<const Cluster> ClusterRegistry::Get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.published;
}

std::vector<std::shared_ptr<const Cluster>> ClusterRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const Cluster>> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) {
    if (e.published) out.push_back(e.published);
  }
  return out;
}

std::vector<std::string> ClusterRegistry::Names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) {
    if (e.definition) out.push_back(name);
  }
  return out;
}

std::optional<int32_t> ClusterRegistry::ZnodeVersion(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.definition) return std::nullopt;
  return it->second.znode_version;
}

ClusterRegistry::Totals ClusterRegistry::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

ClusterRegistry::WriteBase ClusterRegistry::ForWrite(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.definition) return {};
  return {it->second.definition, it->second.znode_version, it->second.czxid, it->second.index};
}

std::shared_ptr<const SpecIndex> ClusterRegistry::TakeIndex(const std::string& name,
                                                            const Cluster* definition) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.definition.get() != definition) return nullptr;
  return std::move(it->second.index);
}

void ClusterRegistry::ReturnIndex(const std::string& name, const Cluster* definition,
                                  std::shared_ptr<const SpecIndex> index) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.definition.get() != definition) return;
  if (!it->second.index) it->second.index = std::move(index);
}

bool ClusterRegistry::ApplyDefinition(Cluster def, int32_t znode_version, int64_t czxid,
                                      std::shared_ptr<const SpecIndex> index) {
  const std::string name = def.name;
  // Merged and, for the replaced versions, freed outside mu_: for a large
  // cluster both are O(nodes), and mu_ serves every read.
  auto fresh = std::make_shared<Cluster>(std::move(def));
  std::shared_ptr<const Cluster> old_definition, old_published;
  std::shared_ptr<const SpecIndex> old_index;
  std::shared_ptr<const StatusMap> statuses;
  std::shared_ptr<const MergedChunks> previous, merged_chunks;
  int64_t merged_at = -1;  // the status_version `fresh` is merged with
  for (;;) {
    {
      std::lock_guard lock(mu_);
      Entry& e = entries_[name];
      if (e.definition && e.definition->version >= fresh->version) return false;
      // Seen deleted after this was written: a stale read.
      if (fresh->version <= e.absent_as_of) return false;
      if (merged_at == e.status_version) {
        if (e.definition) {
          totals_.nodes -= e.definition->nodes.size();
        } else {
          ++totals_.clusters;
        }
        totals_.nodes += fresh->nodes.size();
        old_definition = std::move(e.definition);
        old_published = std::move(e.published);
        e.definition = fresh;
        // Marking and merging change no node's place: the index still fits.
        old_index = std::exchange(e.index, std::move(index));
        e.znode_version = znode_version;
        e.czxid = czxid;
        previous = std::exchange(e.merged_chunks, std::move(merged_chunks));
        Publish(name, e, std::move(fresh));
        break;
      }
      // Statuses changed since the last merge (or none was done yet).
      statuses = e.statuses;
      merged_at = e.status_version;
      previous = e.merged_chunks;
    }
    merged_chunks = MergeStatuses(statuses, merged_at, previous.get(), true, fresh.get());
  }
  Notify(name);
  return true;
}

bool ClusterRegistry::ApplyRemoval(const std::string& name, int64_t as_of) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      if (as_of <= 0) return false;
      it = entries_.emplace(name, Entry{}).first;
    }
    Entry& e = it->second;
    // The absence predates this incarnation: the read was stale.
    if (e.definition && e.czxid > as_of) return false;
    e.absent_as_of = std::max(e.absent_as_of, as_of);
    if (!e.definition) {
      WakeWaiters(name);  // a deletion waiter may be satisfied by the tombstone
      return false;
    }
    // Keep the statuses: a re-created cluster with the same nodes should not
    // start from "never checked" while its checker still runs.
    --totals_.clusters;
    totals_.nodes -= e.definition->nodes.size();
    e.definition = nullptr;
    e.index = nullptr;
    e.merged_chunks = nullptr;
    e.published = nullptr;
    ++change_counter_;
    WakeWaiters(name);
  }
  Notify(name);
  return true;
}

bool ClusterRegistry::HoldsLocked(const std::string& name, int64_t version, bool deleted) const {
  auto it = entries_.find(name);
  if (deleted && version <= 0) {
    // A deletion without its zxid (an older peer's ack): all we can check
    // is that no definition is held.
    return it == entries_.end() || !it->second.definition;
  }
  if (it == entries_.end()) return false;
  const Entry& e = it->second;
  if (deleted) {
    if (e.definition) return e.czxid > version;
    return e.absent_as_of >= version;
  }
  if (e.definition && e.definition->version >= version) return true;
  return e.absent_as_of > version;
}

bool ClusterRegistry::Holds(const std::string& name, int64_t version, bool deleted) const {
  std::lock_guard lock(mu_);
  return HoldsLocked(name, version, deleted);
}

bool ClusterRegistry::WaitForVersion(const std::string& name, int64_t version, bool deleted,
                                     std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  if (HoldsLocked(name, version, deleted)) return true;
  VersionWaiter waiter{version, deleted, {}};
  auto it = version_waiters_.emplace(name, &waiter);
  const bool held =
      waiter.cv.wait_for(lock, timeout, [&] { return HoldsLocked(name, version, deleted); });
  version_waiters_.erase(it);
  return held;
}

void ClusterRegistry::WakeWaiters(const std::string& name) {
  cv_.notify_all();
  auto [first, last] = version_waiters_.equal_range(name);
  for (auto it = first; it != last; ++it) {
    if (HoldsLocked(name, it->second->version, it->second->deleted)) it->second->cv.notify_one();
  }
}

bool ClusterRegistry::ApplyStatuses(const std::string& name, StatusMap statuses,
                                    int64_t status_version) {
  auto fresh = std::make_shared<const StatusMap>(std::move(statuses));
  // Freed outside mu_.
  std::shared_ptr<const StatusMap> old_statuses;
  std::shared_ptr<const Cluster> old_published;
  std::shared_ptr<const Cluster> merged_from;  // the definition `merged` was copied from
  std::shared_ptr<Cluster> merged;
  std::shared_ptr<const MergedChunks> merged_chunks, old_merged_chunks;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      Entry& e = entries_[name];
      if (status_version <= e.status_version) return false;
      if (e.definition == merged_from) {
        old_statuses = std::move(e.statuses);
        e.statuses = std::move(fresh);
        e.status_version = status_version;
        if (!e.definition) return true;
        old_published = std::move(e.published);
        old_merged_chunks = std::exchange(e.merged_chunks, std::move(merged_chunks));
        Publish(name, e, std::move(merged));
        break;
      }
      // The definition changed since the last copy (or none was made yet).
      merged_from = e.definition;
    }
    merged = merged_from ? std::make_shared<Cluster>(*merged_from) : nullptr;
    // (No earlier merge was under these statuses: every chunk is read.)
    // (The definition is marked: only statuses change.)
    if (merged) {
      merged_chunks = MergeStatuses(fresh, status_version, nullptr, false, merged.get());
    }
  }
  Notify(name);
  return true;
}

std::shared_ptr<const ClusterRegistry::MergedChunks> ClusterRegistry::MergeStatuses(
    const std::shared_ptr<const StatusMap>& statuses_ptr, int64_t status_version,
    const MergedChunks* previous, bool mark, Cluster* c) const {
  const StatusMap& statuses = *statuses_ptr;
  c->status_version = status_version;
  const bool none = c->check_type == CheckType::kNone;
  if (previous != nullptr &&
      (previous->statuses != statuses_ptr || previous->status_version != status_version ||
       previous->cluster_online != c->online || previous->check_type != c->check_type)) {
    previous = nullptr;  // merged under other rules: nothing carries over
  }
  auto out = std::make_shared<MergedChunks>();
  out->statuses = statuses_ptr;
  out->status_version = status_version;
  out->cluster_online = c->online;
  out->check_type = c->check_type;
  out->items.reserve(c->nodes.chunk_count());
  // What node `n` shows under these statuses.
  auto merged = [&](const Node& n) {
    // A spec is built per lookup: skip it when nothing can be found.
    auto it = statuses.empty() ? statuses.end() : statuses.find(n.Spec());
    const bool known = it != statuses.end();
    // (Set either way: the copy merged may carry an earlier merge's value.)
    const int64_t last_check_ms = known ? it->second.last_check_ms : 0;
    NodeStatus status = NodeStatus::kInvalid;
    if (c->online && n.online) {
      status = none ? NodeStatus::kNormal : known ? it->second.status : status;
    }
    return std::make_pair(status, last_check_ms);
  };
  mark = mark && marker_ != nullptr;
  size_t online = 0, normal = 0;
  std::vector<std::pair<NodeStatus, int64_t>> values;
  std::vector<std::pair<size_t, std::string>> marks;  // (node in chunk, new mark)
  for (size_t k = 0; k < c->nodes.chunk_count(); ++k) {
    MergedChunks::Item item;
    item.from = c->nodes.shared_chunk(k);
    const MergedChunks::Item* done = nullptr;
    if (previous != nullptr) {
      auto it = std::lower_bound(
          previous->items.begin(), previous->items.end(), item.from.get(),
          [](const MergedChunks::Item& i, const NodeChunk* p) { return i.from.get() < p; });
      if (it != previous->items.end() && it->from == item.from) done = &*it;
    }
    if (done != nullptr) {
      item.to = done->to;
      item.online = done->online;
      item.normal = done->normal;
      if (item.to != item.from) c->nodes.ReplaceChunk(k, item.to);
    } else {
      // Chunk by chunk, writing only a chunk where some node changes: one
      // this version shares with the last stays shared.
      const NodeChunk& chunk = *item.from;
      values.clear();
      marks.clear();
      bool changed = false;
      for (const Node& n : chunk) {
        values.push_back(merged(n));
        changed =
            changed || n.status != values.back().first || n.last_check_ms != values.back().second;
        if (mark) {
          std::string m = marker_(*c, n);
          if (m != n.not_checked) marks.emplace_back(values.size() - 1, std::move(m));
        }
        if (c->online && n.online) {
          ++item.online;
          if (values.back().first == NodeStatus::kNormal) ++item.normal;
        }
      }
      if (changed || !marks.empty()) {
        NodeList::Chunk& owned = c->nodes.MutableChunk(k);
        for (size_t i = 0; i < owned.size(); ++i) {
          owned[i].status = values[i].first;
          owned[i].last_check_ms = values[i].second;
        }
        for (auto& [i, m] : marks) owned[i].not_checked = std::move(m);
      }
      item.to = c->nodes.shared_chunk(k);
    }
    online += item.online;
    normal += item.normal;
    if (item.to != item.from) {
      // The next version starts from this one's chunks: its result, merged
      // again under the same rules, is itself.
      MergedChunks::Item same = item;
      same.from = item.to;
      out->items.push_back(std::move(same));
    }
    out->items.push_back(std::move(item));
  }
  std::sort(out->items.begin(), out->items.end(),
            [](const MergedChunks::Item& a, const MergedChunks::Item& b) {
              return a.from.get() < b.from.get();
            });
  // Panic only once a checker has spoken: a cluster nobody has checked yet
  // is unknown, not failing.
  bool checked = none || status_version > 0;
  c->panic = checked && online > 0 &&
             static_cast<double>(normal) < panic_share_ * static_cast<double>(online);
  return out;
}

void ClusterRegistry::Publish(const std::string& name, Entry& e,
                              std::shared_ptr<const Cluster> published) {
  e.published = std::move(published);
  ++change_counter_;
  WakeWaiters(name);
}

uint64_t ClusterRegistry::change_counter() const {
  std::lock_guard lock(mu_);
  return change_counter_;
}

uint64_t ClusterRegistry::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return change_counter_ != seen; });
  return change_counter_;
}

bool ClusterRegistry::WaitFor(
    const std::string& name, const std::function<bool(const std::shared_ptr<const Cluster>&)>& pred,
    std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  auto current = [&] {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : it->second.published;
  };
  return cv_.wait_for(lock, timeout, [&] { return pred(current()); });
}

}  // namespace jcm
