// ClusterWriter on a fake ZooKeeper (tests/unit/server/fake_zk.h): group
// commit, conflict and retry, fence loss, a mutation failing alone, an
// exception in a batch. No processes; each test runs in milliseconds.
#include "server/cluster_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "model/limits.h"
#include "server/cluster_edit.h"
#include "tests/unit/server/fake_zk.h"

namespace jcm {
namespace {

using std::chrono::milliseconds;

Node MakeNode(int i) {
  Node n;
  n.ip = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  n.protos.push_back({8080, Proto::kHttp});
  return n;
}

// A one-shot gate: Wait() blocks until Open().
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

template <typename Pred>
bool WaitUntil(Pred pred) {
  for (int i = 0; i < 5000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return pred();
}

class ClusterWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.EnsureLayout().ok());
    Result<std::string> fence = zk_.Create("/jcm/servers/member-a-", "", ZkApi::kSequential);
    ASSERT_TRUE(fence.ok());
    SetFence(fence.value());
    ClusterWriter::Fencing f;
    f.check_writable = [this](std::string* out) {
      if (!leader_.load()) return Status::NotLeader("not the leader");
      *out = CurrentFence();
      return Status::Ok();
    };
    f.current_fence = [this] { return CurrentFence(); };
    f.on_fence_lost = [this](const std::string& fence) {
      lost_fences_.push_back(fence);
      if (fence == CurrentFence()) leader_ = false;
    };
    f.reload = [this](const std::string& name) {
      ++reloads_;
      Result<StoredCluster> c = store_.Load(name, false);
      if (!c.ok()) return c.status();
      registry_.ApplyDefinition(std::move(c->cluster), c->znode_version, c->czxid);
      return Status::Ok();
    };
    ClusterWriter::Options o;
    o.max_write_attempts = 4;
    writer_ = std::make_unique<ClusterWriter>(&store_, &registry_, std::move(f), o);
  }

  std::string CurrentFence() {
    std::lock_guard lock(mu_);
    return fence_;
  }
  void SetFence(std::string f) {
    std::lock_guard lock(mu_);
    fence_ = std::move(f);
  }

  // From now on the first multi sets `held` and waits for `release`.
  void HoldFirstMulti(Gate* release, std::atomic<bool>* held) {
    zk_.before_multi = [release, held](const std::vector<ZkOp>&) {
      if (!held->exchange(true)) release->Wait();
      return Status::Ok();
    };
  }

  // Creates cluster `name` with `n` nodes through the writer.
  void Seed(const std::string& name, int n) {
    Cluster c;
    c.name = name;
    for (int i = 0; i < n; ++i) c.nodes.push_back(MakeNode(i));
    ASSERT_TRUE(writer_->PutCluster(c).ok());
  }

  // What ZooKeeper holds for `name`.
  StoredCluster Stored(const std::string& name) {
    Result<StoredCluster> c = store_.Load(name, false);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c.value() : StoredCluster{};
  }

  testing::FakeZk zk_;
  ClusterStore store_{&zk_, "/jcm"};
  ClusterRegistry registry_;
  std::unique_ptr<ClusterWriter> writer_;
  std::mutex mu_;
  std::string fence_;  // GUARDED_BY(mu_)
  std::atomic<bool> leader_{true};
  std::vector<std::string> lost_fences_;
  std::atomic<int> reloads_{0};
};

