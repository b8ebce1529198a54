#include "server/server_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace jcm {
namespace {

struct Parsed {
  Status status;
  ServerConfig config;
  bool exit_now = false;
  int exit_code = 0;
};

Parsed Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "jcm-server");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  Parsed p;
  p.status = ParseServerConfig(static_cast<int>(argv.size()), argv.data(), &p.config, &p.exit_now,
                               &p.exit_code);
  return p;
}

TEST(ServerConfig, FlagsFillTheConfig) {
  Parsed p = Parse({"--zk", "127.0.0.1:2181,127.0.0.2:2181", "--zk-root", "/prod", "--listen",
                    "127.0.0.1:9000", "--session-timeout-ms", "3000", "--health-fall", "3"});
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_FALSE(p.exit_now);
  EXPECT_EQ(p.config.zk, "127.0.0.1:2181,127.0.0.2:2181");
  EXPECT_EQ(p.config.zk_root, "/prod");
  EXPECT_EQ(p.config.listen_host(), "127.0.0.1");
  EXPECT_EQ(p.config.listen_port(), 9000);
  EXPECT_EQ(p.config.advertise, "127.0.0.1:9000") << "advertise defaults to listen";
  EXPECT_EQ(p.config.session_timeout_ms, 3000);
  EXPECT_EQ(p.config.health_fall, 3);
}

TEST(ServerConfig, ConfigFileUsesTheSameKeysAndFlagsWin) {
  std::string path = ::testing::TempDir() + "/jcm-config-test.toml";
  {
    std::ofstream out(path);
    out << "zk = \"127.0.0.9:2181\"\nlisten = \"127.0.0.1:9100\"\nsession-timeout-ms = 2500\n";
  }
  Parsed p = Parse({"--config", path, "--listen", "127.0.0.1:9200"});
  std::remove(path.c_str());
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_EQ(p.config.zk, "127.0.0.9:2181");
  EXPECT_EQ(p.config.session_timeout_ms, 2500);
  EXPECT_EQ(p.config.listen, "127.0.0.1:9200");
}

TEST(ServerConfig, RefusesBadValuesNamingTheFlag) {
  Parsed p = Parse({"--listen", "nonsense"});
  EXPECT_TRUE(p.exit_now);
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(p.status.message().find("--listen"), std::string::npos) << p.status.ToString();

  p = Parse({"--listen", "0.0.0.0:9000"});
  EXPECT_TRUE(p.exit_now);
  EXPECT_NE(p.status.message().find("--advertise"), std::string::npos) << p.status.ToString();

  p = Parse({"--session-timeout-ms", "5"});
  EXPECT_TRUE(p.exit_now);
  EXPECT_NE(p.exit_code, 0);
}

TEST(ServerConfig, DetectorFlags) {
  Parsed p = Parse({"--health-fastinter-ms", "250", "--health-fastinter-max-per-sec", "50",
                    "--health-max-down-share", "0.25", "--check-source-ip", "127.0.0.7"});
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_EQ(p.config.health_fastinter_ms, 250);
  EXPECT_EQ(p.config.health_fastinter_max_per_sec, 50);
  EXPECT_DOUBLE_EQ(p.config.health_max_down_share, 0.25);
  EXPECT_EQ(p.config.check_source_ip, "127.0.0.7");
  p = Parse({"--check-source-ip", "::1"});
  EXPECT_TRUE(p.status.ok()) << p.status.ToString();
  p = Parse({});
  EXPECT_EQ(p.config.health_fastinter_ms, 0) << "0: interval / 4";
  EXPECT_EQ(p.config.health_max_down_share, 1.0) << "no cap by default";
  EXPECT_TRUE(p.config.check_source_ip.empty());

  p = Parse({"--check-source-ip", "eth0"});
  EXPECT_TRUE(p.exit_now);
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.status.message().find("--check-source-ip"), std::string::npos);
  EXPECT_NE(p.status.message().find("eth0"), std::string::npos);
  p = Parse({"--health-max-down-share", "0"});
  EXPECT_TRUE(p.exit_now);
  EXPECT_NE(p.exit_code, 0);
}

TEST(ServerConfig, SecondOpinions) {
  Parsed p = Parse({});
  EXPECT_EQ(p.config.second_opinions, 2) << "on by default";
  p = Parse({"--second-opinions", "0"});
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_EQ(p.config.second_opinions, 0);
  p = Parse({"--second-opinions", "6"});
  EXPECT_TRUE(p.exit_now);
  EXPECT_NE(p.exit_code, 0);
  // CLI11 names the flag and the range on stderr.
}

