// SubReplyCache: a stored reply is found only for the same body at the same
// change counter; limits bound what is stored.
#include "api/sub_reply_cache.h"

#include <gtest/gtest.h>

namespace jcm {
namespace {

TEST(SubReplyCache, FoundOnlyForTheSameBodyAndCounter) {
  SubReplyCache cache;
  cache.Store(R"({"units":[]})", 7, "reply-7");
  auto hit = cache.Find(R"({"units":[]})", 7);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, "reply-7");
  EXPECT_EQ(cache.Find(R"({"units":[]})", 8), nullptr) << "the registry moved on";
  EXPECT_EQ(cache.Find(R"({"units":[] })", 7), nullptr) << "another body";
  EXPECT_EQ(cache.hits(), 1u);
}

TEST(SubReplyCache, ANewerReplyReplacesAnOlderOneNeverTheReverse) {
  SubReplyCache cache;
  cache.Store("b", 5, "five");
  cache.Store("b", 6, "six");
  cache.Store("b", 4, "four");  // a slow evaluation finishing late
  EXPECT_EQ(cache.Find("b", 4), nullptr);
  ASSERT_NE(cache.Find("b", 6), nullptr);
  EXPECT_EQ(*cache.Find("b", 6), "six");
  EXPECT_EQ(cache.size(), 1u);
}

TEST(SubReplyCache, LimitsBoundWhatIsStored) {
  SubReplyCache cache(
      SubReplyCache::Limits{.max_entries = 2, .max_body_bytes = 4, .max_reply_bytes = 3});
  cache.Store("long body", 1, "r");
  EXPECT_EQ(cache.Find("long body", 1), nullptr);
  cache.Store("b", 1, "long reply");
  EXPECT_EQ(cache.Find("b", 1), nullptr);
  cache.Store("a", 1, "r1");
  cache.Store("b", 1, "r2");
  cache.Store("c", 1, "r3");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Find("c", 1), nullptr) << "the newest entry is kept";
}

}  // namespace
}  // namespace jcm