TEST_F(ClusterWriterTest, QueuedMutationsShareOneStore) {
  Seed("web", 1);
  const uint64_t batches_before = writer_->stats().batches;
  // Hold the first store until 20 more mutations queue behind it.
  Gate release;
  std::atomic<bool> held{false};
  HoldFirstMulti(&release, &held);
  std::vector<std::future<Result<WriteAck>>> acks;
  acks.push_back(
      std::async(std::launch::async, [&] { return writer_->AddNodes("web", {MakeNode(100)}); }));
  ASSERT_TRUE(WaitUntil([&] { return held.load(); }));
  for (int i = 0; i < 20; ++i) {
    acks.push_back(std::async(std::launch::async,
                              [&, i] { return writer_->AddNodes("web", {MakeNode(200 + i)}); }));
  }
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 20; }));
  release.Open();
  std::vector<int64_t> versions;
  for (auto& f : acks) {
    Result<WriteAck> r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    versions.push_back(r->version);
  }
  // One store for the held mutation, one for the 20 queued behind it.
  EXPECT_EQ(writer_->stats().batches - batches_before, 2u);
  for (size_t i = 2; i < versions.size(); ++i) EXPECT_EQ(versions[i], versions[1]);
  EXPECT_LT(versions[0], versions[1]);
  StoredCluster stored = Stored("web");
  EXPECT_EQ(stored.cluster.nodes.size(), 22u);
  EXPECT_EQ(stored.cluster.version, versions[1]);
  // The registry holds what was acknowledged, without waiting for a watch.
  EXPECT_EQ(registry_.Get("web")->version, versions[1]);
  EXPECT_EQ(writer_->PerNameStateCount(), 0u);
}

