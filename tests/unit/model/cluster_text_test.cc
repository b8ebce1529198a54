// EncodeClusterText writes exactly what nlohmann's dump of EncodeCluster
// writes, in every form, for strings that need escaping and for invalid
// UTF-8 (strict: the same exception; replace: the same U+FFFD text).
#include "model/cluster_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace jcm {
namespace {

using json = nlohmann::json;

Cluster Sample(bool invalid_utf8) {
  Cluster c;
  c.name = "svc-1.a";
  c.online = false;
  c.check_type = CheckType::kHttp;
  c.check_file = "/h\"x?y=1&z=\\";
  c.check = CheckSettings{2000, 900, 3, 4, 250, {200, 204}};
  c.version = 123456789012LL;
  c.status_version = 77;
  c.panic = true;
  for (int i = 0; i < 40; ++i) {
    Node n;
    n.ip = i % 4 == 0 ? "fd00::" + std::to_string(i) : "10.0.0." + std::to_string(i);
    if (i % 3 != 1) n.protos.push_back({static_cast<uint16_t>(80 + i), Proto::kHttp});
    if (i % 3 != 0) n.protos.push_back({static_cast<uint16_t>(9000 + i), Proto::kTcp});
    if (i % 5 == 1) n.udata = "plain";
    if (i % 5 == 2) n.udata = "tab\there \"q\" \\ \xc3\xa9 \x01";
    if (i % 5 == 3 && invalid_utf8) n.udata = "bad \xff\xfe";
    n.online = i % 7 != 0;
    n.weight = i % 6 == 0 ? 1 : kDefaultWeight;
    n.status = static_cast<NodeStatus>(i % 4);
    n.last_check_ms = i * 1000003LL;
    c.nodes.push_back(n);
  }
  return c;
}

const ClusterJsonForm kForms[] = {ClusterJsonForm::kFull, ClusterJsonForm::kJcm,
                                  ClusterJsonForm::kStored};

TEST(ClusterText, SameBytesAsTheDomInEveryForm) {
  for (int nodes : {0, 1, 40}) {
    Cluster c = Sample(false);
    c.nodes.resize(static_cast<size_t>(nodes));
    for (ClusterJsonForm form : kForms) {
      EXPECT_EQ(EncodeClusterText(c, form, InvalidUtf8::kStrict), EncodeCluster(c, form).dump())
          << nodes << " nodes, form " << static_cast<int>(form);
      EXPECT_EQ(EncodeClusterText(c, form, InvalidUtf8::kReplace),
                EncodeCluster(c, form).dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
}

TEST(ClusterText, InvalidUtf8IsReplacedOrThrowsAsTheDomDoes) {
  const Cluster c = Sample(true);
  for (ClusterJsonForm form : kForms) {
    const std::string text = EncodeClusterText(c, form, InvalidUtf8::kReplace);
    EXPECT_EQ(text, EncodeCluster(c, form).dump(-1, ' ', false, json::error_handler_t::replace));
    EXPECT_NE(text.find("bad \xef\xbf\xbd\xef\xbf\xbd"), std::string::npos);
    EXPECT_THROW(EncodeClusterText(c, form, InvalidUtf8::kStrict), json::type_error);
    EXPECT_THROW(EncodeCluster(c, form).dump(), json::type_error);
  }
}

}  // namespace
}  // namespace jcm
