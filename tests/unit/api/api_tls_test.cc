// ApiServer over TLS, in process, with a throwaway CA (tests/support/
// test_ca.h, the openssl CLI): the connection limits apply to TLS
// connections (a stalled handshake is cut at the request deadline and is
// evictable at the cap), plain HTTP sent to the TLS port and TLS below 1.2
// are refused, and bad certificate files are clear errors at start.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "api/tls_context.h"
#include "subscriber/src/sigpipe_guard.h"
#include "tests/support/raw_http.h"
#include "tests/support/test_ca.h"
#include "tests/support/test_env.h"
#include "tests/unit/api/api_test_util.h"

namespace jcm {
namespace {

using std::chrono::milliseconds;
using testing::TempDir;
using testing::TestCa;
using testing::TestCert;

class ApiTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("jcm-api-tls");
    std::string error;
    ASSERT_TRUE(ca_.Create(dir_->path(), "unit", &error)) << error;
    ASSERT_TRUE(ca_.Issue("server", "unit-server", &cert_, &error)) << error;
    ASSERT_TRUE(ca_.Issue("other", "unit-other", &other_, &error)) << error;
    ready_ = true;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the suite's set-up failed (see above)"; }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static ApiOptions TlsOptions() {
    ApiOptions o;
    o.tls_cert_file = cert_.cert;
    o.tls_key_file = cert_.key;
    o.tls_host = "127.0.0.1";
    o.tls_port = 0;
    return o;
  }

  // GET over HTTPS, verified against the test CA.
  static int HttpsGet(int port, const std::string& path) {
    internal::SigpipeGuard no_sigpipe;
    httplib::Client c("https://127.0.0.1:" + std::to_string(port));
    c.enable_server_certificate_verification(true);
    c.set_ca_cert_path(ca_.cert());
    c.set_connection_timeout(std::chrono::seconds(2));
    c.set_read_timeout(std::chrono::seconds(2));
    auto r = c.Get(path);
    return r ? r->status : 0;
  }

  static TempDir* dir_;
  static TestCa ca_;
  static TestCert cert_;
  static TestCert other_;
  static bool ready_;
};

TempDir* ApiTlsTest::dir_ = nullptr;
TestCa ApiTlsTest::ca_;
TestCert ApiTlsTest::cert_;
TestCert ApiTlsTest::other_;
bool ApiTlsTest::ready_ = false;

bool AwaitCounter(TestApi& api, const char* counter, int want) {
  return testing::WaitUntil(
      [&] { return api.server().CountersJson()["http"].value(counter, 0) >= want; },
      milliseconds(2000), milliseconds(1));
}

TEST_F(ApiTlsTest, ServesHttpsAlongsidePlainHttp) {
  TestApi api(TlsOptions());
  ASSERT_GT(api.server().tls_port(), 0);
  EXPECT_NE(api.server().tls_port(), api.port());
  EXPECT_EQ(HttpsGet(api.server().tls_port(), "/healthz"), 200);
  EXPECT_EQ(api.Call("GET", "/healthz").status, 200);
  nlohmann::json http = api.server().CountersJson()["http"];
  EXPECT_EQ(http["tlsHandshakes"], 1);
  EXPECT_EQ(http["requests"], 2);
  nlohmann::json tls = api.server().CountersJson()["tls"];
  EXPECT_EQ(tls["port"], api.server().tls_port());
  EXPECT_NE(tls["cert"].get<std::string>().find("CN=unit-server; notAfter="), std::string::npos)
      << tls;
}

TEST_F(ApiTlsTest, StalledHandshakeIsCutAtTheRequestDeadline) {
  ApiOptions o = TlsOptions();
  o.request_deadline = milliseconds(300);
  TestApi api(o);
  RawHttp silent(api.server().tls_port());
  ASSERT_TRUE(silent.connected());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.ClosedByPeer(milliseconds(3000)));
  EXPECT_GE(testing::MsSince(start), 250);
  EXPECT_TRUE(AwaitCounter(api, "closedDeadline", 1));
  EXPECT_EQ(api.server().CountersJson()["http"]["tlsHandshakes"], 0);
}

TEST_F(ApiTlsTest, AtTheCapAStalledHandshakeMakesRoom) {
  ApiOptions o = TlsOptions();
  o.max_connections = 2;
  TestApi api(o);
  RawHttp first(api.server().tls_port());
  ASSERT_TRUE(first.connected());
  ASSERT_TRUE(AwaitCounter(api, "waiting", 1));
  RawHttp second(api.server().tls_port());
  ASSERT_TRUE(second.connected());
  ASSERT_TRUE(AwaitCounter(api, "waiting", 2));
  // A third client is served; the longest-waiting handshake is closed for it.
  EXPECT_EQ(HttpsGet(api.server().tls_port(), "/healthz"), 200);
  EXPECT_TRUE(first.ClosedByPeer(milliseconds(2000)));
  EXPECT_TRUE(AwaitCounter(api, "closedEvicted", 1));
  EXPECT_EQ(api.server().CountersJson()["http"]["refusedAtCap"], 0);
}

