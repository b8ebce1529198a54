// Issue 9 item 2: TLS for the API, against real jcm-server processes on a
// real ZooKeeper, with a throwaway CA made by the test (tests/support/
// test_ca.h).
//
//   A  leader:   --listen (plain) + --tls-listen, advertises https://
//   B  follower: the same, --tls-ca = the right CA
//   C  follower: plain only, --tls-ca = another CA (cannot trust A)
//
// Shown: an HTTPS round trip with verification (reads, a write, /sub through
// the subscriber library given the CA, jcmctl --cacert); clients with a
// wrong CA (or none) refused; a follower forwarding a write to the leader's
// https:// address, and one that cannot verify the leader refusing to send
// it; a client that stalls the TLS handshake closed at the request deadline
// while /healthz keeps answering; SIGHUP loading a new certificate for new
// connections.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "jcm/subscriber.h"
#include "subscriber/src/sigpipe_guard.h"
#include "tests/support/child_process.h"
#include "tests/support/http_json.h"
#include "tests/support/jcm_cluster.h"
#include "tests/support/raw_http.h"
#include "tests/support/test_ca.h"
#include "tests/support/test_env.h"
#include "tests/support/zk_server.h"

namespace jcm::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kDeadlineMs = 1000;  // --http-request-deadline-ms of every instance

struct Instance {
  explicit Instance(std::string n) : name(std::move(n)) {}
  std::string name;
  int port = 0;      // plain HTTP
  int tls_port = 0;  // 0: no TLS listener
  ChildProcess process;
  std::string log;
  std::string plain() const { return "127.0.0.1:" + std::to_string(port); }
  std::string https() const { return "https://127.0.0.1:" + std::to_string(tls_port); }
};

// One HTTPS exchange with httplib, verifying against `ca` (empty: the
// system's store). status 0 with the error when there is no answer.
struct Answer {
  int status = 0;
  std::string body;
  httplib::Error error = httplib::Error::Success;
};
Answer Https(const std::string& base, const std::string& ca, const std::string& method,
             const std::string& path, const std::string& body = "") {
  // SIGPIPE stays on in this process, as in an application that links the
  // subscriber library (which must guard its own TLS writes); httplib here
  // is guarded the same way.
  internal::SigpipeGuard no_sigpipe;
  httplib::Client c(base);
  c.enable_server_certificate_verification(true);
  if (!ca.empty()) c.set_ca_cert_path(ca);
  c.set_connection_timeout(std::chrono::seconds(3));
  c.set_read_timeout(std::chrono::seconds(5));
  httplib::Result r = method == "GET" ? c.Get(path) : c.Post(path, body, "application/json");
  if (!r) return {0, "", r.error()};
  return {r->status, r->body, httplib::Error::Success};
}

// The subject CN of the certificate 127.0.0.1:port presents, verified
// against `ca`; empty if the handshake or the verification fails.
std::string PeerCommonName(int port, const std::string& ca) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1) return "";
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  RawHttp tcp(port);
  if (!tcp.connected()) return "";
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), tcp.fd());
  SSL_set1_host(ssl.get(), "127.0.0.1");
  if (SSL_connect(ssl.get()) != 1) return "";
  X509* cert = SSL_get1_peer_certificate(ssl.get());
  if (!cert) return "";
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  X509_free(cert);
  return cn;
}

