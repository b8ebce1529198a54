// jcmctl ls / get: read-only views of clusters.
#include <chrono>
#include <cstdio>

#include "tools/jcmctl/cluster_views.h"
#include "tools/jcmctl/commands.h"
#include "tools/jcmctl/exit_codes.h"

namespace jcm::ctl {

int RunList(const Context& ctx) {
  Result<nlohmann::json> data = ctx.Api().Call("GET", "/c");
  if (!data.ok()) return Fail("ls", data.status());
  if (ctx.json) {
    // Scripts want the counts too, not only the raw clusters.
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : data.value()) {
      const HealthCounts h = CountNodes(c);
      out.push_back({{"name", c.value("name", "")},
                     {"online", c.value("online", "ONLINE")},
                     {"version", c.value("version", 0LL)},
                     {"panic", c.value("panic", false)},
                     {"nodes",
                      {{"total", h.total},
                       {"normal", h.normal},
                       {"abnormal", h.abnormal},
                       {"timeout", h.timeout},
                       {"invalid", h.invalid},
                       {"offline", h.offline}}}});
    }
    PrintJson(out);
  } else {
    std::fputs(RenderClusterList(data.value(), ctx.color).c_str(), stdout);
  }
  return kExitOk;
}

int RunGet(const Context& ctx, const std::string& name) {
  Result<nlohmann::json> data = ctx.Api().Call("GET", "/c/" + PathEscape(name));
  if (!data.ok()) return Fail("get " + name, data.status());
  if (ctx.json) {
    PrintJson(data.value());
  } else {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::fputs(RenderCluster(data.value(), now, ctx.color).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace jcm::ctl