TEST_F(ApiTlsTest, PlainHttpOnTheTlsPortIsRefused) {
  TestApi api(TlsOptions());
  RawHttp conn(api.server().tls_port());
  ASSERT_TRUE(conn.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  RawResponse r = conn.Read(milliseconds(2000));
  EXPECT_EQ(r.status, 0) << "no HTTP answer on the TLS port";
  EXPECT_TRUE(conn.ClosedByPeer(milliseconds(2000)));
  EXPECT_TRUE(AwaitCounter(api, "tlsHandshakeFailures", 1));
  EXPECT_EQ(api.server().CountersJson()["http"]["requests"], 0);
}

// The reason the handshake of a client limited to `max_version` failed, 0
// if it succeeded. Security level 0 so that the client itself would offer
// old versions: any refusal is the server's.
unsigned long HandshakeError(int port, int max_version) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  RawHttp tcp(port);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), tcp.fd());
  ERR_clear_error();
  if (SSL_connect(ssl.get()) == 1) return 0;
  unsigned long e = ERR_peek_last_error();
  return e == 0 ? 1 : e;
}

TEST_F(ApiTlsTest, OnlyTls12AndLater) {
  TestApi api(TlsOptions());
  const int port = api.server().tls_port();
  EXPECT_EQ(HandshakeError(port, TLS1_2_VERSION), 0u);
  EXPECT_EQ(HandshakeError(port, TLS1_3_VERSION), 0u);
  for (int old : {TLS1_VERSION, TLS1_1_VERSION}) {
    unsigned long e = HandshakeError(port, old);
    ASSERT_NE(e, 0u) << "TLS version " << std::hex << old << " accepted";
    EXPECT_EQ(ERR_GET_REASON(e), SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
        << ERR_error_string(e, nullptr);
  }
}

TEST_F(ApiTlsTest, AClientThatRejectsTheCertificateIsCountedAndServedNothing) {
  TestApi api(TlsOptions());
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  // Trusting only an unrelated certificate: ours does not verify.
  ASSERT_EQ(SSL_CTX_load_verify_locations(ctx.get(), other_.cert.c_str(), nullptr), 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  RawHttp tcp(api.server().tls_port());
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), tcp.fd());
  EXPECT_NE(SSL_connect(ssl.get()), 1);
  EXPECT_TRUE(AwaitCounter(api, "tlsHandshakeFailures", 1));
  nlohmann::json http = api.server().CountersJson()["http"];
  EXPECT_EQ(http["tlsHandshakes"], 0);
  EXPECT_EQ(http["requests"], 0);
}

TEST_F(ApiTlsTest, BadCertificateFilesAreClearErrorsAtStart) {
  FakeNameService fake;
  ApiOptions o = TlsOptions();
  o.tls_cert_file = dir_->path() + "/missing.pem";
  ApiServer missing(o, &fake);
  Status s = missing.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("--tls-cert: cannot load '" + o.tls_cert_file + "'"),
            std::string::npos)
      << s.ToString();

  o = TlsOptions();
  o.tls_key_file = other_.key;  // a valid key, of another certificate
  ApiServer mismatched(o, &fake);
  s = mismatched.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("is not the key of the certificate"), std::string::npos)
      << s.ToString();

  o = TlsOptions();
  o.tls_key_file.clear();
  ApiServer half(o, &fake);
  EXPECT_EQ(half.Start().code(), Status::Code::kInvalidArgument);
}

TEST_F(ApiTlsTest, ReloadKeepsTheOldCertificateOnError) {
  const std::string cert = dir_->path() + "/reload.pem";
  const std::string key = dir_->path() + "/reload.key";
  std::filesystem::copy_file(cert_.cert, cert, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(cert_.key, key, std::filesystem::copy_options::overwrite_existing);
  TlsContext tls(cert, key);
  ASSERT_TRUE(tls.Reload().ok());
  auto before = tls.Current();
  EXPECT_NE(tls.Describe().find("CN=unit-server"), std::string::npos) << tls.Describe();
  std::filesystem::copy_file(other_.cert, cert, std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(tls.Reload().code(), Status::Code::kInvalidArgument);  // key no longer matches
  EXPECT_EQ(tls.Current(), before);
  std::filesystem::copy_file(other_.key, key, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(tls.Reload().ok());
  EXPECT_NE(tls.Current(), before);
  EXPECT_NE(tls.Describe().find("CN=unit-other"), std::string::npos) << tls.Describe();
}

}  // namespace
}  // namespace jcm
