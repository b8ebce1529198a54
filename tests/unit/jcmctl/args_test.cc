// Parsing of jcmctl's arguments: --server lists and add-node's PROTO:PORT.
#include <gtest/gtest.h>

#include "tools/jcmctl/node_args.h"
#include "tools/jcmctl/server_url.h"

namespace jcm::ctl {
namespace {

TEST(ServerUrl, AcceptsUrlsAndHostPorts) {
  auto a = ParseServerUrl("http://127.0.0.1:8601");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->Base(), "http://127.0.0.1:8601");
  EXPECT_EQ(a->HostPort(), "127.0.0.1:8601");

  auto b = ParseServerUrl("localhost:9000");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->scheme, "http");
  EXPECT_EQ(b->host, "localhost");
  EXPECT_EQ(b->port, 9000);

  auto c = ParseServerUrl("https://[::1]:8443/");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->scheme, "https");
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->Base(), "https://[::1]:8443");

  auto d = ParseServerUrl("10.1.2.3");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, kDefaultServerPort);
}

TEST(ServerUrl, RefusesWhatItCannotUseAndSaysWhy) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"ftp://h:1", "scheme"}, {"h:0", "'0' is not 1-65535"}, {"h:70000", "'70000'"},
      {"h:80x", "'80x'"},      {"h:", "empty port"},          {"::1:8600", "brackets"},
      {"[::1", "missing ']'"}, {"http://h:1/c", "path"},      {"http://:8600", "no host"},
  };
  for (const Case& c : cases) {
    auto r = ParseServerUrl(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.text << ": " << r.status().message();
    EXPECT_NE(r.status().message().find(c.text), std::string::npos) << r.status().message();
  }
}

TEST(ServerUrl, ListKeepsOrderAndSkipsBlanks) {
  auto list = ParseServerList(" 127.0.0.1:1 , http://127.0.0.2:2,,[::1]:3 ");
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ(list.value()[0].HostPort(), "127.0.0.1:1");
  EXPECT_EQ(list.value()[1].HostPort(), "127.0.0.2:2");
  EXPECT_EQ(list.value()[2].HostPort(), "[::1]:3");
  EXPECT_FALSE(ParseServerList(" , ").ok());
  EXPECT_FALSE(ParseServerList("127.0.0.1:1,bad:port").ok());
}

TEST(ProtoPorts, ParsesOneOrTwoInOrderGiven) {
  auto one = ParseProtoPorts("HTTP:8080");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one.value(), nlohmann::json::parse(R"([{"port":8080,"proto":"HTTP"}])"));
  auto two = ParseProtoPorts("tcp:9090,Http:80");
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two.value(),
            nlohmann::json::parse(R"([{"port":9090,"proto":"TCP"},{"port":80,"proto":"HTTP"}])"));
}

TEST(ProtoPorts, RefusesMalformedNamingThePart) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"8080", "'8080' is not PROTO:PORT"},    {"UDP:53", "'UDP' is not HTTP or TCP"},
      {"HTTP:0", "'0' is not 1-65535"},        {"HTTP:65536", "'65536'"},
      {"HTTP:", "'' is not 1-65535"},          {"HTTP:80,", "'' is not PROTO:PORT"},
      {"HTTP:80,http:81", "HTTP given twice"}, {"HTTP:8o", "'8o'"},
  };
  for (const Case& c : cases) {
    auto r = ParseProtoPorts(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.text << ": " << r.status().message();
  }
}

TEST(NodeDocument, CarriesWeightAndUdataOnlyWhenGiven) {
  nlohmann::json protos = nlohmann::json::parse(R"([{"port":80,"proto":"HTTP"}])");
  EXPECT_EQ(NodeDocument("10.0.0.1", protos, std::nullopt, ""),
            nlohmann::json::parse(
                R"({"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"}],"online":"ONLINE"})"));
  nlohmann::json n = NodeDocument("::1", protos, 250, "rack=a");
  EXPECT_EQ(n["weight"], 250);
  EXPECT_EQ(n["udata"], "rack=a");
}

}  // namespace
}  // namespace jcm::ctl