TEST_F(ClusterWriterTest, ConflictRereadsAndKeepsTheOtherWrite) {
  Seed("web", 1);
  // Another writer changes the znode just before our first store.
  std::atomic<int> calls{0};
  zk_.before_multi = [&](const std::vector<ZkOp>&) {
    if (calls++ == 0) {
      StoredCluster other = Stored("web");
      other.cluster.nodes.push_back(MakeNode(50));
      Result<std::string> bytes = ClusterStore::Encode(other.cluster);
      EXPECT_TRUE(
          zk_.Set(store_.ClusterPath("web"), bytes.value(), other.znode_version, nullptr).ok());
    }
    return Status::Ok();
  };
  Result<WriteAck> r = writer_->AddNodes("web", {MakeNode(60)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(writer_->stats().conflicts, 1u);
  EXPECT_EQ(reloads_.load(), 1);
  StoredCluster stored = Stored("web");
  ASSERT_EQ(stored.cluster.nodes.size(), 3u);  // nothing overwritten
  EXPECT_NE(stored.cluster.FindNode(MakeNode(50).Spec()), nullptr);
  EXPECT_NE(stored.cluster.FindNode(MakeNode(60).Spec()), nullptr);
  EXPECT_EQ(stored.cluster.version, r->version);
}

// The store observer times each ZooKeeper store of a batch, one per
// attempt: a conflict's retry is a second store.
TEST_F(ClusterWriterTest, EachStoreOfABatchIsTimed) {
  std::vector<double> stores;
  std::mutex stores_mu;
  writer_->SetStoreObserver([&](double seconds) {
    std::lock_guard lock(stores_mu);
    stores.push_back(seconds);
  });
  Seed("web", 1);
  ASSERT_EQ(stores.size(), 1u);
  // The next store takes 30 ms in ZooKeeper and conflicts (another writer
  // got there first); the retry stores at once.
  std::atomic<int> calls{0};
  zk_.before_multi = [&](const std::vector<ZkOp>&) {
    if (calls++ == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // ZooKeeper's latency
      StoredCluster other = Stored("web");
      Result<std::string> bytes = ClusterStore::Encode(other.cluster);
      EXPECT_TRUE(
          zk_.Set(store_.ClusterPath("web"), bytes.value(), other.znode_version, nullptr).ok());
    }
    return Status::Ok();
  };
  ASSERT_TRUE(writer_->AddNodes("web", {MakeNode(60)}).ok());
  EXPECT_EQ(writer_->stats().conflicts, 1u);
  std::lock_guard lock(stores_mu);
  ASSERT_EQ(stores.size(), 3u);
  EXPECT_GE(stores[1], 0.03);
}

TEST_F(ClusterWriterTest, EndlessConflictGivesUpWithConflict) {
  Seed("web", 1);
  bool in_hook = false;  // the other writer's Set passes through the hook too
  zk_.before_multi = [&](const std::vector<ZkOp>&) {
    if (in_hook) return Status::Ok();
    in_hook = true;
    StoredCluster other = Stored("web");
    Result<std::string> bytes = ClusterStore::Encode(other.cluster);
    EXPECT_TRUE(
        zk_.Set(store_.ClusterPath("web"), bytes.value(), other.znode_version, nullptr).ok());
    in_hook = false;
    return Status::Ok();
  };
  Result<WriteAck> r = writer_->AddNodes("web", {MakeNode(60)});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsConflict()) << r.status().ToString();
  EXPECT_EQ(writer_->stats().conflicts, 4u);
  EXPECT_EQ(writer_->stats().failed, 1u);
  EXPECT_EQ(Stored("web").cluster.nodes.size(), 1u);
}

TEST_F(ClusterWriterTest, LossOfTheCurrentFenceDemotes) {
  Seed("web", 1);
  ASSERT_TRUE(zk_.Delete(CurrentFence(), -1).ok());  // our session's znode is gone
  Result<WriteAck> r = writer_->AddNodes("web", {MakeNode(60)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotLeader) << r.status().ToString();
  EXPECT_FALSE(leader_.load());
  ASSERT_EQ(lost_fences_.size(), 1u);
  EXPECT_EQ(Stored("web").cluster.nodes.size(), 1u);
  // And no further write is attempted while demoted.
  const int multis = zk_.multis();
  EXPECT_EQ(writer_->AddNodes("web", {MakeNode(61)}).status().code(), Status::Code::kNotLeader);
  EXPECT_EQ(zk_.multis(), multis);
}

TEST_F(ClusterWriterTest, StaleFenceRetriesUnderTheNewOneWithoutDemoting) {
  Seed("web", 1);
  const std::string old_fence = CurrentFence();
  // Between taking its fence and storing, the session changed: a new
  // registration leads, the old znode is gone.
  std::atomic<bool> switched{false};
  writer_->SetBeforeSave([&](const std::string&) {
    if (switched.exchange(true)) return;
    Result<std::string> next = zk_.Create("/jcm/servers/member-b-", "", ZkApi::kSequential);
    ASSERT_TRUE(next.ok());
    ASSERT_TRUE(zk_.Delete(old_fence, -1).ok());
    SetFence(next.value());
  });
  Result<WriteAck> r = writer_->AddNodes("web", {MakeNode(60)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(leader_.load());
  ASSERT_EQ(lost_fences_.size(), 1u);
  EXPECT_EQ(lost_fences_[0], old_fence);
  EXPECT_EQ(Stored("web").cluster.nodes.size(), 2u);
}

TEST_F(ClusterWriterTest, MutationsThatCannotApplyFailAloneInTheirBatch) {
  Seed("web", 1);
  Gate release;
  std::atomic<bool> held{false};
  HoldFirstMulti(&release, &held);
  auto first =
      std::async(std::launch::async, [&] { return writer_->SetClusterOnline("web", true); });
  ASSERT_TRUE(WaitUntil([&] { return held.load(); }));
  auto good1 =
      std::async(std::launch::async, [&] { return writer_->AddNodes("web", {MakeNode(10)}); });
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 1; }));
  // Refused by the mutation itself: the spec is not in the cluster.
  auto refused = std::async(std::launch::async,
                            [&] { return writer_->RemoveNodes("web", {"10.9.9.9|HTTP:1"}); });
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 2; }));
  // Applies, but leaves an invalid cluster (weight out of range).
  Node bad = MakeNode(11);
  bad.weight = 0;
  auto invalid = std::async(std::launch::async, [&] { return writer_->AddNodes("web", {bad}); });
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 3; }));
  auto good2 =
      std::async(std::launch::async, [&] { return writer_->AddNodes("web", {MakeNode(12)}); });
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 4; }));
  release.Open();
  ASSERT_TRUE(first.get().ok());
  Result<WriteAck> g1 = good1.get(), g2 = good2.get(), rf = refused.get(), inv = invalid.get();
  ASSERT_TRUE(g1.ok()) << g1.status().ToString();
  ASSERT_TRUE(g2.ok()) << g2.status().ToString();
  EXPECT_TRUE(rf.status().IsNotFound()) << rf.status().ToString();
  EXPECT_EQ(inv.status().code(), Status::Code::kInvalidArgument) << inv.status().ToString();
  StoredCluster stored = Stored("web");
  EXPECT_EQ(stored.cluster.nodes.size(), 3u);
  EXPECT_EQ(stored.cluster.FindNode(bad.Spec()), nullptr);
  EXPECT_GE(g2->version, g1->version);
  // The ack's delta replays what applied: the two good mutations, in order.
  ASSERT_NE(g2->delta, nullptr);
  ASSERT_EQ(g2->delta->ops.size(), 2u);
  EXPECT_EQ(g2->delta->ops[0].nodes[0].Spec(), MakeNode(10).Spec());
  EXPECT_EQ(g2->delta->ops[1].nodes[0].Spec(), MakeNode(12).Spec());
  EXPECT_EQ(stored.cluster.version, g2->version);
}

