#include "server/cluster_writer.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <unordered_map>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "model/limits.h"
#include "model/validation.h"
#include "server/cluster_edit.h"

namespace jcm {

ClusterWriter::ClusterWriter(ClusterStore* store, ClusterRegistry* registry, Fencing fencing,
                             Options options)
    : store_(store), registry_(registry), fencing_(std::move(fencing)), options_(options) {}

ClusterWriter::~ClusterWriter() = default;

ClusterWriter::Stats ClusterWriter::stats() const {
  Stats s;
  s.ok = writes_ok_.load();
  s.batches = batches_.load();
  s.mutations = batched_mutations_.load();
  s.conflicts = write_conflicts_.load();
  s.failed = writes_failed_.load();
  return s;
}

size_t ClusterWriter::PerNameStateCount() const {
  std::lock_guard lock(names_mu_);
  return names_.size();
}

struct ClusterWriter::PendingWrite {
  bool create_if_missing = false;
  bool replaces = false;  // replaces the whole definition (PutCluster)
  const Mutation* fn = nullptr;
  std::span<const AppliedOp> ops;  // empty: not replayable
  Result<WriteAck> result = Status::Internal("not written");
  bool done = false;
};

struct ClusterWriter::NameState {
  std::mutex write_mu;  // serialises the stores of this cluster (batches, deletes)
  std::mutex mu;
  std::condition_variable cv;
  std::deque<PendingWrite*> pending;  // GUARDED_BY(mu)
  bool writer_active = false;         // GUARDED_BY(mu)
  int users = 0;                      // GUARDED_BY(ClusterWriter::names_mu_)
};

// Holds a NameState; the last holder erases it from names_.
class ClusterWriter::NameRef {
 public:
  NameRef(ClusterWriter* owner, std::string name, std::shared_ptr<NameState> state)
      : owner_(owner), name_(std::move(name)), state_(std::move(state)) {}
  NameRef(const NameRef&) = delete;
  NameRef& operator=(const NameRef&) = delete;
  ~NameRef() { owner_->ReleaseName(name_); }
  NameState* operator->() const { return state_.get(); }
  NameState* get() const { return state_.get(); }

 private:
  ClusterWriter* owner_;
  std::string name_;
  std::shared_ptr<NameState> state_;
};

ClusterWriter::NameRef ClusterWriter::AcquireName(const std::string& name) {
  std::lock_guard lock(names_mu_);
  auto& st = names_[name];
  if (!st) st = std::make_shared<NameState>();
  ++st->users;
  return NameRef(this, name, st);
}

void ClusterWriter::ReleaseName(const std::string& name) {
  std::lock_guard lock(names_mu_);
  auto it = names_.find(name);
  if (it != names_.end() && --it->second->users == 0) names_.erase(it);
}

size_t ClusterWriter::QueuedWrites(const std::string& name) const {
  std::shared_ptr<NameState> st;
  {
    std::lock_guard lock(names_mu_);
    auto it = names_.find(name);
    if (it == names_.end()) return 0;
    st = it->second;
  }
  std::lock_guard lock(st->mu);
  return st->pending.size();
}

std::shared_ptr<const WriteDelta> ClusterWriter::DeltaOf(const std::vector<PendingWrite*>& batch,
                                                         const std::vector<Status>& outcomes,
                                                         int64_t base_version,
                                                         int32_t znode_version) {
  if (base_version == 0) return nullptr;  // a creation: nothing to replay onto
  auto delta = std::make_shared<WriteDelta>();
  delta->base_version = base_version;
  delta->znode_version = znode_version;
  // Every caller of the group gets the delta in its ack: past this many
  // nodes and specs it costs more than the follower's reload saves.
  constexpr size_t kMaxDeltaEntries = 4096;
  size_t entries = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!outcomes[i].ok()) continue;  // left the cluster unchanged
    if (batch[i]->ops.empty()) return nullptr;
    for (const AppliedOp& op : batch[i]->ops) {
      entries += op.nodes.size() + op.specs.size() + 1;
      if (entries > kMaxDeltaEntries) return nullptr;
      delta->ops.push_back(op);
    }
  }
  return delta;
}

