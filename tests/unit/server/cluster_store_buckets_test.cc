// ClusterStore's bucketed form on a fake ZooKeeper (issue 10 item 5): small
// clusters stay inline, large ones are a header plus hash buckets; a write
// of one node sets the header and one bucket; a reader re-reads only the
// buckets that changed, and copes with a write racing its read; an inline
// cluster written by an older jcm migrates on its first write; leftovers of
// an unfinished rewrite go; hostile headers and buckets are unreadable,
// never a crash. Each test runs in milliseconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <set>

#include "model/cluster_codec.h"
#include "server/cluster_registry.h"
#include "server/cluster_writer.h"
#include "storage/cluster_buckets.h"
#include "storage/cluster_store.h"
#include "storage/compression.h"
#include "tests/unit/server/fake_zk.h"

namespace jcm {
namespace {

Node MakeNode(int i, size_t udata = 0) {
  Node n;
  n.ip = "10." + std::to_string(i / 62500) + "." + std::to_string(i / 250 % 250) + "." +
         std::to_string(i % 250 + 1);
  n.protos.push_back({8080, Proto::kHttp});
  if (udata > 0) {
    std::mt19937 rng(static_cast<unsigned>(i));
    n.udata.resize(udata);
    for (char& c : n.udata) c = static_cast<char>('a' + rng() % 26);
  }
  return n;
}

Cluster MakeCluster(const std::string& name, int count, size_t udata = 0) {
  Cluster c;
  c.name = name;
  c.check_type = CheckType::kNone;
  for (int i = 0; i < count; ++i) c.nodes.push_back(MakeNode(i, udata));
  return c;
}

std::vector<std::string> SortedSpecs(const Cluster& c) {
  std::vector<std::string> out;
  for (const Node& n : c.nodes) out.push_back(n.Spec());
  std::sort(out.begin(), out.end());
  return out;
}

bool IsBucketPath(const std::string& path) {
  return std::count(path.begin(), path.end(), '/') == 4;  // /jcm/clusters/<name>/<g>-<i>
}

class ClusterStoreBucketsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(writer_store_.EnsureLayout().ok());
    Result<std::string> fence = zk_.Create("/jcm/servers/member-a-", "", ZkApi::kSequential);
    ASSERT_TRUE(fence.ok());
    fence_ = fence.value();
  }

  std::string Data(const std::string& path) {
    Result<std::string> d = zk_.Get(path, nullptr, false);
    return d.ok() ? d.value() : std::string();
  }
  std::vector<std::string> Children(const std::string& name) {
    Result<std::vector<std::string>> c = zk_.GetChildren(writer_store_.ClusterPath(name), false);
    return c.ok() ? c.value() : std::vector<std::string>{};
  }
  ClusterBuckets::Header Header(const std::string& name) {
    ClusterBuckets::Header h;
    EXPECT_TRUE(ClusterBuckets::DecodeHeader(Data(writer_store_.ClusterPath(name)), &h).ok());
    return h;
  }
  // Records the ops of every multi from now on.
  void RecordMultis() {
    zk_.before_multi = [this](const std::vector<ZkOp>& ops) {
      std::lock_guard lock(mu_);
      multis_.push_back(ops);
      return Status::Ok();
    };
  }
  std::vector<std::vector<ZkOp>> TakeMultis() {
    std::lock_guard lock(mu_);
    return std::move(multis_);
  }
  // The leader's writer on writer_store_, publishing into `registry`: it
  // tells the store what each batch changed.
  std::unique_ptr<ClusterWriter> Writer(ClusterRegistry* registry) {
    ClusterWriter::Fencing f;
    f.check_writable = [this](std::string* out) {
      *out = fence_;
      return Status::Ok();
    };
    f.current_fence = [this] { return fence_; };
    f.on_fence_lost = [](const std::string&) {};
    f.reload = [this, registry](const std::string& name) {
      Result<StoredCluster> c = writer_store_.Load(name, false);
      if (!c.ok()) return c.status();
      registry->ApplyDefinition(std::move(c->cluster), c->znode_version, c->czxid);
      return Status::Ok();
    };
    return std::make_unique<ClusterWriter>(&writer_store_, registry, f, ClusterWriter::Options{});
  }
  // Writes one version of bucketed cluster `name` by hand, as a writer with
  // a bug would: `stored` (nodes of one bucket) go into their bucket, its
  // version and the node count; `shape` then fills the header's delta (and
  // previous), given the mzxid of the header it replaces.
  void WriteByHand(const std::string& name, const std::vector<Node>& stored,
                   const std::function<void(ClusterBuckets::Header*, int64_t)>& shape) {
    const std::string path = writer_store_.ClusterPath(name);
    ClusterBuckets::Header h = Header(name);
    const auto nb = static_cast<uint32_t>(h.versions.size());
    const uint32_t b = ClusterBuckets::BucketOf(stored[0].Spec(), nb);
    const std::string bucket_path = path + "/" + ClusterBuckets::BucketName(h.generation, b);
    ZkStat bucket_stat;
    Result<std::string> bucket = zk_.Get(bucket_path, &bucket_stat, false);
    ASSERT_TRUE(bucket.ok());
    std::vector<Node> nodes;
    std::vector<std::string> specs;
    size_t json_bytes = 0;
    ASSERT_TRUE(
        ClusterBuckets::DecodeBucket(bucket.value(), b, nb, 1 << 30, &nodes, &specs, &json_bytes)
            .ok());
    nodes.insert(nodes.end(), stored.begin(), stored.end());
    ++h.versions[b];
    h.node_count += static_cast<uint32_t>(stored.size());
    ZkStat header_stat;
    ASSERT_TRUE(zk_.Get(path, &header_stat, false).ok());
    shape(&h, header_stat.mzxid);
    std::vector<ZkOpResult> results;
    ASSERT_TRUE(zk_.Multi({ZkOp::Set(bucket_path, ClusterBuckets::EncodeBucket(nodes, &json_bytes),
                                     bucket_stat.version),
                           ZkOp::Set(path, ClusterBuckets::EncodeHeader(h), header_stat.version)},
                          &results)
                    .ok());
  }
  // The cluster as a store that holds nothing reads it (every bucket).
  Cluster ReadFresh(const std::string& name) {
    ClusterStore fresh(&zk_, "/jcm");
    Result<StoredCluster> r = fresh.Load(name, false);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->cluster : Cluster{};
  }