// A change of nodes removes, then adds, in one write; its ack's delta is a
// removal and an addition, and replaying it on the base gives what was
// stored.
TEST_F(ClusterWriterTest, AChangeOfNodesRemovesThenAddsAndReplays) {
  Seed("web", 4);
  const ClusterRegistry::WriteBase base = registry_.ForWrite("web");
  ASSERT_NE(base.definition, nullptr);
  Node again = MakeNode(1);
  again.weight = 7;
  Result<WriteAck> r =
      writer_->ChangeNodes("web", {MakeNode(1).Spec(), MakeNode(2).Spec()}, {again, MakeNode(20)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  StoredCluster stored = Stored("web");
  ASSERT_EQ(stored.cluster.nodes.size(), 4u);  // 0, 1 (weight 7), 3, 20
  EXPECT_EQ(stored.cluster.FindNode(MakeNode(2).Spec()), nullptr);
  ASSERT_NE(stored.cluster.FindNode(MakeNode(1).Spec()), nullptr);
  EXPECT_EQ(stored.cluster.FindNode(MakeNode(1).Spec())->weight, 7);
  EXPECT_NE(stored.cluster.FindNode(MakeNode(20).Spec()), nullptr);
  EXPECT_EQ(stored.cluster.version, r->version);
  ASSERT_NE(r->delta, nullptr);
  ASSERT_EQ(r->delta->ops.size(), 2u);
  EXPECT_EQ(r->delta->ops[0].kind, AppliedOp::Kind::kRemoveNodes);
  EXPECT_EQ(r->delta->ops[1].kind, AppliedOp::Kind::kAddNodes);
  Cluster replayed = CopyForEdit(*base.definition);
  ClusterEdit edit(&replayed);
  for (const AppliedOp& op : r->delta->ops) ASSERT_TRUE(ClusterWriter::ApplyOp(op, &edit).ok());
  edit.Finish();
  ASSERT_EQ(replayed.nodes.size(), stored.cluster.nodes.size());
  for (const Node& n : stored.cluster.nodes) {
    const Node* got = replayed.FindNode(n.Spec());
    ASSERT_NE(got, nullptr) << n.Spec();
    EXPECT_TRUE(got->SameDefinition(n)) << n.Spec();
  }
}

// A change with a spec to remove that is not there fails whole, naming it,
// and the rest of its batch is written without it.
TEST_F(ClusterWriterTest, AChangeThatCannotApplyChangesNothingAndFailsAlone) {
  Seed("web", 3);
  Gate release;
  std::atomic<bool> held{false};
  HoldFirstMulti(&release, &held);
  auto first =
      std::async(std::launch::async, [&] { return writer_->SetClusterOnline("web", true); });
  ASSERT_TRUE(WaitUntil([&] { return held.load(); }));
  // Its first removal and its addition would apply; the second cannot.
  auto refused = std::async(std::launch::async, [&] {
    return writer_->ChangeNodes("web", {MakeNode(0).Spec(), "10.9.9.9|HTTP:1"}, {MakeNode(30)});
  });
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 1; }));
  auto good = std::async(std::launch::async, [&] {
    return writer_->ChangeNodes("web", {MakeNode(1).Spec()}, {MakeNode(31)});
  });
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 2; }));
  release.Open();
  ASSERT_TRUE(first.get().ok());
  Result<WriteAck> rf = refused.get(), g = good.get();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(rf.status().IsNotFound()) << rf.status().ToString();
  EXPECT_NE(rf.status().message().find("remove[1]"), std::string::npos) << rf.status().ToString();
  EXPECT_NE(rf.status().message().find("10.9.9.9|HTTP:1"), std::string::npos);
  StoredCluster stored = Stored("web");
  EXPECT_NE(stored.cluster.FindNode(MakeNode(0).Spec()), nullptr);
  EXPECT_EQ(stored.cluster.FindNode(MakeNode(30).Spec()), nullptr);
  EXPECT_EQ(stored.cluster.FindNode(MakeNode(1).Spec()), nullptr);
  EXPECT_NE(stored.cluster.FindNode(MakeNode(31).Spec()), nullptr);
  EXPECT_EQ(stored.cluster.nodes.size(), 3u);
  ASSERT_NE(g->delta, nullptr);
  EXPECT_EQ(g->delta->ops.size(), 2u);  // only the good change's removal and addition
}

