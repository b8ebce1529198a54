#include "healthcheck/hash_ring.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "healthcheck/xxhash64.h"

namespace jcm {
namespace {

std::vector<std::string> Names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("cluster-" + std::to_string(i));
  return names;
}

// Known XXH64 answers. They were first computed with the xxHash project's
// libxxhash 0.8.1 through Python's ctypes and checked against jcm's own
// earlier XXH64 implementation (the two agreed on 602,000 random inputs of
// 0-300 bytes and random seeds before ours was replaced by the library).
TEST(XxHash64, KnownAnswers) {
  EXPECT_EQ(XxHash64(""), 0xef46db3751d8e999ULL);
  EXPECT_EQ(XxHash64("a"), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(XxHash64("abc"), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(XxHash64("cluster-42#7"), 0x8ddfff933db82687ULL);
  // 39 bytes: the 32-byte stripe loop plus every tail step.
  EXPECT_EQ(XxHash64("Nobody inspects the spammish repetition"), 0xfbcea83c8a378bf1ULL);
  EXPECT_EQ(XxHash64("0123456789abcdef0123456789abcdef0123456789abcdefXYZ", 12345),
            0x966e3c466ec3c793ULL);
}

// Owners computed with jcm's own XXH64 implementation before it was
// replaced by libxxhash: the ring must place every cluster exactly where it
// did, or a mixed-version deployment would have two checkers for a cluster.
TEST(HashRing, PlacementUnchangedByTheLibraryHash) {
  HashRing ring({"jcm-0000000001", "jcm-0000000002", "jcm-0000000003"});
  const char* owners[] = {"jcm-0000000002", "jcm-0000000001", "jcm-0000000003", "jcm-0000000003",
                          "jcm-0000000003", "jcm-0000000003", "jcm-0000000001", "jcm-0000000001",
                          "jcm-0000000002", "jcm-0000000003", "jcm-0000000003", "jcm-0000000001"};
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(ring.OwnerOf("cluster-" + std::to_string(i)), owners[i]) << i;
  }
  std::map<std::string, int> count;
  for (const std::string& n : Names(1000)) count[ring.OwnerOf(n)]++;
  EXPECT_EQ(count["jcm-0000000001"], 300);
  EXPECT_EQ(count["jcm-0000000002"], 322);
  EXPECT_EQ(count["jcm-0000000003"], 378);
}

TEST(HashRing, EmptyRingOwnsNothing) {
  HashRing ring;
  EXPECT_EQ(ring.OwnerOf("x"), "");
  EXPECT_FALSE(ring.Owns("a", "x"));
}

TEST(HashRing, SameRingWhateverTheMemberOrder) {
  HashRing a({"jcm-0000000002", "jcm-0000000001", "jcm-0000000003"});
  HashRing b({"jcm-0000000003", "jcm-0000000001", "jcm-0000000002", "jcm-0000000001"});
  EXPECT_EQ(b.members().size(), 3u);
  for (const std::string& n : Names(1000)) EXPECT_EQ(a.OwnerOf(n), b.OwnerOf(n)) << n;
}

TEST(HashRing, BalancesThousandNamesOverThreeMembers) {
  HashRing ring({"jcm-0000000001", "jcm-0000000002", "jcm-0000000003"});
  std::map<std::string, int> count;
  for (const std::string& n : Names(1000)) count[ring.OwnerOf(n)]++;
  ASSERT_EQ(count.size(), 3u);
  const double mean = 1000.0 / 3;
  for (const auto& [member, c] : count) {
    EXPECT_GE(c, mean * 0.85) << member;
    EXPECT_LE(c, mean * 1.15) << member;
  }
}

TEST(HashRing, FourthMemberTakesAboutAQuarterAndOnlyForItself) {
  std::vector<std::string> three = {"jcm-0000000001", "jcm-0000000002", "jcm-0000000003"};
  HashRing before(three);
  three.push_back("jcm-0000000004");
  HashRing after(three);
  int moved = 0;
  for (const std::string& n : Names(1000)) {
    const std::string& was = before.OwnerOf(n);
    const std::string& now = after.OwnerOf(n);
    if (was != now) {
      ++moved;
      EXPECT_EQ(now, "jcm-0000000004") << n << " moved between old members";
    }
  }
  EXPECT_GE(moved, 250 * 0.8);
  EXPECT_LE(moved, 250 * 1.2);
}

TEST(HashRing, RemovingAMemberMovesOnlyItsClusters) {
  HashRing before({"a", "b", "c", "d"});
  HashRing after({"a", "b", "d"});
  int moved = 0;
  for (const std::string& n : Names(1000)) {
    if (before.OwnerOf(n) == "c") {
      ++moved;
      EXPECT_NE(after.OwnerOf(n), "c");
    } else {
      EXPECT_EQ(after.OwnerOf(n), before.OwnerOf(n)) << n;
    }
  }
  EXPECT_GT(moved, 150);
}

TEST(HashRing, SingleMemberOwnsEverything) {
  HashRing ring({"only"});
  for (const std::string& n : Names(50)) EXPECT_TRUE(ring.Owns("only", n));
}

TEST(HashRing, SuccessorsAreDistinctOthersAfterTheOwner) {
  HashRing ring({"a:1", "b:1", "c:1", "d:1"});
  std::map<std::string, int> first_peer;
  for (const std::string& n : Names(400)) {
    const std::vector<std::string> s = ring.Successors(n, 2);
    ASSERT_EQ(s.size(), 2u) << n;
    EXPECT_NE(s[0], ring.OwnerOf(n));
    EXPECT_NE(s[1], ring.OwnerOf(n));
    EXPECT_NE(s[0], s[1]);
    ++first_peer[s[0]];
    // The same list whatever order the ring was built in.
    EXPECT_EQ(HashRing({"d:1", "c:1", "b:1", "a:1"}).Successors(n, 2), s);
    // The first successor is who would own it if the owner left.
    std::vector<std::string> rest;
    for (const char* m : {"a:1", "b:1", "c:1", "d:1"}) {
      if (ring.OwnerOf(n) != m) rest.push_back(m);
    }
    EXPECT_EQ(HashRing(rest).OwnerOf(n), s[0]) << n;
  }
  EXPECT_EQ(first_peer.size(), 4u);  // spread, not one peer for everything
  EXPECT_EQ(ring.Successors("x", 9).size(), 3u);
  EXPECT_TRUE(HashRing({"only"}).Successors("x", 2).empty());
  EXPECT_TRUE(HashRing().Successors("x", 2).empty());
}

}  // namespace
}  // namespace jcm
