// `jcmctl history`'s table, from fixed replies of GET /c/{name}/history:
// newest first across nodes, UTC times, suspects marked, the empty state.
#include <gtest/gtest.h>

#include "tools/jcmctl/history_view.h"

namespace jcm::ctl {
namespace {

TEST(FormatUtc, DateTimeAndMillisecondsInUtc) {
  EXPECT_EQ(FormatUtc(1764549097123), "2025-12-01 00:31:37.123");
  EXPECT_EQ(FormatUtc(1000), "1970-01-01 00:00:01.000");
  EXPECT_EQ(FormatUtc(0), "-");
}

TEST(RenderHistory, OneRowPerTransitionNewestFirstAcrossNodes) {
  const nlohmann::json reply = {
      {"cluster", "web"},
      {"owner", "127.0.0.1:8602"},
      {"checking", true},
      {"nodes",
       {{"10.0.0.1|HTTP:80",
         {{{"at", 1000}, {"from", "INVALID"}, {"to", "NORMAL"}, {"reason", "success"}},
          {{"at", 3000}, {"from", "NORMAL"}, {"to", "TIMEOUT"}, {"reason", "no-answer"}}}},
        {"10.0.0.2|HTTP:80",
         {{{"at", 2000}, {"from", "INVALID"}, {"to", "NORMAL"}, {"reason", "success"}}}}}},
      {"suspects", {"10.0.0.2|HTTP:80", "10.0.0.3|HTTP:80"}}};
  EXPECT_EQ(
      RenderHistory(reply, false),
      "Cluster:     web\n"
      "Checked by:  127.0.0.1:8602\n"
      "\n"
      "TIME (UTC)               NODE                        CHANGE            REASON\n"
      "1970-01-01 00:00:03.000  10.0.0.1|HTTP:80            NORMAL \u2192 TIMEOUT  no-answer\n"
      "1970-01-01 00:00:02.000  10.0.0.2|HTTP:80 (suspect)  INVALID \u2192 NORMAL  success\n"
      "1970-01-01 00:00:01.000  10.0.0.1|HTTP:80            INVALID \u2192 NORMAL  success\n"
      "\n"
      "Suspect (NORMAL: this instance's checks fail, another instance reaches it):\n"
      "  10.0.0.2|HTTP:80\n"
      "  10.0.0.3|HTTP:80\n");
}

TEST(RenderHistory, AnInstanceThatDoesNotCheckHasNoRows) {
  const nlohmann::json reply = {{"cluster", "web"},
                                {"owner", "127.0.0.1:8601"},
                                {"checking", false},
                                {"nodes", nlohmann::json::object()},
                                {"suspects", nlohmann::json::array()}};
  EXPECT_EQ(RenderHistory(reply, false),
            "Cluster:     web\n"
            "Checked by:  not 127.0.0.1:8601 (it records no transitions)\n"
            "\n"
            "no transitions recorded on this instance\n");
}

TEST(RenderHistory, ColourFollowsTheNewStatus) {
  const nlohmann::json reply = {
      {"cluster", "web"},
      {"checking", true},
      {"nodes",
       {{"10.0.0.1|HTTP:80",
         {{{"at", 1000}, {"from", "NORMAL"}, {"to", "ABNORMAL"}, {"reason", "bad-answer"}}}}}}};
  const std::string out = RenderHistory(reply, true);
  EXPECT_NE(out.find("\x1b[31mNORMAL \u2192 ABNORMAL\x1b[0m"), std::string::npos) << out;
  EXPECT_EQ(RenderHistory(reply, false).find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace jcm::ctl