  testing::FakeZk zk_;
  ClusterStore writer_store_{&zk_, "/jcm"};  // the leader's
  ClusterStore reader_store_{&zk_, "/jcm"};  // another instance's
  std::string fence_;
  std::mutex mu_;
  std::vector<std::vector<ZkOp>> multis_;  // GUARDED_BY(mu_)
};

TEST_F(ClusterStoreBucketsTest, RoundTripAtSizesAcrossTheLine) {
  for (int count : {0, 10, 500, 800, 3000, 20000}) {
    const std::string name = "c" + std::to_string(count);
    Cluster c = MakeCluster(name, count);
    c.check_file = "/health";
    c.online = false;
    Result<StoredCluster> saved = writer_store_.Save(c, -1, fence_);
    ASSERT_TRUE(saved.ok()) << count << ": " << saved.status().ToString();
    const std::string data = Data(writer_store_.ClusterPath(name));
    const bool bucketed = StoredClusterCodec::Encode(c).size() > ClusterBuckets::kBucketAbove;
    EXPECT_EQ(ClusterBuckets::IsHeader(data), bucketed) << count;
    if (bucketed) {
      ClusterBuckets::Header h = Header(name);
      EXPECT_EQ(h.node_count, static_cast<uint32_t>(count));
      EXPECT_EQ(Children(name).size(), h.versions.size());
      const double per_bucket = static_cast<double>(count) / h.versions.size();
      EXPECT_GE(per_bucket, 32) << count;
      EXPECT_LE(per_bucket, 128) << count;
    } else {
      // Today's form exactly: the inline document, no children.
      Cluster decoded;
      ASSERT_TRUE(ClusterStore::Decode(data, &decoded).ok()) << count;
      EXPECT_EQ(SortedSpecs(decoded), SortedSpecs(c));
      EXPECT_TRUE(Children(name).empty());
    }
    Result<StoredCluster> loaded = reader_store_.Load(name, false);
    ASSERT_TRUE(loaded.ok()) << count << ": " << loaded.status().ToString();
    EXPECT_EQ(loaded->cluster.version, saved->cluster.version);
    EXPECT_EQ(loaded->znode_version, saved->znode_version);
    EXPECT_EQ(loaded->czxid, saved->czxid);
    EXPECT_EQ(SortedSpecs(loaded->cluster), SortedSpecs(c)) << count;
    EXPECT_EQ(loaded->cluster.check_file, "/health");
    EXPECT_FALSE(loaded->cluster.online);
    EXPECT_EQ(reader_store_.CachedNodes(name), static_cast<size_t>(count));
  }
}

// Through the writer (which tells the store what a batch touched) and
// through Save alone (which compares buckets): one node added is the header
// and that node's bucket, nothing else.
TEST_F(ClusterStoreBucketsTest, OneNodeWriteSetsTheHeaderAndOneBucket) {
  ClusterRegistry registry;
  std::unique_ptr<ClusterWriter> writer_ptr = Writer(&registry);
  ClusterWriter& writer = *writer_ptr;
  ASSERT_TRUE(writer.PutCluster(MakeCluster("big", 5000)).ok());
  const ClusterBuckets::Header before = Header("big");
  ASSERT_GT(before.versions.size(), 1u);
  Result<StoredCluster> first = reader_store_.Load("big", false);
  ASSERT_TRUE(first.ok());

  auto expect_header_and_one_bucket = [&](const std::vector<std::vector<ZkOp>>& multis,
                                          const std::string& spec) {
    ASSERT_EQ(multis.size(), 1u);
    const std::vector<ZkOp>& ops = multis[0];
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_EQ(ops[0].kind, ZkOp::Kind::kCheck);
    EXPECT_EQ(ops[0].path, fence_);
    const uint32_t b =
        ClusterBuckets::BucketOf(spec, static_cast<uint32_t>(before.versions.size()));
    EXPECT_EQ(ops[1].kind, ZkOp::Kind::kSet);
    EXPECT_EQ(ops[1].path, writer_store_.ClusterPath("big") + "/" +
                               ClusterBuckets::BucketName(before.generation, b));
    EXPECT_GE(ops[1].version, 0);  // conditional on the bucket's version
    EXPECT_EQ(ops[2].kind, ZkOp::Kind::kSet);
    EXPECT_EQ(ops[2].path, writer_store_.ClusterPath("big"));
    EXPECT_GE(ops[2].version, 0);  // and on the header's
  };

  RecordMultis();
  Result<WriteAck> ack = writer.AddNodes("big", {MakeNode(90000)});
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  expect_header_and_one_bucket(TakeMultis(), MakeNode(90000).Spec());
  // The version is the header's mzxid, every instance the same.
  const int gets = zk_.gets();
  Result<StoredCluster> read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->cluster.version, ack->version);
  EXPECT_EQ(read->cluster.nodes.size(), 5001u);
  // The header alone: it says what the write changed, and the reader holds
  // the version before (see AReaderOneWriteBehindAppliesTheHeadersDelta).
  EXPECT_EQ(zk_.gets() - gets, 1);
  EXPECT_EQ(reader_store_.header_deltas_applied(), 1u);
  // A chunk per bucket, and the reader's two versions share all but the
  // changed bucket's: assembling a version copies one bucket's nodes.
  ASSERT_EQ(read->cluster.nodes.chunk_count(), before.versions.size());
  ASSERT_EQ(first->cluster.nodes.chunk_count(), before.versions.size());
  size_t fresh_chunks = 0;
  for (size_t k = 0; k < before.versions.size(); ++k) {
    fresh_chunks += &read->cluster.nodes.chunk(k) != &first->cluster.nodes.chunk(k) ? 1 : 0;
  }
  EXPECT_EQ(fresh_chunks, 1u);
  EXPECT_EQ(registry.Get("big")->version, ack->version);

  // A removal, then a node changed in place, through the writer.
  ASSERT_TRUE(writer.RemoveNodes("big", {MakeNode(17).Spec()}).ok());
  expect_header_and_one_bucket(TakeMultis(), MakeNode(17).Spec());
  ASSERT_TRUE(writer.SetNodeOnline("big", MakeNode(18).Spec(), false).ok());
  expect_header_and_one_bucket(TakeMultis(), MakeNode(18).Spec());

  // Save without the writer's changes: the comparison finds the same bucket.
  StoredCluster held = writer_store_.Load("big", false).value();
  held.cluster.nodes.push_back(MakeNode(90001));
  ASSERT_TRUE(writer_store_.Save(held.cluster, held.znode_version, fence_).ok());
  expect_header_and_one_bucket(TakeMultis(), MakeNode(90001).Spec());

  // A change of the cluster's own fields is the header alone.
  ASSERT_TRUE(writer.SetClusterOnline("big", false).ok());
  std::vector<std::vector<ZkOp>> m = TakeMultis();
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].size(), 2u);
  EXPECT_EQ(m[0][1].path, writer_store_.ClusterPath("big"));
  read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->cluster.online);
  EXPECT_EQ(read->cluster.nodes.size(), 5001u);
  EXPECT_EQ(read->cluster.FindNode(MakeNode(17).Spec()), nullptr);
  ASSERT_NE(read->cluster.FindNode(MakeNode(18).Spec()), nullptr);
  EXPECT_FALSE(read->cluster.FindNode(MakeNode(18).Spec())->online);
}

