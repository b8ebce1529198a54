// ParseTarget and the request accessors: decoding of paths and queries the
// way routes and the cluster-name validator expect.
#include "api/http_request.h"

#include <gtest/gtest.h>

namespace jcm {
namespace {

TEST(ParseTarget, PathIsDecodedAndQuerySplit) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  ASSERT_TRUE(ParseTarget("/c/bad%20name?form=jcm&x=a+b&flag", &path, &query));
  EXPECT_EQ(path, "/c/bad name");
  ASSERT_EQ(query.size(), 3u);
  EXPECT_EQ(query[0], (std::pair<std::string, std::string>{"form", "jcm"}));
  EXPECT_EQ(query[1].second, "a b");  // '+' is a space in a query only
  EXPECT_EQ(query[2], (std::pair<std::string, std::string>{"flag", ""}));
  ASSERT_TRUE(ParseTarget("/c/a+b", &path, &query));
  EXPECT_EQ(path, "/c/a+b");
  // %2F stays a '/' inside the name, which the validator then refuses.
  ASSERT_TRUE(ParseTarget("/c/a%2Fb", &path, &query));
  EXPECT_EQ(path, "/c/a/b");
}

TEST(ParseTarget, RefusesWhatIsNotAnOriginPath) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  EXPECT_FALSE(ParseTarget("", &path, &query));
  EXPECT_FALSE(ParseTarget("http://x/c", &path, &query));
  EXPECT_FALSE(ParseTarget("/c/%zz", &path, &query));
  EXPECT_FALSE(ParseTarget("/c/%4", &path, &query));
  EXPECT_FALSE(ParseTarget("/c?x=%", &path, &query));
}

TEST(HttpRequest, HeaderNamesAreCaseInsensitive) {
  HttpRequest r;
  r.headers = {{"Content-Type", "text/plain"}, {"X-Jcm-Forwarded", "a:1"}};
  r.query = {{"form", "jcm"}};
  EXPECT_EQ(r.Header("content-type"), "text/plain");
  EXPECT_EQ(r.Header("x-jcm-forwarded"), "a:1");
  EXPECT_EQ(r.Header("authorization"), "");
  EXPECT_EQ(r.Param("form"), "jcm");
  EXPECT_EQ(r.Param("Form"), "");
}

}  // namespace
}  // namespace jcm