// The node limit counts what a change removes: at the limit, replacing a
// node passes, and adding one more does not (and changes nothing).
TEST_F(ClusterWriterTest, AChangeIsCheckedAgainstTheNodeLimitAfterItsRemovals) {
  // (MakeNode's addresses stop at 64,000; these go past the limit.)
  auto node = [](size_t i) {
    Node n;
    n.ip = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
           std::to_string(i & 255);
    n.protos.push_back({8080, Proto::kHttp});
    return n;
  };
  Cluster full;
  full.name = "web";
  for (size_t i = 0; i < limits::kMaxNodesPerCluster; ++i) full.nodes.push_back(node(i));
  ASSERT_TRUE(writer_->PutCluster(full).ok());
  const size_t n = limits::kMaxNodesPerCluster;
  Result<WriteAck> swap = writer_->ChangeNodes("web", {node(0).Spec()}, {node(n)});
  ASSERT_TRUE(swap.ok()) << swap.status().ToString();
  Result<WriteAck> over = writer_->ChangeNodes("web", {node(1).Spec()}, {node(n + 1), node(n + 2)});
  ASSERT_EQ(over.status().code(), Status::Code::kInvalidArgument) << over.status().ToString();
  EXPECT_NE(over.status().message().find("add"), std::string::npos);
  ClusterPtr held = registry_.Get("web");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->nodes.size(), limits::kMaxNodesPerCluster);
  EXPECT_NE(held->FindNode(node(1).Spec()), nullptr);
  EXPECT_EQ(held->version, swap->version);
}