bool ClusterWriter::RetryUnderCurrentFence(std::string* fence) {
  fencing_.on_fence_lost(*fence);
  std::string current;
  if (*fence == fencing_.current_fence() || !fencing_.check_writable(&current).ok()) return false;
  // Our fence was of an earlier registration and we lead under the current
  // one: the write did not apply; try again with this fence.
  *fence = current;
  return true;
}

Result<WriteAck> ClusterWriter::Mutate(const std::string& name, bool create_if_missing,
                                       bool replaces, const Mutation& fn,
                                       std::span<const AppliedOp> ops) {
  std::string fence;
  Status s = fencing_.check_writable(&fence);
  if (!s.ok()) return s;
  NameRef q = AcquireName(name);
  PendingWrite mine;
  mine.create_if_missing = create_if_missing;
  mine.replaces = replaces;
  mine.fn = &fn;
  mine.ops = ops;
  std::unique_lock lock(q->mu);
  q->pending.push_back(&mine);
  // Either another thread is writing and will carry this mutation in its
  // next batch, or this thread becomes the writer until the queue is empty.
  q->cv.wait(lock, [&] { return mine.done || !q->writer_active; });
  if (mine.done) return std::move(mine.result);
  q->writer_active = true;
  // Whatever happens below, the next caller must be able to become the
  // writer: an exception must not leave the cluster's writes wedged.
  struct WriterReset {
    NameState* st;
    std::unique_lock<std::mutex>* lock;
    ~WriterReset() {
      if (!lock->owns_lock()) lock->lock();
      st->writer_active = false;
      st->cv.notify_all();
    }
  } reset{q.get(), &lock};
  while (!q->pending.empty()) {
    std::vector<PendingWrite*> batch;
    while (!q->pending.empty() && batch.size() < options_.max_batch) {
      // A replacement starts its own batch: an earlier caller's ack must
      // name a version that holds that caller's change.
      if (!batch.empty() && q->pending.front()->replaces) break;
      batch.push_back(q->pending.front());
      q->pending.pop_front();
    }
    lock.unlock();
    try {
      WriteBatch(q.get(), name, batch);
    } catch (const std::exception& e) {
      spdlog::error("event=write_batch_exception cluster={} error=\"{}\"", name, e.what());
      for (PendingWrite* p : batch) {
        p->result = Status::Internal(std::string("write failed: ") + e.what());
      }
    } catch (...) {
      spdlog::error("event=write_batch_exception cluster={} error=unknown", name);
      for (PendingWrite* p : batch) p->result = Status::Internal("write failed");
    }
    lock.lock();
    for (PendingWrite* p : batch) p->done = true;
    q->cv.notify_all();
  }
  return std::move(mine.result);
}

bool ClusterWriter::ApplyBatch(const std::string& name, const std::vector<PendingWrite*>& batch,
                               bool exists, bool isolate, Cluster* next,
                               std::vector<Status>* outcomes, Status* valid,
                               std::unique_ptr<ClusterChanges>* changes,
                               std::shared_ptr<const SpecIndex>* index) const {
  changes->reset();
  bool any_applied = false;
  if (!exists) next->name = name;
  // One index for the whole batch (a copy of the base version's when it has
  // one); validation of what it touched only.
  ClusterEdit edit(next, std::move(*index));
  index->reset();
  for (size_t i = 0; i < batch.size(); ++i) {
    Status& out = (*outcomes)[i];
    if (!exists && !batch[i]->create_if_missing) {
      out = Status::NotFound("cluster '" + name + "' does not exist");
      continue;
    }
    if (!isolate) {
      out = (*batch[i]->fn)(&edit);
    } else {
      // Rare (the batch as a whole could not be stored): each mutation on
      // its own copy, checked in full, so the one at fault fails alone.
      Cluster trial = *next;
      ClusterEdit trial_edit(&trial);
      out = (*batch[i]->fn)(&trial_edit);
      trial_edit.Finish();
      if (out.ok()) out = ValidateCluster(trial);
      if (out.ok()) {
        Result<std::string> bytes = ClusterStore::Encode(trial);
        if (!bytes.ok()) out = bytes.status();
      }
      if (out.ok()) *next = std::move(trial);
    }
    if (out.ok()) {
      exists = true;
      any_applied = true;
    }
  }
  if (!isolate) {
    edit.Finish();
    *valid = edit.Validate();
    auto c = std::make_unique<ClusterChanges>();
    if (edit.Changes(&c->touched, &c->removed)) *changes = std::move(c);
    *index = edit.TakeIndex();
  } else {
    *valid = Status::Ok();
  }
  return any_applied;
}