TEST_F(ClusterStoreBucketsTest, StaleVersionConflictsAndLostFenceIsNotLeader) {
  Cluster c = MakeCluster("big", 3000);
  Result<StoredCluster> v1 = writer_store_.Save(c, -1, fence_);
  ASSERT_TRUE(v1.ok());
  c.nodes.push_back(MakeNode(9000));
  Result<StoredCluster> v2 = writer_store_.Save(c, v1->znode_version, fence_);
  ASSERT_TRUE(v2.ok());
  // Written against the version before: refused, nothing changes.
  c.nodes.push_back(MakeNode(9001));
  const std::string header = Data(writer_store_.ClusterPath("big"));
  Result<StoredCluster> stale = writer_store_.Save(c, v1->znode_version, fence_);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.status().IsConflict()) << stale.status().ToString();
  // Another store (a new leader) with an old view: refused too.
  ClusterStore other{&zk_, "/jcm"};
  Result<StoredCluster> other_stale = other.Save(c, v1->znode_version, fence_);
  ASSERT_FALSE(other_stale.ok());
  EXPECT_TRUE(other_stale.status().IsConflict()) << other_stale.status().ToString();
  EXPECT_EQ(Data(writer_store_.ClusterPath("big")), header);
  // The fence is gone: NotLeader, nothing written.
  ASSERT_TRUE(zk_.Delete(fence_, -1).ok());
  Result<StoredCluster> fenced = writer_store_.Save(c, v2->znode_version, fence_);
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), Status::Code::kNotLeader) << fenced.status().ToString();
  Result<int64_t> removed = writer_store_.Remove("big", v2->znode_version, fence_);
  EXPECT_EQ(removed.status().code(), Status::Code::kNotLeader);
  EXPECT_EQ(Data(writer_store_.ClusterPath("big")), header);
  Result<StoredCluster> loaded = reader_store_.Load("big", false);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->cluster.nodes.size(), 3001u);
  EXPECT_EQ(loaded->cluster.version, v2->cluster.version);
}

// Node order, spec by spec, and every node's definition.
void ExpectSameCluster(const Cluster& got, const Cluster& want) {
  ASSERT_EQ(got.nodes.size(), want.nodes.size());
  for (size_t i = 0; i < want.nodes.size(); ++i) {
    ASSERT_EQ(got.nodes[i].Spec(), want.nodes[i].Spec()) << i;
    EXPECT_TRUE(got.nodes[i].SameDefinition(want.nodes[i])) << i;
  }
  EXPECT_EQ(got.online, want.online);
  EXPECT_EQ(got.version, want.version);
}

