// jcmctl status: the deployment seen from the first server that answers,
// plus each member's checker share from that member itself.
#include <chrono>
#include <cstdio>

#include "tools/jcmctl/commands.h"
#include "tools/jcmctl/exit_codes.h"
#include "tools/jcmctl/status_view.h"

namespace jcm::ctl {

int RunStatus(const Context& ctx) {
  ApiClient api = ctx.Api();
  Result<nlohmann::json> status = api.Call("GET", "/sys/status");
  if (!status.ok()) return Fail("status", status.status());
  // Each member only knows its own share, so ask each one (briefly: a
  // member that does not answer is shown as unknown, not waited for).
  std::map<std::string, nlohmann::json> member_status;
  const nlohmann::json& s = status.value();
  if (s.contains("members") && s["members"].is_array()) {
    for (const auto& m : s["members"]) {
      const std::string address = m.value("address", "");
      if (address.empty()) continue;
      if (address == s.value("self", "")) {
        member_status[address] = s;
        continue;
      }
      Result<ServerUrl> url = ParseServerUrl(address);
      if (!url.ok()) continue;
      // Same scheme as the server we were given.
      url->scheme = ctx.servers.front().scheme;
      Result<nlohmann::json> ms =
          api.GetFrom(url.value(), "/sys/status", std::chrono::milliseconds(1500));
      member_status[address] = ms.ok() ? ms.value() : nlohmann::json(nullptr);
    }
  }
  if (ctx.json) {
    PrintJson(StatusJson(s, member_status));
  } else {
    std::fputs(RenderStatus(s, member_status, ctx.color).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace jcm::ctl