void ClusterWriter::WriteBatch(NameState* state, const std::string& name,
                               const std::vector<PendingWrite*>& batch) {
  // outcomes[i]: how mutation i applied to the latest attempt's copy; a
  // failure of the write itself is the answer of every mutation that applied.
  std::vector<Status> outcomes(batch.size());
  auto fail_all = [&](const Status& s) {
    for (size_t i = 0; i < batch.size(); ++i) {
      if (outcomes[i].ok()) batch[i]->result = s;
    }
  };
  std::string fence;
  Status s = fencing_.check_writable(&fence);
  if (!s.ok()) return fail_all(s);
  ++batches_;
  batched_mutations_ += batch.size();
  std::lock_guard lock(state->write_mu);
  // isolate: the batch as a whole could not be stored; apply one mutation
  // at a time so the one that cannot apply fails alone.
  bool isolate = false;
  for (int attempt = 0; attempt < options_.max_write_attempts;) {
    // Definition and znode version from one snapshot: a newer definition
    // applied between two reads would be written over at its own version.
    ClusterRegistry::WriteBase base = registry_->ForWrite(name);
    const bool existed = base.definition != nullptr;
    // This batch makes the next version from the base's index: it takes it
    // (no copy of the table). A batch that fails leaves none; the next one
    // builds it again.
    base.index.reset();
    if (existed) base.index = registry_->TakeIndex(name, base.definition.get());
    Cluster next;
    if (existed) next = CopyForEdit(*base.definition);
    std::fill(outcomes.begin(), outcomes.end(), Status::Ok());
    Status valid;
    std::unique_ptr<ClusterChanges> changes;
    std::shared_ptr<const SpecIndex> index = std::move(base.index);
    bool any_applied =
        ApplyBatch(name, batch, existed, isolate, &next, &outcomes, &valid, &changes, &index);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!outcomes[i].ok()) batch[i]->result = outcomes[i];
    }
    if (!any_applied) {
      // Nothing changed: the base's index (taken above) still fits it.
      if (existed && index) registry_->ReturnIndex(name, base.definition.get(), std::move(index));
      return;
    }
    if (!valid.ok()) {
      if (batch.size() == 1) return fail_all(valid);
      isolate = true;
      continue;
    }
    if (before_save_) before_save_(name);
    // `next` moves into the store (no copy); an attempt that fails rebuilds it.
    const auto store_start = std::chrono::steady_clock::now();
    Result<StoredCluster> r = store_->Save(std::move(next), existed ? base.znode_version : -1,
                                           fence, existed ? changes.get() : nullptr);
    if (store_observer_) {
      store_observer_(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - store_start).count());
    }
    if (r.ok()) {
      WriteAck ack{name, r->cluster.version, false};
      ack.delta =
          DeltaOf(batch, outcomes, existed ? base.definition->version : 0, r->znode_version);
      // The store keeps the nodes' order, so the batch's index fits them.
      registry_->ApplyDefinition(std::move(r->cluster), r->znode_version, r->czxid,
                                 std::move(index));
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!outcomes[i].ok()) continue;
        batch[i]->result = ack;
        ++writes_ok_;
      }
      return;
    }
    if (r.status().code() == Status::Code::kTooLarge && !isolate && batch.size() > 1) {
      isolate = true;
      continue;
    }
    if (r.status().code() == Status::Code::kNotLeader && RetryUnderCurrentFence(&fence)) {
      ++attempt;
      continue;
    }
    if (!r.status().IsConflict()) {
      ++writes_failed_;
      fail_all(r.status());
      return;
    }
    ++write_conflicts_;
    ++attempt;
    s = fencing_.reload(name);
    if (!s.ok()) return fail_all(s);
  }
  ++writes_failed_;
  fail_all(Status::Conflict("cluster '" + name + "' kept changing; gave up after " +
                            std::to_string(options_.max_write_attempts) + " attempts"));
}