// Waits until the peer closes `fd` (read returns 0 or an error) or
// `timeout` passes; true iff it closed.
bool WaitClosed(int fd, milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(
        std::chrono::duration_cast<milliseconds>(end - std::chrono::steady_clock::now()).count());
    if (::poll(&p, 1, std::max(1, left)) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
  return false;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("jcm-tls-test");
    std::string error;
    ASSERT_TRUE(ca_.Create(dir_->path(), "good", &error)) << error;
    ASSERT_TRUE(other_ca_.Create(dir_->path(), "other", &error)) << error;
    ASSERT_TRUE(ca_.Issue("server", "jcm-test-server", &server_cert_, &error)) << error;
    zk_ = new ZkServer();
    ASSERT_TRUE(zk_->Start(&error)) << error;
    a_ = new Instance("a");
    b_ = new Instance("b");
    c_ = new Instance("c");
    ASSERT_TRUE(Launch(a_, /*tls=*/true, ca_.cert(), &error)) << error;
    // A is the leader: the first to register.
    ASSERT_TRUE(WaitUntil(
        [] {
          HttpReply r = HttpGet(a_->plain(), "/sys/status", milliseconds(500));
          return r.ok() && r.data().value("leader", nlohmann::json()) == a_->https();
        },
        milliseconds(20000)))
        << ReadFileOrEmpty(a_->log);
    ASSERT_TRUE(Launch(b_, /*tls=*/true, ca_.cert(), &error)) << error;
    ASSERT_TRUE(Launch(c_, /*tls=*/false, other_ca_.cert(), &error)) << error;
    for (Instance* i : {a_, b_, c_}) {
      ASSERT_TRUE(WaitUntil(
          [i] {
            HttpReply r = HttpGet(i->plain(), "/sys/status", milliseconds(500));
            return r.ok() && r.data().value("leader", nlohmann::json()) == a_->https() &&
                   HttpGet(i->plain(), "/readyz", milliseconds(500)).ok();
          },
          milliseconds(20000)))
          << i->name << ":\n"
          << ReadFileOrEmpty(i->log);
    }
    ready_ = true;
  }

  void SetUp() override { ASSERT_TRUE(ready_) << "the suite's set-up failed (see above)"; }

  static void TearDownTestSuite() {
    for (Instance* i : {c_, b_, a_}) {
      if (i) i->process.Stop(milliseconds(5000));
      delete i;
    }
    a_ = b_ = c_ = nullptr;
    ready_ = false;
    delete zk_;
    zk_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void TearDown() override {
    if (HasFailure()) {
      for (Instance* i : {a_, b_, c_}) {
        if (i) std::cerr << "---- " << i->name << " ----\n" << ReadFileOrEmpty(i->log) << "\n";
      }
    }
  }

  static bool Launch(Instance* i, bool tls, const std::string& ca, std::string* error) {
    i->port = FreeLoopbackPort();
    i->log = dir_->path() + "/" + i->name + ".log";
    std::vector<std::string> argv = {BinDir() + "/jcm-server",
                                     "--zk",
                                     zk_->connect_string(),
                                     "--zk-root",
                                     "/jcm",
                                     "--listen",
                                     i->plain(),
                                     "--session-timeout-ms",
                                     "3000",
                                     "--http-request-deadline-ms",
                                     std::to_string(kDeadlineMs),
                                     "--write-hold-ms",
                                     "300",
                                     "--tls-ca",
                                     ca};
    if (tls) {
      i->tls_port = FreeLoopbackPort();
      argv.insert(argv.end(),
                  {"--tls-listen", "127.0.0.1:" + std::to_string(i->tls_port), "--tls-cert",
                   server_cert_.cert, "--tls-key", server_cert_.key, "--advertise", i->https()});
    }
    if (!i->process.Start(argv, i->log, {}, error)) return false;
    if (!WaitUntil([i] { return HttpGet(i->plain(), "/healthz", milliseconds(500)).ok(); },
                   milliseconds(20000))) {
      *error = i->name + " did not start:\n" + ReadFileOrEmpty(i->log);
      return false;
    }
    return true;
  }

  // A counter under api.http in /sys/status of `i`.
  static uint64_t HttpCounter(const Instance* i, const std::string& name) {
    HttpReply r = HttpGet(i->plain(), "/sys/status");
    return r.ok() ? r.data()["api"]["http"].value(name, uint64_t{0}) : 0;
  }

  static std::string Doc(const std::string& name, int nodes) {
    nlohmann::json list = nlohmann::json::array();
    for (int n = 1; n <= nodes; ++n) list.push_back(NodeDoc(NthIp(n), 8080));
    return ClusterDoc(name, list).dump();
  }

  // Runs jcmctl with `args`; its exit code, output in *out.
  static int Jcmctl(const std::vector<std::string>& args, std::string* out) {
    static int runs = 0;
    std::string log = dir_->path() + "/jcmctl-" + std::to_string(++runs) + ".log";
    std::vector<std::string> argv = {BinDir() + "/jcmctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p;
    std::string error;
    if (!p.Start(argv, log, {"JCM_SERVER=", "JCM_TOKEN=", "JCM_CACERT="}, &error)) {
      *out = error;
      return -1;
    }
    int status = 0;
    bool exited = p.Wait(milliseconds(20000), &status);
    *out = ReadFileOrEmpty(log);
    return exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static TempDir* dir_;
  static TestCa ca_;
  static TestCa other_ca_;
  static TestCert server_cert_;
  static ZkServer* zk_;
  static Instance* a_;
  static Instance* b_;
  static Instance* c_;
  static bool ready_;
};

TempDir* TlsTest::dir_ = nullptr;
TestCa TlsTest::ca_;
TestCa TlsTest::other_ca_;
TestCert TlsTest::server_cert_;
ZkServer* TlsTest::zk_ = nullptr;
Instance* TlsTest::a_ = nullptr;
Instance* TlsTest::b_ = nullptr;
Instance* TlsTest::c_ = nullptr;
bool TlsTest::ready_ = false;

TEST_F(TlsTest, RoundTripOverHttpsWithVerification) {
  const uint64_t handshakes = HttpCounter(a_, "tlsHandshakes");
  Answer health = Https(a_->https(), ca_.cert(), "GET", "/healthz");
  ASSERT_EQ(health.status, 200) << httplib::to_string(health.error);

  // A write and reads over HTTPS.
  Answer put = Https(a_->https(), ca_.cert(), "POST", "/c", Doc("tls_rt", 1));
  ASSERT_EQ(put.status, 200) << put.body << httplib::to_string(put.error);
  Answer get = Https(a_->https(), ca_.cert(), "GET", "/c/tls_rt");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(SpecsOf(nlohmann::json::parse(get.body)["data"]),
            std::vector<std::string>{NodeSpec(NthIp(1), 8080)});
  EXPECT_GE(HttpCounter(a_, "tlsHandshakes"), handshakes + 3);

  // /sub through the subscriber library, given the CA: the first poll, then
  // a change arriving on the long poll it keeps open over TLS.
  SubscriberOptions options;
  options.servers = {a_->https(), b_->https()};
  options.ca_file = ca_.cert();
  options.clusters = {"tls_rt"};
  options.long_poll_wait = milliseconds(5000);
  auto created = Subscriber::Create(options);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::unique_ptr<Subscriber> sub = std::move(created).value();
  ASSERT_TRUE(sub->Start().ok());
  Result<ClusterInfo> info = sub->GetCluster("tls_rt");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->source, ClusterInfo::Source::kServer);
  EXPECT_EQ(info->nodes.size(), 1u);
  put = Https(b_->https(), ca_.cert(), "POST", "/c", Doc("tls_rt", 2));
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(WaitUntil(
      [&] {
        Result<ClusterInfo> i = sub->GetCluster("tls_rt");
        return i.ok() && i->nodes.size() == 2;
      },
      milliseconds(5000)));
  EXPECT_EQ(sub->stats().poll_failures, 0u);

  // jcmctl over HTTPS with --cacert.
  std::string out;
  EXPECT_EQ(Jcmctl({"--server", a_->https(), "--cacert", ca_.cert(), "get", "tls_rt"}, &out), 0)
      << out;
  EXPECT_NE(out.find(NthIp(2)), std::string::npos) << out;
}

TEST_F(TlsTest, ClientsWithAWrongCaAreRefused) {
  // The other CA, and the system's store (which knows neither test CA).
  for (const std::string& ca : {other_ca_.cert(), std::string()}) {
    SCOPED_TRACE("ca '" + ca + "'");
    Answer put = Https(a_->https(), ca, "POST", "/c", Doc("tls_wrong_ca", 1));
    EXPECT_EQ(put.status, 0) << put.body;
    EXPECT_EQ(put.error, httplib::Error::SSLServerVerification) << httplib::to_string(put.error);
  }
  EXPECT_EQ(PeerCommonName(a_->tls_port, other_ca_.cert()), "");
  EXPECT_EQ(PeerCommonName(a_->tls_port, ca_.cert()), "jcm-test-server");
  // Nothing was written.
  EXPECT_EQ(HttpGet(a_->plain(), "/c/tls_wrong_ca").status, 404);

  // The subscriber library with the wrong CA: every poll fails, no data.
  SubscriberOptions options;
  options.servers = {a_->https()};
  options.ca_file = other_ca_.cert();
  options.clusters = {"tls_rt"};
  auto created = Subscriber::Create(options);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::unique_ptr<Subscriber> sub = std::move(created).value();
  EXPECT_FALSE(sub->Start().ok());
  EXPECT_GE(sub->stats().polls, 1u);
  EXPECT_EQ(sub->stats().poll_failures, sub->stats().polls);
  EXPECT_EQ(sub->GetCluster("tls_rt")->source, ClusterInfo::Source::kNone);

  std::string out;
  EXPECT_EQ(Jcmctl({"--server", a_->https(), "--cacert", other_ca_.cert(), "ls"}, &out), 1) << out;
  EXPECT_NE(out.find("not trusted"), std::string::npos) << out;
}

TEST_F(TlsTest, FollowerForwardsAWriteToTheLeaderOverHttps) {
  // B knows the leader by its https:// address, its TLS listener, which
  // answers nothing but TLS: a forward that succeeds went over HTTPS.
  HttpReply status = HttpGet(b_->plain(), "/sys/status");
  ASSERT_TRUE(status.ok()) << status.Describe();
  EXPECT_EQ(status.data()["leader"], a_->https());
  HttpReply put = HttpPost(b_->plain(), "/c", Doc("tls_fwd", 1));
  ASSERT_EQ(put.status, 200) << put.Describe();
  EXPECT_EQ(HttpGet(a_->plain(), "/c/tls_fwd").status, 200);
  EXPECT_EQ(HttpGet(b_->plain(), "/c/tls_fwd").status, 200);

  // C cannot verify the leader's certificate: it sends nothing and says so.
  put = HttpPost(c_->plain(), "/c", Doc("tls_fwd_refused", 1));
  EXPECT_EQ(put.status, 503) << put.Describe();
  EXPECT_NE(put.msg().find(a_->https()), std::string::npos) << put.Describe();
  EXPECT_NE(put.msg().find("unreachable"), std::string::npos) << put.Describe();
  EXPECT_EQ(HttpGet(a_->plain(), "/c/tls_fwd_refused").status, 404);
}

TEST_F(TlsTest, StalledHandshakeIsClosedAtTheDeadline) {
  const uint64_t deadline_closes = HttpCounter(a_, "closedDeadline");
  // One connects and sends nothing; one sends the start of a ClientHello
  // (a record header promising 512 bytes) and stalls.
  RawHttp silent(a_->tls_port);
  RawHttp partial(a_->tls_port);
  ASSERT_TRUE(silent.connected() && partial.connected());
  ASSERT_TRUE(partial.Send(std::string("\x16\x03\x01\x02\x00\x01\x00", 7)));
  auto start = std::chrono::steady_clock::now();

  // Meanwhile the instance answers, over TLS and plain HTTP.
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(Https(a_->https(), ca_.cert(), "GET", "/healthz").status, 200);
    EXPECT_EQ(HttpGet(a_->plain(), "/healthz").status, 200);
  }

  ASSERT_TRUE(WaitClosed(silent.fd(), milliseconds(kDeadlineMs + 3000)));
  const long long silent_ms = MsSince(start);
  ASSERT_TRUE(WaitClosed(partial.fd(), milliseconds(kDeadlineMs + 3000)));
  const long long partial_ms = MsSince(start);
  // Not before the deadline (a little slack for the connects), not long after.
  EXPECT_GE(silent_ms, kDeadlineMs - 100);
  EXPECT_GE(partial_ms, kDeadlineMs - 100);
  EXPECT_LE(silent_ms, kDeadlineMs + 1500);
  EXPECT_LE(partial_ms, kDeadlineMs + 1500);
  EXPECT_GE(HttpCounter(a_, "closedDeadline"), deadline_closes + 2);
  EXPECT_EQ(HttpGet(a_->plain(), "/healthz").status, 200);
}

// Leaves A serving a renewed certificate from the same CA, which the other
// tests accept just the same, whatever order they run in.
TEST_F(TlsTest, SighupLoadsANewCertificateForNewConnections) {
  TestCert renewed;
  std::string error;
  ASSERT_TRUE(ca_.Issue("renewed", "jcm-test-server-renewed", &renewed, &error)) << error;
  ASSERT_EQ(PeerCommonName(a_->tls_port, ca_.cert()), "jcm-test-server");
  // A broken key first: refused, the old certificate stays in force.
  std::filesystem::copy_file(renewed.cert, server_cert_.cert,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(a_->process.Signal(SIGHUP));
  EXPECT_TRUE(WaitUntil(
      [] { return ReadFileOrEmpty(a_->log).find("event=tls_reload_failed") != std::string::npos; },
      milliseconds(5000)));
  EXPECT_EQ(PeerCommonName(a_->tls_port, ca_.cert()), "jcm-test-server");
  // Then the matching key.
  std::filesystem::copy_file(renewed.key, server_cert_.key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(a_->process.Signal(SIGHUP));
  EXPECT_TRUE(WaitUntil(
      [] { return PeerCommonName(a_->tls_port, ca_.cert()) == "jcm-test-server-renewed"; },
      milliseconds(5000)));
  EXPECT_TRUE(a_->process.running());
  EXPECT_EQ(Https(a_->https(), ca_.cert(), "GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace jcm::testing