TEST(ServerConfig, SecurityFlagsAndTheirDefaults) {
  Parsed d = Parse({});
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.config.zk_auth_file, "");
  EXPECT_FALSE(d.config.zk_world_read);
  EXPECT_EQ(d.config.max_clusters, 10000);
  EXPECT_EQ(d.config.max_nodes, 1000000);
  Parsed p =
      Parse({"--zk-auth-file", "/etc/jcm/zk-auth", "--zk-world-read", "--check-allow", "10.0.0.0/8",
             "--check-deny", "10.9.0.0/16,10.8.0.1", "--max-clusters", "5", "--max-nodes", "0"});
  ASSERT_TRUE(p.status.ok()) << p.status.ToString();
  EXPECT_EQ(p.config.zk_auth_file, "/etc/jcm/zk-auth");
  EXPECT_TRUE(p.config.zk_world_read);
  EXPECT_EQ(p.config.check_allow, "10.0.0.0/8");
  EXPECT_EQ(p.config.check_deny, "10.9.0.0/16,10.8.0.1");
  EXPECT_EQ(p.config.max_clusters, 5);
  EXPECT_EQ(p.config.max_nodes, 0);
  // World read means nothing without an identity to protect the rest.
  Parsed bad = Parse({"--zk-world-read"});
  EXPECT_TRUE(bad.exit_now);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.status.message(), "--zk-world-read needs --zk-auth-file");
  Parsed negative = Parse({"--max-clusters", "-1"});
  EXPECT_TRUE(negative.exit_now);
  EXPECT_NE(negative.exit_code, 0);
}

TEST(SplitHostPort, AcceptsV4V6AndRefusesJunk) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:80", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 80);
  ASSERT_TRUE(SplitHostPort("[::1]:8080", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8080);
  EXPECT_FALSE(SplitHostPort("127.0.0.1", &host, &port));
  EXPECT_FALSE(SplitHostPort(":80", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:99999", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:8a", &host, &port));
}

TEST(ServerConfig, TlsFlagsGoTogether) {
  Parsed ok = Parse({"--tls-listen", "127.0.0.1:8443", "--tls-cert", "c.pem", "--tls-key", "k.pem",
                     "--tls-ca", "ca.pem"});
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  EXPECT_FALSE(ok.exit_now);
  EXPECT_EQ(ok.config.tls_listen_host(), "127.0.0.1");
  EXPECT_EQ(ok.config.tls_listen_port(), 8443);
  EXPECT_EQ(ok.config.tls_ca, "ca.pem");
  EXPECT_EQ(ok.config.advertise, "127.0.0.1:8600") << "plain --listen stays the default";

  for (auto [args, missing] :
       {std::pair{std::vector<std::string>{"--tls-cert", "c.pem", "--tls-key", "k.pem"},
                  "--tls-listen"},
        std::pair{std::vector<std::string>{"--tls-listen", "127.0.0.1:8443", "--tls-key", "k.pem"},
                  "--tls-cert"},
        std::pair{std::vector<std::string>{"--tls-listen", "127.0.0.1:8443"}, "--tls-cert"},
        std::pair{std::vector<std::string>{"--tls-listen", "127.0.0.1:8443", "--tls-cert", "c.pem"},
                  "--tls-key"}}) {
    Parsed p = Parse(args);
    EXPECT_TRUE(p.exit_now);
    EXPECT_EQ(p.exit_code, 2);
    EXPECT_NE(p.status.message().find(std::string(missing) + " is required"), std::string::npos)
        << p.status.ToString();
  }
  Parsed bad = Parse({"--tls-listen", "8443", "--tls-cert", "c.pem", "--tls-key", "k.pem"});
  EXPECT_TRUE(bad.exit_now);
  EXPECT_NE(bad.status.message().find("--tls-listen: '8443'"), std::string::npos)
      << bad.status.ToString();
}

TEST(ServerConfig, AdvertiseMayNameTheScheme) {
  for (const char* a : {"https://10.0.0.1:8443", "http://10.0.0.1:8600", "10.0.0.1:8600"}) {
    Parsed p = Parse({"--advertise", a});
    ASSERT_TRUE(p.status.ok()) << a << ": " << p.status.ToString();
    EXPECT_EQ(p.config.advertise, a);
  }
  for (const char* a : {"https://10.0.0.1:8443/x", "ftp://10.0.0.1:21", "https://10.0.0.1"}) {
    Parsed p = Parse({"--advertise", a});
    EXPECT_TRUE(p.exit_now) << a;
    EXPECT_NE(p.status.message().find("--advertise"), std::string::npos) << p.status.ToString();
  }
  EXPECT_EQ(WithoutScheme("https://h:1"), "h:1");
  EXPECT_EQ(WithoutScheme("http://h:1"), "h:1");
  EXPECT_EQ(WithoutScheme("h:1"), "h:1");
}

}  // namespace
}  // namespace jcm