Result<WriteAck> ClusterWriter::PutCluster(const Cluster& cluster) {
  return Mutate(cluster.name, true, true, [&cluster](ClusterEdit* e) {
    Cluster* c = e->whole();
    int64_t version = c->version;
    *c = cluster;
    c->version = version;
    return Status::Ok();
  });
}

Result<WriteAck> ClusterWriter::DeleteCluster(const std::string& name) {
  std::string fence;
  Status s = fencing_.check_writable(&fence);
  if (!s.ok()) return s;
  NameRef state = AcquireName(name);
  std::lock_guard lock(state->write_mu);
  for (int attempt = 0; attempt < options_.max_write_attempts; ++attempt) {
    std::optional<int32_t> znode_version = registry_->ZnodeVersion(name);
    if (!znode_version) return Status::NotFound("cluster '" + name + "' does not exist");
    Result<int64_t> deleted_at = store_->Remove(name, *znode_version, fence);
    if (deleted_at.ok()) {
      // The deletion's zxid orders it against loads and re-creations, here
      // and (through the ack) in a follower's read-your-writes wait.
      registry_->ApplyRemoval(name, deleted_at.value());
      ++writes_ok_;
      return WriteAck{name, deleted_at.value(), true};
    }
    s = deleted_at.status();
    if (s.code() == Status::Code::kNotLeader && RetryUnderCurrentFence(&fence)) continue;
    if (!s.IsConflict()) {
      ++writes_failed_;
      return s;
    }
    ++write_conflicts_;
    s = fencing_.reload(name);
    if (!s.ok()) return s;
  }
  ++writes_failed_;
  return Status::Conflict("cluster '" + name + "' kept changing; gave up");
}

Status ClusterWriter::ApplyOp(const AppliedOp& op, ClusterEdit* e) {
  switch (op.kind) {
    case AppliedOp::Kind::kSetClusterOnline:
      e->SetOnline(op.online);
      return Status::Ok();
    case AppliedOp::Kind::kAddNodes: {
      size_t added = 0;
      for (const Node& n : op.nodes) added += e->Contains(n.Spec()) ? 0 : 1;
      // Refuse before touching anything: this mutation may share a batch.
      if (e->node_count() + added > limits::kMaxNodesPerCluster) {
        return Status::InvalidArgument("nodes: cluster '" + e->name() + "' would have " +
                                       std::to_string(e->node_count() + added) +
                                       " nodes, more than " +
                                       std::to_string(limits::kMaxNodesPerCluster));
      }
      for (const Node& n : op.nodes) e->Upsert(n);
      return Status::Ok();
    }
    case AppliedOp::Kind::kRemoveNodes:
      // Check every spec before removing any: this mutation may share a batch.
      for (size_t i = 0; i < op.specs.size(); ++i) {
        if (!e->Contains(op.specs[i])) {
          return Status::NotFound("specs[" + std::to_string(i) + "]: '" + op.specs[i] +
                                  "' is not a node of cluster '" + e->name() + "'");
        }
      }
      for (const std::string& spec : op.specs) e->Remove(spec);
      return Status::Ok();
    case AppliedOp::Kind::kSetNodeOnline: {
      const std::string spec = op.specs.empty() ? std::string() : op.specs[0];
      Node* n = e->Find(spec);
      if (n == nullptr) {
        return Status::NotFound("spec: '" + spec + "' is not a node of cluster '" + e->name() +
                                "'");
      }
      n->online = op.online;
      return Status::Ok();
    }
  }
  return Status::Internal("unknown mutation kind");
}

