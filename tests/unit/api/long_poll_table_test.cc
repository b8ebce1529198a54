// LongPollTable: parking by name, exactly-once ownership when a change, a
// timeout and a shutdown race for one poll, and the capacity bound.
#include "api/long_poll_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace jcm {
namespace {

std::shared_ptr<ParkedPoll> PollOn(std::vector<std::string> names) {
  auto p = std::make_shared<ParkedPoll>();
  p->names = std::move(names);
  return p;
}

TEST(LongPollTable, ChangeTakesExactlyThePollsHoldingTheName) {
  LongPollTable table(10);
  auto a = PollOn({"web", "db"}), b = PollOn({"db"}), c = PollOn({"cache"});
  ASSERT_TRUE(table.Park(a));
  ASSERT_TRUE(table.Park(b));
  ASSERT_TRUE(table.Park(c));
  auto woken = table.TakeHolding("db");
  ASSERT_EQ(woken.size(), 2u);
  EXPECT_EQ(table.size(), 1u);
  // Taken out under every name it held: a later change to "web" finds none.
  EXPECT_TRUE(table.TakeHolding("web").empty());
  EXPECT_TRUE(table.TakeHolding("nosuch").empty());
  EXPECT_EQ(table.TakeHolding("cache").size(), 1u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(LongPollTable, RemoveSucceedsOnlyForTheOwner) {
  LongPollTable table(10);
  auto a = PollOn({"web"});
  ASSERT_TRUE(table.Park(a));
  EXPECT_EQ(table.TakeHolding("web").size(), 1u);
  EXPECT_FALSE(table.Remove(*a));  // the change owns it: the timeout does nothing
  ASSERT_TRUE(table.Park(a));      // parked again after its re-evaluation
  EXPECT_TRUE(table.Remove(*a));   // now the timeout wins
  EXPECT_TRUE(table.TakeHolding("web").empty());
}

TEST(LongPollTable, CapacityAndShutdown) {
  LongPollTable table(2);
  auto a = PollOn({"x"}), b = PollOn({"y"}), c = PollOn({"z"});
  EXPECT_TRUE(table.Park(a));
  EXPECT_TRUE(table.Park(b));
  EXPECT_FALSE(table.Park(c));
  EXPECT_TRUE(table.Remove(*a));
  EXPECT_TRUE(table.Park(c));
  EXPECT_EQ(table.Shutdown().size(), 2u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_FALSE(table.Park(a));
}

// Many threads race a change, a timeout and a shutdown per poll: each poll
// is owned by exactly one of them.
TEST(LongPollTable, RacingTakersOwnEachPollOnce) {
  constexpr int kPolls = 2000;
  LongPollTable table(kPolls);
  std::vector<std::shared_ptr<ParkedPoll>> polls;
  for (int i = 0; i < kPolls; ++i) {
    polls.push_back(PollOn({"n" + std::to_string(i % 7), "all"}));
    ASSERT_TRUE(table.Park(polls.back()));
  }
  std::atomic<int> owned{0};
  std::thread changes([&] {
    for (int n = 0; n < 7; ++n)
      owned += static_cast<int>(table.TakeHolding("n" + std::to_string(n)).size());
  });
  std::thread timeouts([&] {
    for (auto& p : polls) owned += table.Remove(*p) ? 1 : 0;
  });
  std::thread all([&] { owned += static_cast<int>(table.TakeHolding("all").size()); });
  changes.join();
  timeouts.join();
  all.join();
  owned += static_cast<int>(table.Shutdown().size());
  EXPECT_EQ(owned.load(), kPolls);
}

}  // namespace
}  // namespace jcm