TEST_F(ClusterWriterTest, AnExceptionFailsItsBatchAndTheQueueGoesOn) {
  Seed("web", 1);
  Result<WriteAck> r = writer_->Mutate(
      "web", false, false, [](ClusterEdit*) -> Status { throw std::runtime_error("boom"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInternal);
  EXPECT_NE(r.status().message().find("boom"), std::string::npos);
  EXPECT_EQ(writer_->PerNameStateCount(), 0u);
  // The cluster is still writable.
  Result<WriteAck> next = writer_->AddNodes("web", {MakeNode(70)});
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(Stored("web").cluster.nodes.size(), 2u);
}

TEST_F(ClusterWriterTest, AnExceptionInTheStoreDoesNotWedgeQueuedWriters) {
  Seed("web", 1);
  Gate release;
  std::atomic<int> calls{0};
  zk_.before_multi = [&](const std::vector<ZkOp>&) -> Status {
    if (calls++ == 0) {
      release.Wait();
      throw std::runtime_error("store blew up");
    }
    return Status::Ok();
  };
  auto first =
      std::async(std::launch::async, [&] { return writer_->AddNodes("web", {MakeNode(10)}); });
  ASSERT_TRUE(WaitUntil([&] { return calls.load() == 1; }));
  auto second =
      std::async(std::launch::async, [&] { return writer_->AddNodes("web", {MakeNode(11)}); });
  ASSERT_TRUE(WaitUntil([&] { return writer_->QueuedWrites("web") == 1; }));
  release.Open();
  EXPECT_EQ(first.get().status().code(), Status::Code::kInternal);
  Result<WriteAck> r = second.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Stored("web").cluster.nodes.size(), 2u);
}

TEST_F(ClusterWriterTest, DeleteAcksWithTheDeletionsZxid) {
  Seed("web", 1);
  Result<WriteAck> r = writer_->DeleteCluster("web");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->deleted);
  EXPECT_EQ(r->version, zk_.zxid());
  EXPECT_EQ(registry_.Get("web"), nullptr);
  EXPECT_TRUE(store_.Load("web", false).status().IsNotFound());
  EXPECT_TRUE(writer_->DeleteCluster("web").status().IsNotFound());
  EXPECT_TRUE(writer_->AddNodes("web", {MakeNode(1)}).status().IsNotFound());
}

TEST_F(ClusterWriterTest, NotWritableFailsBeforeTouchingZooKeeper) {
  leader_ = false;
  const int multis = zk_.multis();
  Cluster c;
  c.name = "web";
  EXPECT_EQ(writer_->PutCluster(c).status().code(), Status::Code::kNotLeader);
  EXPECT_EQ(zk_.multis(), multis);
}

}  // namespace
}  // namespace jcm

namespace jcm {
namespace {

// A batch takes the base version's spec index; the version it writes
// brings the next one. A batch whose every mutation failed changed nothing
// and gives the index back.
TEST_F(ClusterWriterTest, TheSpecIndexPassesFromVersionToVersion) {
  Seed("web", 3);
  ASSERT_TRUE(writer_->AddNodes("web", {MakeNode(10)}).ok());
  std::shared_ptr<const SpecIndex> held = registry_.ForWrite("web").index;
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->node_count, 4u);
  held.reset();
  Result<WriteAck> refused = writer_->RemoveNodes("web", {"10.9.9.9|HTTP:1"});
  ASSERT_TRUE(refused.status().IsNotFound());
  held = registry_.ForWrite("web").index;
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->node_count, 4u);
  held.reset();
  ASSERT_TRUE(writer_->RemoveNodes("web", {MakeNode(0).Spec()}).ok());
  held = registry_.ForWrite("web").index;
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->node_count, 3u);
  EXPECT_EQ(registry_.Get("web")->nodes.size(), 3u);
}

TEST_F(ClusterWriterTest, AckCarriesTheAppliedMutationsOnly) {
  Seed("web", 2);
  const int64_t base = Stored("web").cluster.version;
  Result<WriteAck> refused = writer_->RemoveNodes("web", {"10.9.9.9|HTTP:1"});
  ASSERT_TRUE(refused.status().IsNotFound());
  Result<WriteAck> r = writer_->AddNodes("web", {MakeNode(30)});
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->delta, nullptr);
  EXPECT_EQ(r->delta->base_version, base);
  EXPECT_EQ(r->delta->znode_version, Stored("web").znode_version);
  ASSERT_EQ(r->delta->ops.size(), 1u);
  EXPECT_EQ(r->delta->ops[0].kind, AppliedOp::Kind::kAddNodes);
  // Too large a delta is not sent: the follower's watch brings it.
  std::vector<Node> many;
  for (int i = 0; i < 5000; ++i) many.push_back(MakeNode(1000 + i));
  Result<WriteAck> big = writer_->AddNodes("web", many);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->delta, nullptr);
}

}  // namespace
}  // namespace jcm