// A write through the writer stores what it changed in the header. A reader
// one write behind applies it to the buckets it holds and reads no bucket;
// what it assembles is what a reader of every bucket gets, node order
// included. Two writes behind it applies the header's two; three behind,
// it reads the changed buckets.
TEST_F(ClusterStoreBucketsTest, AReaderOneWriteBehindAppliesTheHeadersDelta) {
  ClusterRegistry registry;
  std::unique_ptr<ClusterWriter> writer = Writer(&registry);
  ASSERT_TRUE(writer->PutCluster(MakeCluster("big", 5000)).ok());
  ASSERT_TRUE(reader_store_.Load("big", false).ok());
  ASSERT_EQ(reader_store_.header_deltas_applied(), 0u);

  const std::vector<std::function<Result<WriteAck>()>> writes = {
      [&] {
        return writer->AddNodes("big", {MakeNode(90000), MakeNode(90001), MakeNode(90002)});
      },
      [&] {
        return writer->RemoveNodes("big", {MakeNode(17).Spec(), MakeNode(4000).Spec()});
      },
      [&] { return writer->SetNodeOnline("big", MakeNode(18).Spec(), false); },
      [&] {  // a node replaced in place by an add of its spec
        Node n = MakeNode(19);
        n.weight = 9;
        return writer->AddNodes("big", {n});
      },
      [&] { return writer->SetClusterOnline("big", false); },
  };
  for (size_t w = 0; w < writes.size(); ++w) {
    Result<WriteAck> ack = writes[w]();
    ASSERT_TRUE(ack.ok()) << w << ": " << ack.status().ToString();
    ASSERT_TRUE(Header("big").delta.has_value()) << w;
    const int gets = zk_.gets();
    Result<StoredCluster> read = reader_store_.Load("big", false);
    ASSERT_TRUE(read.ok()) << w << ": " << read.status().ToString();
    EXPECT_EQ(zk_.gets() - gets, 1) << w;  // the header
    EXPECT_EQ(read->cluster.version, ack->version) << w;
    ExpectSameCluster(read->cluster, ReadFresh("big"));
  }
  EXPECT_EQ(reader_store_.header_deltas_applied(), writes.size());
  Result<StoredCluster> read = reader_store_.Load("big", false);
  EXPECT_FALSE(reader_store_.Load("big", false)->cluster.online);
  EXPECT_EQ(reader_store_.Load("big", false)->cluster.FindNode(MakeNode(19).Spec())->weight, 9);

  // Changes too large for the header (40 nodes of 4,000 bytes of udata):
  // none stored; the reader reads the changed buckets.
  std::vector<Node> large;
  for (int i = 0; i < 40; ++i) large.push_back(MakeNode(95000 + i, 4000));
  ASSERT_TRUE(writer->AddNodes("big", large).ok());
  EXPECT_FALSE(Header("big").delta.has_value());
  EXPECT_LE(Data(writer_store_.ClusterPath("big")).size(),
            ClusterBuckets::kMaxHeaderWithDeltaBytes);
  read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok());
  ExpectSameCluster(read->cluster, ReadFresh("big"));
  ASSERT_TRUE(reader_store_.Load("big", false).ok());

  // Two writes behind: the header carries the write before's changes too
  // (not after the write without any), and the reader applies both.
  ASSERT_TRUE(writer->AddNodes("big", {MakeNode(90003)}).ok());
  EXPECT_FALSE(Header("big").previous.has_value());
  Result<WriteAck> last =
      writer->ChangeNodes("big", {MakeNode(90003).Spec(), MakeNode(20).Spec()}, {MakeNode(90004)});
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(Header("big").previous.has_value());
  int gets = zk_.gets();
  read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(zk_.gets() - gets, 1);  // the header
  EXPECT_EQ(reader_store_.header_deltas_applied_two(), 1u);
  EXPECT_EQ(reader_store_.header_deltas_missed(), 0u);
  EXPECT_EQ(read->cluster.version, last->version);
  EXPECT_EQ(read->cluster.FindNode(MakeNode(90003).Spec()), nullptr);
  ExpectSameCluster(read->cluster, ReadFresh("big"));

  // Three writes behind: the last header does not reach back that far; the
  // reader reads the buckets the three changed.
  std::set<uint32_t> changed;
  const auto nb = static_cast<uint32_t>(Header("big").versions.size());
  for (int i = 90005; i <= 90007; ++i) {
    last = writer->AddNodes("big", {MakeNode(i)});
    ASSERT_TRUE(last.ok());
    changed.insert(ClusterBuckets::BucketOf(MakeNode(i).Spec(), nb));
  }
  gets = zk_.gets();
  read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(zk_.gets() - gets, 1 + static_cast<int>(changed.size()));
  EXPECT_EQ(reader_store_.header_deltas_missed(), 1u);
  EXPECT_EQ(read->cluster.version, last->version);
  ExpectSameCluster(read->cluster, ReadFresh("big"));
  EXPECT_EQ(reader_store_.header_deltas_refused(), 0u);
}

// A header's two writes are checked together against the buckets held: a
// "previous" that does not name what its write changed is refused, and the
// reader reads the buckets instead.
TEST_F(ClusterStoreBucketsTest, ATwoWriteHeaderTheBucketsContradictIsNotApplied) {
  ClusterRegistry registry;
  std::unique_ptr<ClusterWriter> writer = Writer(&registry);
  ASSERT_TRUE(writer->PutCluster(MakeCluster("big", 5000)).ok());
  ASSERT_TRUE(reader_store_.Load("big", false).ok());  // two writes behind, below
  const std::string path = writer_store_.ClusterPath("big");
  ZkStat first;
  ASSERT_TRUE(zk_.Get(path, &first, false).ok());
  ASSERT_TRUE(writer->AddNodes("big", {MakeNode(90000)}).ok());
  // The second write by hand: 90001 goes in its bucket, and the header's
  // "previous" claims the first write set a node of another bucket than
  // 90000's.
  const auto nb = static_cast<uint32_t>(Header("big").versions.size());
  const Node added = MakeNode(90001);
  int other = 91000;
  while (ClusterBuckets::BucketOf(MakeNode(other).Spec(), nb) ==
         ClusterBuckets::BucketOf(MakeNode(90000).Spec(), nb)) {
    ++other;
  }
  WriteByHand("big", {added}, [&](ClusterBuckets::Header* h, int64_t base) {
    h->delta.emplace();
    h->delta->base = base;
    h->delta->set = {added};
    h->previous.emplace();
    h->previous->base = first.mzxid;
    h->previous->set = {MakeNode(other)};
  });
  Result<StoredCluster> read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(reader_store_.header_deltas_refused(), 1u);
  EXPECT_EQ(reader_store_.header_deltas_applied_two(), 0u);
  EXPECT_EQ(read->cluster.FindNode(MakeNode(other).Spec()), nullptr);
  EXPECT_NE(read->cluster.FindNode(MakeNode(90000).Spec()), nullptr);
  EXPECT_NE(read->cluster.FindNode(added.Spec()), nullptr);
  ExpectSameCluster(read->cluster, ReadFresh("big"));
}

// An instance that holds a version already (a forwarded write's ack brought
// it) does not decode it again, but its buckets still step to it by the
// delta, so the next version's delta applies too.
TEST_F(ClusterStoreBucketsTest, AHeldVersionStillStepsTheBuckets) {
  ClusterRegistry registry;
  std::unique_ptr<ClusterWriter> writer = Writer(&registry);
  ASSERT_TRUE(writer->PutCluster(MakeCluster("big", 5000)).ok());
  ASSERT_TRUE(reader_store_.Load("big", false).ok());
  Result<WriteAck> held = writer->AddNodes("big", {MakeNode(90000)});
  ASSERT_TRUE(held.ok());
  Result<StoredCluster> skipped = reader_store_.Load("big", false, held->version);
  ASSERT_TRUE(skipped.ok());
  EXPECT_TRUE(skipped->not_newer);
  Result<WriteAck> next = writer->RemoveNodes("big", {MakeNode(3).Spec()});
  ASSERT_TRUE(next.ok());
  const int gets = zk_.gets();
  Result<StoredCluster> read = reader_store_.Load("big", false, held->version);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(zk_.gets() - gets, 1);
  EXPECT_EQ(reader_store_.header_deltas_applied(), 2u);
  ExpectSameCluster(read->cluster, ReadFresh("big"));
  ASSERT_NE(read->cluster.FindNode(MakeNode(90000).Spec()), nullptr);
}

