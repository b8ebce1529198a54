#include "jcm/allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "subscriber/src/maglev_table.h"
#include "subscriber/src/smooth_wrr.h"
#include "tests/unit/subscriber/test_clusters.h"

namespace jcm {
namespace {

using internal::AllocatorAccess;
using internal::ClusterSlot;
using testing::MakeCluster;
using testing::MakeNode;
using testing::PublishCluster;

std::string Letters(const std::vector<uint32_t>& seq) {
  std::string s;
  for (uint32_t i : seq) s += static_cast<char>('a' + i);
  return s;
}

// Keys spread by the picks of the consistent-hash allocator, by IP.
std::vector<std::string> MapKeys(const Allocator& a, int count) {
  std::vector<std::string> out;
  for (int k = 0; k < count; ++k) {
    Pick p = a.Pick(Protocol::kAny, "user-" + std::to_string(k));
    out.emplace_back(p ? std::string(p.ip()) : "none");
  }
  return out;
}

TEST(SmoothWrr, NginxSequenceOverOneCycle) {
  EXPECT_EQ(Letters(internal::BuildSmoothWrrSequence({5, 1, 1})), "aabacaa");
  // gcd reduction keeps the cycle short; order is unchanged.
  EXPECT_EQ(Letters(internal::BuildSmoothWrrSequence({500, 100, 100})), "aabacaa");
  EXPECT_EQ(Letters(internal::BuildSmoothWrrSequence({1, 1, 1})), "abc");
  EXPECT_EQ(Letters(internal::BuildSmoothWrrSequence({2, 1})), "aba");
  EXPECT_TRUE(internal::BuildSmoothWrrSequence({}).empty());
}

TEST(SmoothWrr, LargeClustersKeepExactShares) {
  // 3,000 nodes x total 6,000 steps: beyond the exact-simulation budget
  // (2^22), so the deadline interleaving is used; shares must still be
  // exact per cycle.
  std::vector<int> w;
  for (int i = 0; i < 3000; ++i) w.push_back(i % 3 == 0 ? 4 : 1);
  auto seq = internal::BuildSmoothWrrSequence(w);
  ASSERT_EQ(seq.size(), 1000u * 4 + 2000u);
  std::vector<int> count(w.size());
  for (uint32_t i : seq) ++count[i];
  for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(count[i], w[i]) << i;
  // Smooth: a weight-4 node's picks are spread, never back to back.
  for (size_t k = 1; k < seq.size(); ++k) ASSERT_NE(seq[k], seq[k - 1]) << k;
}

TEST(Allocator, WeightedRoundRobinFullCycleThroughPicks) {
  auto slot = std::make_shared<ClusterSlot>("c");
  Cluster c = MakeCluster("c", 3);
  c.nodes.Mutable(0).weight = 5;
  c.nodes.Mutable(1).weight = 1;
  c.nodes.Mutable(2).weight = 1;
  PublishCluster(*slot, c);
  Allocator wrr = AllocatorAccess::Make(slot, Policy::kWeightedRoundRobin);
  // A thread starts at its own offset in the cycle: the 7 picks are a
  // rotation of a a b a c a a.
  std::string got;
  for (int i = 0; i < 7; ++i) got += static_cast<char>('a' + wrr.Pick().ip().back() - '1');
  std::string doubled = std::string("aabacaa") + "aabacaa";
  EXPECT_NE(doubled.find(got), std::string::npos) << got;
  // Over many cycles the shares are exact.
  std::map<std::string, int> counts;
  for (int i = 0; i < 7 * 100; ++i) counts[std::string(wrr.Pick().ip())]++;
  EXPECT_EQ(counts["10.0.0.1"], 500);
  EXPECT_EQ(counts["10.0.0.2"], 100);
  EXPECT_EQ(counts["10.0.0.3"], 100);
}

TEST(Allocator, RoundRobinVisitsEachUsableNodeOnce) {
  auto slot = std::make_shared<ClusterSlot>("c");
  PublishCluster(*slot, MakeCluster("c", 4));
  Allocator rr = AllocatorAccess::Make(slot, Policy::kRoundRobin);
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    Pick p = rr.Pick(Protocol::kHttp);
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(p.panic());
    EXPECT_EQ(p.port(), 8000 + (p.ip().back() - '0'));
    seen.insert(std::string(p.ip()));
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(Allocator, OfflineAndUnhealthyNodesNeverPicked) {
  auto slot = std::make_shared<ClusterSlot>("c");
  Cluster c = MakeCluster("c", 5);
  c.nodes.Mutable(0).online = false;                  // admin switch
  c.nodes.Mutable(1).status = NodeStatus::kAbnormal;  // failed checks
  c.nodes.Mutable(2).status = NodeStatus::kTimeout;
  c.nodes.Mutable(3).status = NodeStatus::kInvalid;  // never checked yet
  PublishCluster(*slot, c);
  for (Policy policy :
       {Policy::kRoundRobin, Policy::kWeightedRoundRobin, Policy::kConsistentHash}) {
    Allocator a = AllocatorAccess::Make(slot, policy);
    for (int i = 0; i < 200; ++i) {
      Pick p = a.Pick(Protocol::kAny, std::to_string(i));
      ASSERT_TRUE(p.ok()) << PolicyName(policy);
      EXPECT_EQ(p.ip(), "10.0.0.5") << PolicyName(policy);
      EXPECT_FALSE(p.panic());
    }
  }
}

TEST(Allocator, ProtocolFilter) {
  auto slot = std::make_shared<ClusterSlot>("c");
  Cluster c;
  c.name = "c";
  c.version = 1;
  c.nodes = {MakeNode(1, 100, true, false), MakeNode(2, 100, false, true),
             MakeNode(3, 100, true, true)};
  PublishCluster(*slot, c);
  for (Policy policy :
       {Policy::kRoundRobin, Policy::kWeightedRoundRobin, Policy::kConsistentHash}) {
    Allocator a = AllocatorAccess::Make(slot, policy);
    std::set<std::string> http, tcp, any;
    for (int i = 0; i < 300; ++i) {
      std::string key = std::to_string(i);
      Pick h = a.Pick(Protocol::kHttp, key);
      Pick t = a.Pick(Protocol::kTcp, key);
      Pick n = a.Pick(Protocol::kAny, key);
      ASSERT_TRUE(h && t && n);
      EXPECT_EQ(h.endpoint().protocol(), Protocol::kHttp);
      EXPECT_EQ(h.port(), 8000 + (h.ip().back() - '0'));
      EXPECT_EQ(t.endpoint().protocol(), Protocol::kTcp);
      EXPECT_EQ(t.port(), 9000 + (t.ip().back() - '0'));
      // kAny prefers the HTTP port when the node has one.
      EXPECT_EQ(n.endpoint().protocol(), n.ip() == "10.0.0.2" ? Protocol::kTcp : Protocol::kHttp);
      http.insert(std::string(h.ip()));
      tcp.insert(std::string(t.ip()));
      any.insert(std::string(n.ip()));
    }
    EXPECT_EQ(http, (std::set<std::string>{"10.0.0.1", "10.0.0.3"})) << PolicyName(policy);
    EXPECT_EQ(tcp, (std::set<std::string>{"10.0.0.2", "10.0.0.3"})) << PolicyName(policy);
    EXPECT_EQ(any.size(), 3u) << PolicyName(policy);
  }
}

TEST(Allocator, PanicWhenNoUsableNodeFallsBackToOnlineNodes) {
  auto slot = std::make_shared<ClusterSlot>("c");
  Cluster c = MakeCluster("c", 3);
  for (size_t i = 0; i < c.nodes.size(); ++i) c.nodes.Mutable(i).status = NodeStatus::kAbnormal;
  c.nodes.Mutable(2).online = false;  // offline stays out even in panic
  PublishCluster(*slot, c);
  Allocator rr = AllocatorAccess::Make(slot, Policy::kRoundRobin);
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    Pick p = rr.Pick(Protocol::kHttp);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p.panic());
    seen.insert(std::string(p.ip()));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
}

TEST(Allocator, PanicFlaggedByServerUsesAllOnlineNodes) {
  auto slot = std::make_shared<ClusterSlot>("c");
  Cluster c = MakeCluster("c", 3);
  c.nodes.Mutable(0).status = NodeStatus::kTimeout;  // usable nodes exist...
  c.panic = true;                                    // ...but the server says panic
  PublishCluster(*slot, c);
  Allocator rr = AllocatorAccess::Make(slot, Policy::kRoundRobin);
  std::set<std::string> seen;
  for (int i = 0; i < 9; ++i) {
    Pick p = rr.Pick();
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p.panic());
    seen.insert(std::string(p.ip()));
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Allocator, NoneForEmptyUnknownOrProtocolLessCluster) {
  // Nothing published yet.
  auto slot = std::make_shared<ClusterSlot>("c");
  for (Policy policy :
       {Policy::kRoundRobin, Policy::kWeightedRoundRobin, Policy::kConsistentHash}) {
    Allocator a = AllocatorAccess::Make(slot, policy);
    EXPECT_FALSE(a.Pick(Protocol::kAny, "k").ok());
    EXPECT_FALSE(a.Pick(Protocol::kAny, "k").panic());
  }
  // A default allocator (e.g. for a malformed name).
  EXPECT_FALSE(Allocator().Pick().ok());
  // Only HTTP nodes, TCP asked: none rather than a wrong port.
  Cluster c;
  c.name = "c";
  c.nodes = {MakeNode(1, 100, true, false)};
  PublishCluster(*slot, c);
  Allocator rr = AllocatorAccess::Make(slot, Policy::kRoundRobin);
  EXPECT_FALSE(rr.Pick(Protocol::kTcp).ok());
  EXPECT_TRUE(rr.Pick(Protocol::kHttp).ok());
  // Every node offline: none, not panic.
  c.nodes.Mutable(0).online = false;
  PublishCluster(*slot, c);
  EXPECT_FALSE(rr.Pick(Protocol::kHttp).ok());
  // An empty cluster.
  c.nodes.clear();
  PublishCluster(*slot, c);
  EXPECT_FALSE(rr.Pick().ok());
}

TEST(Allocator, ConsistentHashRemapsAboutOneNthWhenANodeGoes) {
  constexpr int kKeys = 10000;
  for (int n : {5, 10}) {
    auto slot = std::make_shared<ClusterSlot>("c");
    PublishCluster(*slot, MakeCluster("c", n));
    Allocator ch = AllocatorAccess::Make(slot, Policy::kConsistentHash);
    std::vector<std::string> before = MapKeys(ch, kKeys);
    // Same node set again (new version, nodes listed in another order):
    // every key stays where it was.
    Cluster shuffled = MakeCluster("c", n, 2);
    std::vector<Node> reversed = shuffled.nodes.ToVector();
    std::reverse(reversed.begin(), reversed.end());
    shuffled.nodes = NodeList(std::move(reversed));
    PublishCluster(*slot, shuffled);
    EXPECT_EQ(MapKeys(ch, kKeys), before) << n;
    // Node 3 goes.
    Cluster fewer = MakeCluster("c", n, 3);
    fewer.nodes.RemoveSorted({2});
    PublishCluster(*slot, fewer);
    std::vector<std::string> after = MapKeys(ch, kKeys);
    int moved = 0, moved_elsewhere = 0, on_removed = 0;
    for (int k = 0; k < kKeys; ++k) {
      if (before[k] == "10.0.0.3") ++on_removed;
      if (before[k] != after[k]) {
        ++moved;
        if (before[k] != "10.0.0.3") ++moved_elsewhere;
      }
      ASSERT_NE(after[k], "10.0.0.3");
    }
    double share = static_cast<double>(moved) / kKeys;
    EXPECT_GT(share, 0.7 / n) << n;
    EXPECT_LT(share, 1.3 / n) << n;
    // Keys of the other nodes stick (Maglev may move a sliver of them).
    EXPECT_LT(moved_elsewhere, kKeys / 100) << n;
    EXPECT_EQ(moved - moved_elsewhere, on_removed) << n;
  }
}

TEST(Allocator, ConsistentHashHonoursWeights) {
  auto slot = std::make_shared<ClusterSlot>("c");
  Cluster c = MakeCluster("c", 3);
  c.nodes.Mutable(0).weight = 300;  // three times the others
  PublishCluster(*slot, c);
  Allocator ch = AllocatorAccess::Make(slot, Policy::kConsistentHash);
  std::map<std::string, int> counts;
  for (const std::string& ip : MapKeys(ch, 20000)) counts[ip]++;
  EXPECT_NEAR(counts["10.0.0.1"] / 20000.0, 0.6, 0.03);
  EXPECT_NEAR(counts["10.0.0.2"] / 20000.0, 0.2, 0.03);
  EXPECT_NEAR(counts["10.0.0.3"] / 20000.0, 0.2, 0.03);
}

TEST(Allocator, ConsistentHashSameKeySameNode) {
  auto slot = std::make_shared<ClusterSlot>("c");
  PublishCluster(*slot, MakeCluster("c", 50));
  Allocator ch = AllocatorAccess::Make(slot, Policy::kConsistentHash);
  Pick first = ch.Pick(Protocol::kHttp, "session-42");
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(ch.Pick(Protocol::kHttp, "session-42").endpoint(), first.endpoint());
  EXPECT_EQ(ch.PickByHash(Protocol::kHttp, Allocator::HashKey("session-42")).endpoint(),
            first.endpoint());
}

// The key hash is XXH64 with seed 0 (docs/subscribe-protocol.md). Known
// answers from libxxhash through Python's ctypes.
TEST(Allocator, HashKeyIsXxh64SeedZero) {
  EXPECT_EQ(Allocator::HashKey(""), 0xef46db3751d8e999ULL);
  EXPECT_EQ(Allocator::HashKey("abc"), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(Allocator::HashKey("session-42"), 0x2389e998631f091eULL);
  EXPECT_EQ(Allocator::HashKey("user-0"), 0x7c1b2034a0684560ULL);
}

// Placements computed by the Python reference placement printed in
// docs/subscribe-protocol.md ("Consistent hashing"), which hashes with
// libxxhash through ctypes: a client in another language following the
// document places keys exactly like this library. (They changed when the
// subscriber moved from its own hash to XXH64.)
TEST(Allocator, ConsistentHashPlacesKeysAsDocumented) {
  auto slot = std::make_shared<ClusterSlot>("c");
  Cluster c = MakeCluster("c", 5);
  std::vector<Node> reversed = c.nodes.ToVector();
  std::reverse(reversed.begin(), reversed.end());  // placement ignores node order
  c.nodes = NodeList(std::move(reversed));
  PublishCluster(*slot, c);
  Allocator ch = AllocatorAccess::Make(slot, Policy::kConsistentHash);
  EXPECT_EQ(ch.Pick(Protocol::kAny, "session-42").ip(), "10.0.0.5");
  EXPECT_EQ(MapKeys(ch, 8),
            (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.3", "10.0.0.5", "10.0.0.1",
                                      "10.0.0.5", "10.0.0.3", "10.0.0.5"}));
  c.nodes.Mutable(c.nodes.size() - 1).weight = 300;  // 10.0.0.1, now three times the others
  PublishCluster(*slot, c);
  EXPECT_EQ(MapKeys(ch, 8),
            (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.3", "10.0.0.1", "10.0.0.1",
                                      "10.0.0.5", "10.0.0.1", "10.0.0.1"}));
}

// The Maglev table is half the cost of a snapshot: only slots that ever
// served a consistent-hash pick get theirs built when a snapshot is
// published; on the others it waits for a pick that needs it.
TEST(Allocator, MaglevTablesAreBuiltOnlyForSlotsThatHashPick) {
  auto slot = std::make_shared<ClusterSlot>("c");
  PublishCluster(*slot, MakeCluster("c", 5, 1));
  EXPECT_FALSE(slot->Load()->view(Protocol::kHttp).has_maglev());
  Allocator rr = AllocatorAccess::Make(slot, Policy::kRoundRobin);
  ASSERT_TRUE(rr.Pick(Protocol::kHttp));
  PublishCluster(*slot, MakeCluster("c", 5, 2));
  EXPECT_FALSE(slot->Load()->view(Protocol::kHttp).has_maglev());

  Allocator ch = AllocatorAccess::Make(slot, Policy::kConsistentHash);
  Pick first = ch.Pick(Protocol::kHttp, "k1");  // builds this snapshot's table
  ASSERT_TRUE(first);
  EXPECT_TRUE(slot->Load()->view(Protocol::kHttp).has_maglev());
  PublishCluster(*slot, MakeCluster("c", 5, 3));  // built before it is seen
  for (Protocol p : {Protocol::kAny, Protocol::kHttp, Protocol::kTcp}) {
    EXPECT_TRUE(slot->Load()->view(p).has_maglev()) << ProtocolName(p);
  }
  EXPECT_EQ(ch.Pick(Protocol::kHttp, "k1").ip(), first.ip());
}

// Threads that make the first consistent-hash pick of a snapshot at once
// all get the one table: every key lands where a single picker puts it.
TEST(Allocator, ConcurrentFirstHashPicksAgree) {
  Cluster c = MakeCluster("c", 50, 1);
  auto reference_slot = std::make_shared<ClusterSlot>("c");
  PublishCluster(*reference_slot, c);
  Allocator reference = AllocatorAccess::Make(reference_slot, Policy::kConsistentHash);
  for (int round = 0; round < 20; ++round) {
    auto slot = std::make_shared<ClusterSlot>("c");
    PublishCluster(*slot, c);
    std::vector<std::string> got[4];
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        Allocator a = AllocatorAccess::Make(slot, Policy::kConsistentHash);
        for (int k = 0; k < 200; ++k) {
          got[t].push_back(std::string(a.Pick(Protocol::kHttp, "key" + std::to_string(k)).ip()));
        }
      });
    }
    for (auto& th : threads) th.join();
    for (int k = 0; k < 200; ++k) {
      std::string want(reference.Pick(Protocol::kHttp, "key" + std::to_string(k)).ip());
      for (int t = 0; t < 4; ++t) ASSERT_EQ(got[t][static_cast<size_t>(k)], want) << t << " " << k;
    }
  }
}

TEST(MaglevTable, EveryNodeGetsSlotsAndTableIsFull) {
  std::vector<std::string> keys;
  std::vector<int> weights;
  for (int i = 0; i < 100; ++i) {
    keys.push_back("10.1.0." + std::to_string(i) + "|HTTP:80");
    weights.push_back(100);
  }
  uint32_t m = internal::MaglevTableSize(keys.size());
  auto table = internal::BuildMaglevTable(keys, weights, m);
  ASSERT_EQ(table.size(), m);
  std::vector<int> count(keys.size());
  for (uint32_t e : table) {
    ASSERT_LT(e, keys.size());
    ++count[e];
  }
  // Equal weights: each node owns M/N slots, give or take one.
  for (int c : count) EXPECT_NEAR(c, static_cast<double>(m) / keys.size(), 1.0);
}

TEST(Endpoint, ToStringBracketsIpv6) {
  EXPECT_EQ(Endpoint("10.0.0.1", 80, Protocol::kHttp).ToString(), "10.0.0.1:80");
  EXPECT_EQ(Endpoint("fe80::1", 8080, Protocol::kTcp).ToString(), "[fe80::1]:8080");
}

}  // namespace
}  // namespace jcm
