// TokenAuth and ParseTokens: roles, refusals that name no token, reloads
// that keep the old tokens on a bad file; and the API routes guarded by it
// (401 / 401 / 403 with nothing written, reads open until a read token).
#include "api/token_auth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

const std::string kWrite = "w-0123456789abcdef";
const std::string kRead = "r-0123456789abcdef";

std::string TempFile(const std::string& text) {
  char path[] = "/tmp/jcm-tokens-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(ParseTokens, RolesCommentsAndRefusals) {
  TokenSet set;
  ASSERT_TRUE(ParseTokens("# ops\n\nwrite " + kWrite + "\r\n  read\t" + kRead + "  \n", &set).ok());
  EXPECT_EQ(set.write.size(), 1u);
  EXPECT_EQ(set.read.size(), 1u);
  Status s = ParseTokens("write " + kWrite + "\nadmin " + kRead + "\n", &set);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'admin'"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(kRead), std::string::npos) << "a refusal must not show the token";
  s = ParseTokens("write short\n", &set);
  EXPECT_NE(s.message().find("shorter than 16"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("short\n"), std::string::npos);
  EXPECT_FALSE(ParseTokens("write\n", &set).ok());
  EXPECT_FALSE(ParseTokens("write a b c d e f g h i j k\n", &set).ok());
}

TEST(TokenAuth, WriteTokenGuardsWritesOnly) {
  std::string path = TempFile("write " + kWrite + "\n");
  TokenAuth auth(path);
  ASSERT_TRUE(auth.Reload().ok());
  EXPECT_TRUE(auth.Check("Bearer " + kWrite, true).ok());
  EXPECT_EQ(auth.Check("", true).code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(auth.Check("Bearer nope-nope-nope-nope", true).code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(auth.Check("Basic " + kWrite, true).code(), Status::Code::kUnauthenticated);
  EXPECT_TRUE(auth.Check("", false).ok()) << "reads stay open without a read token";
  std::remove(path.c_str());
}

TEST(TokenAuth, ReadTokenGuardsReadsAndCannotWrite) {
  std::string path = TempFile("write " + kWrite + "\nread " + kRead + "\n");
  TokenAuth auth(path);
  ASSERT_TRUE(auth.Reload().ok());
  EXPECT_EQ(auth.Check("Bearer " + kRead, true).code(), Status::Code::kPermissionDenied);
  EXPECT_TRUE(auth.Check("Bearer " + kRead, false).ok());
  EXPECT_TRUE(auth.Check("Bearer " + kWrite, false).ok()) << "write implies read";
  EXPECT_EQ(auth.Check("", false).code(), Status::Code::kUnauthenticated);
  std::remove(path.c_str());
}

TEST(TokenAuth, ABadReloadKeepsTheTokensInForce) {
  std::string path = TempFile("write " + kWrite + "\n");
  TokenAuth auth(path);
  ASSERT_TRUE(auth.Reload().ok());
  std::ofstream(path) << "write " << kWrite << "\nbogus line\n";
  EXPECT_FALSE(auth.Reload().ok());
  EXPECT_TRUE(auth.Check("Bearer " + kWrite, true).ok());
  EXPECT_EQ(auth.Check("", true).code(), Status::Code::kUnauthenticated);
  // A good file replaces them.
  std::ofstream(path) << "write " << kRead << "\n";
  ASSERT_TRUE(auth.Reload().ok());
  EXPECT_EQ(auth.Check("Bearer " + kWrite, true).code(), Status::Code::kUnauthenticated);
  EXPECT_TRUE(auth.Check("Bearer " + kRead, true).ok());
  std::remove(path.c_str());
}

class GuardedApi : public ::testing::Test {
 protected:
  static ApiOptions Options(const std::string& tokens) {
    ApiOptions o;
    o.tokens_file = tokens;
    return o;
  }
  Reply As(TestApi& api, const std::string& token, const std::string& method,
           const std::string& path, const std::string& body = "") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return api.Call(method, path, body, h);
  }
};

TEST_F(GuardedApi, WritesNeedAWriteTokenAndNothingIsWrittenWithout) {
  std::string path = TempFile("write " + kWrite + "\nread " + kRead + "\n");
  TestApi api(Options(path));
  for (const std::string& token : {std::string(), std::string("wrong-token-123456789"), kRead}) {
    Reply r = As(api, token, "POST", "/c", ClusterDoc("web"));
    ExpectError(r, token == kRead ? 403 : 401, {"authorization"});
    EXPECT_EQ(r.raw.find(kWrite), std::string::npos);
    ExpectError(As(api, token, "DELETE", "/c/web"), token == kRead ? 403 : 401, {});
    ExpectError(As(api, token, "POST", "/c/node/web", "[]"), token == kRead ? 403 : 401, {});
  }
  EXPECT_TRUE(api.fake().calls().empty()) << "a refused write reached the service";
  Reply ok = As(api, kWrite, "POST", "/c", ClusterDoc("web"));
  EXPECT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(api.fake().calls().size(), 1u);
  std::remove(path.c_str());
}

TEST_F(GuardedApi, ReadsOpenUntilAReadTokenIsNamed) {
  std::string write_only = TempFile("write " + kWrite + "\n");
  {
    TestApi api(Options(write_only));
    EXPECT_EQ(api.Call("GET", "/c").status, 200);
    EXPECT_EQ(api.Call("POST", "/sub", R"({"units":[]})").status, 200);
    EXPECT_EQ(api.Call("GET", "/sys/status").status, 200);
  }
  std::string both = TempFile("write " + kWrite + "\nread " + kRead + "\n");
  TestApi api(Options(both));
  ExpectError(api.Call("GET", "/c"), 401, {"authorization"});
  ExpectError(api.Call("POST", "/sub", R"({"units":[]})"), 401, {"authorization"});
  ExpectError(api.Call("GET", "/sys/status"), 401, {"authorization"});
  EXPECT_EQ(As(api, kRead, "GET", "/c").status, 200);
  EXPECT_EQ(As(api, kWrite, "POST", "/sub", R"({"units":[]})").status, 200);
  // Liveness and readiness stay open for probes.
  EXPECT_EQ(api.Call("GET", "/healthz").status, 200);
  EXPECT_EQ(api.Call("GET", "/readyz").status, 200);
  std::remove(write_only.c_str());
  std::remove(both.c_str());
}

TEST_F(GuardedApi, UnauthenticatedSaysBearer) {
  std::string path = TempFile("write " + kWrite + "\n");
  TestApi api(Options(path));
  httplib::Client c("127.0.0.1", api.port());
  auto res = c.Post("/c", ClusterDoc("web"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
  std::remove(path.c_str());
}

TEST_F(GuardedApi, ABadTokensFileRefusesToStart) {
  std::string path = TempFile("write\n");
  FakeNameService fake;
  ApiServer server(Options(path), &fake);
  Status s = server.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("line 1"), std::string::npos) << s.message();
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jcm