// A header whose delta does not match the buckets it names (a writer with
// a bug, or bytes from elsewhere): the reader notices, reads the buckets and
// serves what they hold. A delta that does not decode is ignored.
TEST_F(ClusterStoreBucketsTest, ADeltaTheHeaderContradictsIsNotApplied) {
  Cluster c = MakeCluster("big", 5000);
  Result<StoredCluster> v1 = writer_store_.Save(c, -1, fence_);
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(reader_store_.Load("big", false).ok());

  // The header's delta claims `claimed` instead of the nodes written.
  auto write_by_hand = [&](const std::vector<Node>& stored, const Node& claimed) {
    WriteByHand("big", stored, [&](ClusterBuckets::Header* h, int64_t base) {
      h->delta.emplace();
      h->delta->base = base;
      h->delta->set.push_back(claimed);
    });
  };
  const auto nb = static_cast<uint32_t>(Header("big").versions.size());
  auto bucket_of = [nb](const Node& n) { return ClusterBuckets::BucketOf(n.Spec(), nb); };
  // 1. The delta names another bucket than the one written: seen before
  // anything is applied.
  const Node added = MakeNode(90000);
  int i = 90001;
  Node claimed = MakeNode(i);
  while (bucket_of(claimed) == bucket_of(added)) claimed = MakeNode(++i);
  write_by_hand({added}, claimed);
  Result<StoredCluster> read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(reader_store_.header_deltas_refused(), 1u);
  EXPECT_EQ(reader_store_.header_deltas_applied(), 0u);
  EXPECT_NE(read->cluster.FindNode(added.Spec()), nullptr);
  EXPECT_EQ(read->cluster.FindNode(claimed.Spec()), nullptr);
  ExpectSameCluster(read->cluster, ReadFresh("big"));

  // 2. The right bucket, but two nodes stored and one claimed: seen by the
  // node count once applied; the reader then reads every bucket.
  Node second = MakeNode(++i);
  while (bucket_of(second) != bucket_of(added)) second = MakeNode(++i);
  Node third = MakeNode(++i);
  while (bucket_of(third) != bucket_of(added)) third = MakeNode(++i);
  write_by_hand({second, third}, second);
  const int gets = zk_.gets();
  read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(reader_store_.header_deltas_refused(), 2u);
  EXPECT_EQ(zk_.gets() - gets, 1 + static_cast<int>(nb));
  EXPECT_NE(read->cluster.FindNode(third.Spec()), nullptr);
  ExpectSameCluster(read->cluster, ReadFresh("big"));

  // A delta of the wrong shape: the header decodes, without a delta.
  std::string bytes = ClusterBuckets::EncodeHeader(Header("big"));
  bytes.insert(bytes.size() - 1, ",\"delta\":{\"base\":\"x\",\"removed\":[],\"set\":[]}");
  ClusterBuckets::Header decoded;
  ASSERT_TRUE(ClusterBuckets::DecodeHeader(bytes, &decoded).ok());
  EXPECT_FALSE(decoded.delta.has_value());
  bytes = ClusterBuckets::EncodeHeader(Header("big"));
  bytes.insert(bytes.size() - 1, ",\"delta\":{\"base\":5,\"removed\":[1],\"set\":[]}");
  ASSERT_TRUE(ClusterBuckets::DecodeHeader(bytes, &decoded).ok());
  EXPECT_FALSE(decoded.delta.has_value());
}

// A write lands between the reader's header read and its bucket reads: the
// bucket is newer than the header it read says. The reader reads the header
// again and returns the newer version, consistent.
TEST_F(ClusterStoreBucketsTest, AWriteRacingTheReadIsReadAgain) {
  Cluster c = MakeCluster("big", 3000);
  Result<StoredCluster> v1 = writer_store_.Save(c, -1, fence_);
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(reader_store_.Load("big", false).ok());
  c.nodes.push_back(MakeNode(9000));
  Result<StoredCluster> v2 = writer_store_.Save(c, v1->znode_version, fence_);
  ASSERT_TRUE(v2.ok());
  // The reader reads v2's header; before it reads the changed bucket, v3
  // changes that bucket again.
  Cluster v3_cluster = c;
  v3_cluster.nodes.Mutable(v3_cluster.nodes.size() - 1).weight = 7;
  std::atomic<bool> raced{false};
  int64_t v3_version = 0;
  zk_.before_get = [&](const std::string& path) {
    if (!IsBucketPath(path) || raced.exchange(true)) return;
    Result<StoredCluster> v3 = writer_store_.Save(v3_cluster, v2->znode_version, fence_);
    ASSERT_TRUE(v3.ok()) << v3.status().ToString();
    v3_version = v3->cluster.version;
  };
  Result<StoredCluster> got = reader_store_.Load("big", false);
  zk_.before_get = nullptr;
  ASSERT_TRUE(raced.load());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->cluster.version, v3_version);
  const Node* n = got->cluster.FindNode(MakeNode(9000).Spec());
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->weight, 7);
  EXPECT_EQ(got->cluster.nodes.size(), 3001u);
  EXPECT_EQ(reader_store_.unreadable_seen(), 0u);
}

