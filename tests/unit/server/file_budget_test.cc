// SplitFileBudget: the open-file limit shared by API connections and the
// checker's keep-alive connections, never over the limit.
#include "server/file_budget.h"

#include <gtest/gtest.h>

namespace jcm {
namespace {

TEST(FileBudget, ThisMachinesLimitSplitsAsDocumented) {
  FileBudget b = SplitFileBudget(20000, 0);
  EXPECT_EQ(b.reserve, 1000u);
  EXPECT_EQ(b.api_connections, 11400u);
  EXPECT_EQ(b.checker_keepalive, 7600u);
}

TEST(FileBudget, AnExplicitApiCapTakesFromTheChecker) {
  FileBudget b = SplitFileBudget(20000, 16000);
  EXPECT_EQ(b.api_connections, 16000u);
  EXPECT_EQ(b.checker_keepalive, 3000u);
  // Asking for more than there is leaves the checker nothing, not a wrap.
  b = SplitFileBudget(20000, 50000);
  EXPECT_EQ(b.checker_keepalive, 0u);
}

TEST(FileBudget, SmallLimitsStayWithinTheLimit) {
  for (size_t limit : {0u, 100u, 256u, 1024u, 4096u, 65536u}) {
    FileBudget b = SplitFileBudget(limit, 0);
    EXPECT_LE(b.reserve + b.api_connections + b.checker_keepalive, limit) << limit;
  }
  FileBudget b = SplitFileBudget(1024, 0);
  EXPECT_EQ(b.reserve, 256u);
  EXPECT_EQ(b.api_connections, 768u);  // all that is left when under 1,024
  EXPECT_EQ(b.checker_keepalive, 0u);
}

}  // namespace
}  // namespace jcm
