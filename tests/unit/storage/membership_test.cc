// Member znode names: the sequence is read without overflow (issue 9 item
// 4), from both the old and the token-protected form (issue 8 item 5).
#include "storage/membership.h"

#include <gtest/gtest.h>

namespace jcm {
namespace {

TEST(MembershipSeq, ReadsTheTrailingSequence) {
  EXPECT_EQ(Membership::SeqOf("member-0000000007"), 7);
  EXPECT_EQ(Membership::SeqOf("member-3f2a9c0d11e4b5a9-0000000012"), 12);
  EXPECT_EQ(Membership::SeqOf("member-2147483647"), 2147483647);
}

TEST(MembershipSeq, AbsurdOrMissingSequenceIsNotAMember) {
  EXPECT_EQ(Membership::SeqOf("member-99999999999999999999"), -1);  // stoll threw here
  EXPECT_EQ(Membership::SeqOf("member-"), -1);
  EXPECT_EQ(Membership::SeqOf("0000000001"), -1);
  EXPECT_EQ(Membership::SeqOf(""), -1);
}

}  // namespace
}  // namespace jcm