// Under a steady stream of writes a read can be overtaken on every attempt
// that reads buckets. What an overtaken attempt decoded is kept: the next
// attempt fetches only buckets changed since, here none, so it finishes
// (it used to read every changed bucket again, and be overtaken again).
TEST_F(ClusterStoreBucketsTest, AnOvertakenReadKeepsTheBucketsItRead) {
  Cluster c = MakeCluster("big", 3000);
  Result<StoredCluster> v = writer_store_.Save(c, -1, fence_);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(reader_store_.Load("big", false).ok());
  // Change nodes all over the cluster: many buckets to read.
  for (int i = 0; i < 3000; i += 97) c.nodes.Mutable(static_cast<size_t>(i)).weight = 3;
  v = writer_store_.Save(c, v->znode_version, fence_);
  ASSERT_TRUE(v.ok());
  std::set<uint32_t> changed;
  const uint32_t count = static_cast<uint32_t>(Header("big").versions.size());
  for (int i = 0; i < 3000; i += 97)
    changed.insert(ClusterBuckets::BucketOf(c.nodes[i].Spec(), count));
  ASSERT_GT(changed.size(), 10u);

  // Each attempt that reads buckets is overtaken before its first bucket
  // read by a write of node 0 (whose bucket it reads).
  int racing_writes = 0;
  bool raced_this_attempt = false;
  zk_.before_get = [&](const std::string& path) {
    if (!IsBucketPath(path)) {
      raced_this_attempt = false;  // a header: the next attempt
      return;
    }
    if (raced_this_attempt) return;
    raced_this_attempt = true;
    c.nodes.Mutable(0).weight = 10 + ++racing_writes;
    v = writer_store_.Save(c, v->znode_version, fence_);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  };
  const int gets_before = zk_.gets();
  Result<StoredCluster> got = reader_store_.Load("big", false);
  zk_.before_get = nullptr;
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  // The second attempt read the header and took every bucket from the
  // first: nothing left to race.
  EXPECT_EQ(racing_writes, 1);
  EXPECT_EQ(zk_.gets() - gets_before, static_cast<int>(changed.size()) + 2);
  EXPECT_EQ(got->cluster.version, v->cluster.version);
  EXPECT_EQ(got->cluster.nodes.size(), 3000u);
  for (size_t i = 0; i < 3000; ++i) {
    const Node* n = got->cluster.FindNode(c.nodes[i].Spec());
    ASSERT_NE(n, nullptr) << i;
    EXPECT_EQ(n->weight, c.nodes[i].weight) << i;
  }
  EXPECT_EQ(reader_store_.unreadable_seen(), 0u);
}

// A cluster deleted and created again numbers its bucket generations from
// the start: its buckets can have the names and versions of the old
// incarnation's. A reader that did not see the deletion (one watch for
// both) must not keep the old nodes.
TEST_F(ClusterStoreBucketsTest, ACreatedAgainClusterIsNotTakenForTheOldOne) {
  Cluster old_cluster = MakeCluster("big", 3000);
  Result<StoredCluster> v = writer_store_.Save(old_cluster, -1, fence_);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(reader_store_.Load("big", false).ok());
  ASSERT_TRUE(writer_store_.Remove("big", v->znode_version, fence_).ok());
  Cluster new_cluster;
  new_cluster.name = "big";
  new_cluster.check_type = CheckType::kNone;
  for (int i = 0; i < 3000; ++i) new_cluster.nodes.push_back(MakeNode(100000 + i));
  Result<StoredCluster> again = writer_store_.Save(new_cluster, -1, fence_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(Header("big").generation, 1u);  // the old incarnation's too
  Result<StoredCluster> got = reader_store_.Load("big", false);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->czxid, again->czxid);
  EXPECT_EQ(SortedSpecs(got->cluster), SortedSpecs(new_cluster));
}

// A large cluster an older jcm stored inline (one zlib znode) loads as
// before; the first write moves it to buckets, in the generation switch.
TEST_F(ClusterStoreBucketsTest, InlineClusterMigratesOnItsFirstWrite) {
  Cluster c = MakeCluster("old", 4000);
  Result<std::string> inline_bytes = ClusterStore::Encode(c);
  ASSERT_TRUE(inline_bytes.ok());
  ASSERT_TRUE(zk_.Create(writer_store_.ClusterPath("old"), inline_bytes.value(), 0).ok());
  Result<StoredCluster> loaded = reader_store_.Load("old", false);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->cluster.nodes.size(), 4000u);

  RecordMultis();
  c.nodes.push_back(MakeNode(9000));
  ClusterStore leader{&zk_, "/jcm"};
  Result<StoredCluster> saved = leader.Save(c, loaded->znode_version, fence_);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  std::vector<std::vector<ZkOp>> multis = TakeMultis();
  ASSERT_GE(multis.size(), 2u);  // buckets first, then the header switch
  for (const auto& m : multis) EXPECT_EQ(m[0].path, fence_) << "every multi is fenced";
  EXPECT_EQ(multis.back().back().path, leader.ClusterPath("old"));
  EXPECT_EQ(multis.back().back().version, loaded->znode_version);
  ClusterBuckets::Header h = Header("old");
  EXPECT_EQ(h.node_count, 4001u);
  EXPECT_EQ(Children("old").size(), h.versions.size());
  loaded = reader_store_.Load("old", false);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(SortedSpecs(loaded->cluster), SortedSpecs(c));
  EXPECT_EQ(loaded->cluster.version, saved->cluster.version);
  EXPECT_EQ(loaded->znode_version, saved->znode_version);
}

// Buckets of a rewrite that never switched the header (its leader died)
// are deleted by the next leader's first write; a full rewrite then uses a
// generation none of them had.
TEST_F(ClusterStoreBucketsTest, LeftoverGenerationsAreDeleted) {
  Cluster c = MakeCluster("big", 3000);
  Result<StoredCluster> v1 = writer_store_.Save(c, -1, fence_);
  ASSERT_TRUE(v1.ok());
  const ClusterBuckets::Header h = Header("big");
  const std::string dir = writer_store_.ClusterPath("big") + "/";
  ASSERT_TRUE(zk_.Create(dir + ClusterBuckets::BucketName(h.generation + 5, 0), "[]", 0).ok());
  ASSERT_TRUE(zk_.Create(dir + "junk", "x", 0).ok());
  // Readers ignore them.
  Result<StoredCluster> read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();

  ClusterStore next_leader{&zk_, "/jcm"};
  c.nodes.push_back(MakeNode(9000));
  Result<StoredCluster> v2 = next_leader.Save(c, v1->znode_version, fence_);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  std::vector<std::string> kids = Children("big");
  EXPECT_EQ(kids.size(), h.versions.size());
  for (const std::string& k : kids) {
    uint64_t g = 0;
    uint32_t i = 0;
    ASSERT_TRUE(ClusterBuckets::ParseBucketName(k, &g, &i)) << k;
    EXPECT_EQ(g, h.generation);
  }
  // A leftover of a later generation again, then a replacement (full
  // rewrite): the new generation is past the leftover's.
  ASSERT_TRUE(zk_.Create(dir + ClusterBuckets::BucketName(h.generation + 9, 3), "[]", 0).ok());
  // (Twice the nodes: B doubles, so the replacement is a full rewrite.)
  Cluster replaced = MakeCluster("big", 12000);
  replaced.nodes.RemoveIf([i = 0](const Node&) mutable { return i++ < 2000; });
  for (size_t i = 0; i < replaced.nodes.size(); ++i) replaced.nodes.Mutable(i).weight = 2;
  Result<StoredCluster> v3 = next_leader.Save(replaced, v2->znode_version, fence_);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(SortedSpecs(read->cluster), SortedSpecs(replaced));
  EXPECT_EQ(read->cluster.nodes[0].weight, 2);
  const ClusterBuckets::Header h3 = Header("big");
  EXPECT_GT(h3.generation, h.generation + 9);
  EXPECT_EQ(Children("big").size(), h3.versions.size());
}