Result<WriteAck> ClusterWriter::Run(const std::string& name, AppliedOp op) {
  return Mutate(name, false, false, [&op](ClusterEdit* e) { return ApplyOp(op, e); }, {&op, 1});
}

Result<WriteAck> ClusterWriter::SetClusterOnline(const std::string& name, bool online) {
  AppliedOp op;
  op.kind = AppliedOp::Kind::kSetClusterOnline;
  op.online = online;
  return Run(name, std::move(op));
}

Result<WriteAck> ClusterWriter::AddNodes(const std::string& name, const std::vector<Node>& nodes) {
  AppliedOp op;
  op.kind = AppliedOp::Kind::kAddNodes;
  op.nodes = nodes;
  return Run(name, std::move(op));
}

Result<WriteAck> ClusterWriter::RemoveNodes(const std::string& name,
                                            const std::vector<std::string>& specs) {
  AppliedOp op;
  op.kind = AppliedOp::Kind::kRemoveNodes;
  op.specs = specs;
  return Run(name, std::move(op));
}

Result<WriteAck> ClusterWriter::SetNodeOnline(const std::string& name, const std::string& spec,
                                              bool online) {
  AppliedOp op;
  op.kind = AppliedOp::Kind::kSetNodeOnline;
  op.specs = {spec};
  op.online = online;
  return Run(name, std::move(op));
}

Result<WriteAck> ClusterWriter::ChangeNodes(const std::string& name,
                                            const std::vector<std::string>& remove,
                                            const std::vector<Node>& add) {
  std::vector<AppliedOp> ops;
  if (!remove.empty()) {
    ops.emplace_back();
    ops.back().kind = AppliedOp::Kind::kRemoveNodes;
    ops.back().specs = remove;
  }
  if (!add.empty()) {
    ops.emplace_back();
    ops.back().kind = AppliedOp::Kind::kAddNodes;
    ops.back().nodes = add;
  }
  auto change = [&remove, &add, &ops](ClusterEdit* e) -> Status {
    // Everything that can refuse is checked before anything is touched:
    // this mutation may share a batch, and it applies whole or not at all.
    std::unordered_set<std::string_view> removing;
    removing.reserve(remove.size());
    for (size_t i = 0; i < remove.size(); ++i) {
      if (!e->Contains(remove[i])) {
        return Status::NotFound("remove[" + std::to_string(i) + "]: '" + remove[i] +
                                "' is not a node of cluster '" + e->name() + "'");
      }
      removing.insert(remove[i]);
    }
    size_t added = 0;
    for (const Node& n : add) {
      const std::string spec = n.Spec();
      added += !e->Contains(spec) || removing.count(spec) > 0 ? 1 : 0;
    }
    const size_t after = e->node_count() - removing.size() + added;
    if (after > limits::kMaxNodesPerCluster) {
      return Status::InvalidArgument("add: cluster '" + e->name() + "' would have " +
                                     std::to_string(after) + " nodes, more than " +
                                     std::to_string(limits::kMaxNodesPerCluster));
    }
    // As a follower replays it (the ops of the ack): neither can fail now.
    for (const AppliedOp& op : ops) {
      Status s = ApplyOp(op, e);
      if (!s.ok()) return Status::Internal("change of nodes half applied: " + s.message());
    }
    return Status::Ok();
  };
  if (ops.empty()) return Status::InvalidArgument("body: nothing to remove or add");
  return Mutate(name, false, false, change, ops);
}

}  // namespace jcm