// Growth past 128 nodes a bucket doubles B (a rewrite); shrinking below the
// line goes back to the inline form; a delete takes the buckets with it.
TEST_F(ClusterStoreBucketsTest, BucketCountFollowsSizeAndFormsSwitch) {
  Cluster c = MakeCluster("big", 3000);
  Result<StoredCluster> v = writer_store_.Save(c, -1, fence_);
  ASSERT_TRUE(v.ok());
  const size_t b1 = Header("big").versions.size();
  for (int i = 3000; i < 3000 + 4 * static_cast<int>(b1) * 32; ++i) c.nodes.push_back(MakeNode(i));
  v = writer_store_.Save(c, v->znode_version, fence_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const size_t b2 = Header("big").versions.size();
  EXPECT_GT(b2, b1);
  EXPECT_EQ(Children("big").size(), b2);
  Result<StoredCluster> read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(SortedSpecs(read->cluster), SortedSpecs(c));

  c.nodes.resize(100);
  v = writer_store_.Save(c, v->znode_version, fence_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Data(writer_store_.ClusterPath("big"))[0], '{');
  EXPECT_TRUE(Children("big").empty());
  read = reader_store_.Load("big", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(SortedSpecs(read->cluster), SortedSpecs(c));

  c = MakeCluster("big", 3000);
  v = writer_store_.Save(c, v->znode_version, fence_);
  ASSERT_TRUE(v.ok());
  ASSERT_FALSE(Children("big").empty());
  Result<int64_t> removed = writer_store_.Remove("big", v->znode_version, fence_);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_TRUE(reader_store_.Load("big", false).status().IsNotFound());
  EXPECT_FALSE(zk_.Exists(writer_store_.ClusterPath("big"), nullptr, false).ok());
}

// A creation too large for one multi writes a placeholder first: readers
// take the cluster for absent until the header switch.
TEST_F(ClusterStoreBucketsTest, LargeCreationIsInvisibleUntilComplete) {
  Cluster c = MakeCluster("wide", 2000, 500);  // ~600 KB once compressed
  std::vector<Status> seen;
  std::atomic<int> multis{0};
  zk_.before_multi = [&](const std::vector<ZkOp>&) {
    if (multis++ > 0) {
      seen.push_back(reader_store_.Load("wide", false).status());
      seen.push_back(reader_store_.Exists("wide", false));
    }
    return Status::Ok();
  };
  Result<StoredCluster> saved = writer_store_.Save(c, -1, fence_);
  zk_.before_multi = nullptr;
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_GE(multis.load(), 2);
  for (const Status& s : seen) EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  Result<StoredCluster> read = reader_store_.Load("wide", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(SortedSpecs(read->cluster), SortedSpecs(c));
  EXPECT_TRUE(reader_store_.Exists("wide", false).ok());

  // A placeholder left behind (its leader died) is taken over by the next
  // creation of that name.
  ASSERT_TRUE(
      zk_.Create(writer_store_.ClusterPath("ghost"), ClusterBuckets::EncodePlaceholder(), 0).ok());
  ASSERT_TRUE(zk_.Create(writer_store_.ClusterPath("ghost") + "/1-0", "[]", 0).ok());
  EXPECT_TRUE(reader_store_.Load("ghost", false).status().IsNotFound());
  Result<StoredCluster> ghost = writer_store_.Save(MakeCluster("ghost", 5), -1, fence_);
  ASSERT_TRUE(ghost.ok()) << ghost.status().ToString();
  EXPECT_TRUE(Children("ghost").empty());
  read = reader_store_.Load("ghost", false);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->cluster.nodes.size(), 5u);
}

TEST_F(ClusterStoreBucketsTest, TooLargeForTheStoreIsRefused) {
  Cluster c = MakeCluster("fat", 600, 4000);  // ~2.4 MB of incompressible udata
  Result<StoredCluster> r = writer_store_.Save(c, -1, fence_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kTooLarge) << r.status().ToString();
  EXPECT_FALSE(zk_.Exists(writer_store_.ClusterPath("fat"), nullptr, false).ok());
}

// Hostile headers and buckets: every one is IsUnreadable(), logged once,
// never a crash; the next write of the cluster rewrites it whole.
TEST_F(ClusterStoreBucketsTest, HostileHeadersAndBucketsAreUnreadable) {
  Cluster c = MakeCluster("big", 3000);
  Result<StoredCluster> v = writer_store_.Save(c, -1, fence_);
  ASSERT_TRUE(v.ok());
  const std::string path = writer_store_.ClusterPath("big");
  const std::string good_header = Data(path);
  const ClusterBuckets::Header h = Header("big");
  const std::string b0 = path + "/" + ClusterBuckets::BucketName(h.generation, 0);
  const std::string good_b0 = Data(b0);
  const std::string magic(ClusterBuckets::kMagic);
  auto header_with = [&](const std::function<void(ClusterBuckets::Header*)>& edit) {
    ClusterBuckets::Header x = h;
    edit(&x);
    return ClusterBuckets::EncodeHeader(x);
  };
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"not json", magic + "{nope"},
      {"not an object", magic + "[1,2]"},
      {"no cluster", magic + R"({"generation":1,"nodes":0,"buckets":[0]})"},
      {"deep", magic + std::string(100000, '[')},
      {"3 buckets",
       magic + R"({"cluster":{"name":"big"},"generation":1,"nodes":0,"buckets":[0,0,0]})"},
      {"negative version", header_with([](ClusterBuckets::Header* x) { x->versions[1] = -4; })},
      {"huge count",
       magic + R"({"cluster":{"name":"big"},"generation":1,"nodes":1e400,"buckets":[0]})"},
      {"wrong count", header_with([](ClusterBuckets::Header* x) { x->node_count += 1; })},
      {"other name", header_with([](ClusterBuckets::Header* x) { x->cluster.name = "other"; })},
      {"missing generation", header_with([](ClusterBuckets::Header* x) { x->generation += 100; })},
      {"bucket older than said",
       header_with([](ClusterBuckets::Header* x) { x->versions[0] += 3; })},
      {"nodes in the header",
       magic +
           R"({"cluster":{"name":"big","nodes":[{"ip":"1.2.3.4","protos":[{"port":1,"proto":"TCP"}]}]},"generation":1,"nodes":0,"buckets":[0]})"},
  };
  uint64_t unreadable = 0;
  for (const auto& [what, bytes] : headers) {
    ASSERT_TRUE(zk_.Set(path, bytes, -1, nullptr).ok());
    ClusterStore fresh{&zk_, "/jcm"};
    for (ClusterStore* s : {&reader_store_, &fresh}) {
      Result<StoredCluster> r = s->Load("big", false);
      ASSERT_FALSE(r.ok()) << what;
      EXPECT_TRUE(ClusterStore::IsUnreadable(r.status())) << what << ": " << r.status().ToString();
    }
    ++unreadable;
  }
  EXPECT_EQ(reader_store_.unreadable_seen(), unreadable);

  // Good header, hostile first bucket.
  std::string other_bucket_spec;
  for (int i = 0; other_bucket_spec.empty(); ++i) {
    if (ClusterBuckets::BucketOf(MakeNode(i).Spec(), static_cast<uint32_t>(h.versions.size())) !=
        0) {
      other_bucket_spec = MakeNode(i).Spec();
    }
  }
  const std::vector<std::pair<std::string, std::string>> buckets = {
      {"not json", "[{"},
      {"an object", "{}"},
      {"bad node", R"([{"ip":"no","protos":[]}])"},
      {"wrong bucket",
       "[" + EncodeNode(*c.FindNode(other_bucket_spec), ClusterJsonForm::kStored).dump() + "]"},
      {"duplicate",
       [&] {
         Cluster one;
         for (const Node& n : c.nodes) {
           if (ClusterBuckets::BucketOf(n.Spec(), static_cast<uint32_t>(h.versions.size())) == 0) {
             one.nodes.push_back(n);
           }
         }
         one.nodes.push_back(one.nodes[0]);
         size_t json = 0;
         return ClusterBuckets::EncodeBucket(one.nodes.ToVector(), &json);
       }()},
      {"zlib bomb", ZlibCompress(std::string(70 * 1024 * 1024, '['))},
      {"garbage", std::string("\x78\x9c\x01\x02", 4)},
  };
  for (const auto& [what, bytes] : buckets) {
    // Each hostile bucket comes with a header naming its new version.
    ZkStat bstat;
    ASSERT_TRUE(zk_.Set(b0, bytes, -1, &bstat).ok());
    ClusterBuckets::Header x = h;
    x.versions[0] = bstat.version;
    ASSERT_TRUE(zk_.Set(path, ClusterBuckets::EncodeHeader(x), -1, nullptr).ok());
    Result<StoredCluster> r = reader_store_.Load("big", false);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_TRUE(ClusterStore::IsUnreadable(r.status())) << what << ": " << r.status().ToString();
  }
  // A missing bucket.
  ASSERT_TRUE(zk_.Delete(path + "/" + ClusterBuckets::BucketName(h.generation, 1), -1).ok());
  Result<StoredCluster> r = reader_store_.Load("big", false);
  EXPECT_TRUE(ClusterStore::IsUnreadable(r.status())) << r.status().ToString();

  // The next write heals it: a whole new generation.
  ZkStat stat;
  ASSERT_TRUE(zk_.Get(path, &stat, false).ok());
  c.nodes.push_back(MakeNode(9000));
  ClusterStore leader{&zk_, "/jcm"};
  Result<StoredCluster> healed = leader.Save(c, stat.version, fence_);
  ASSERT_TRUE(healed.ok()) << healed.status().ToString();
  r = reader_store_.Load("big", false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(SortedSpecs(r->cluster), SortedSpecs(c));
  EXPECT_EQ(Children("big").size(), Header("big").versions.size());
}

TEST(ClusterBucketsTest, ChooseBucketsKeepsThirtyTwoToOneTwentyEightNodesABucket) {
  uint32_t b = 0;
  for (size_t n = 1000; n <= 100000; n += 997) {
    const uint32_t next = ClusterBuckets::ChooseBuckets(n, n * 90, b);
    const double per = static_cast<double>(n) / next;
    EXPECT_GE(per, 31.9) << n;
    EXPECT_LE(per, 128.1) << n;
    if (b != 0 && next != b) {
      // Only when the cluster doubled or halved against B.
      EXPECT_TRUE(static_cast<double>(n) / b > 128 || static_cast<double>(n) / b < 32) << n;
    }
    b = next;
  }
  EXPECT_EQ(ClusterBuckets::ChooseBuckets(5000, 450000, 64), 64u);
  EXPECT_EQ(ClusterBuckets::ChooseBuckets(9000, 810000, 64), 256u);
}

TEST(ClusterBucketsTest, BucketNamesRoundTripAndRefuseOthers) {
  uint64_t g = 0;
  uint32_t i = 0;
  ASSERT_TRUE(ClusterBuckets::ParseBucketName(ClusterBuckets::BucketName(42, 7), &g, &i));
  EXPECT_EQ(g, 42u);
  EXPECT_EQ(i, 7u);
  for (const char* bad :
       {"", "-", "1-", "-1", "a-1", "1-b", "1-2-3", "1 -2", "99999999999999999999-1"}) {
    EXPECT_FALSE(ClusterBuckets::ParseBucketName(bad, &g, &i)) << bad;
  }
}

}  // namespace
}  // namespace jcm
