// jcmctl history: a cluster's recent health transitions.
//
// Only the instance that checks a cluster records its transitions; any other
// answers "checking": false with no entries. When the first server that
// answers is not the checker, the other --server addresses are asked in turn
// (one plain GET each, 1.5 s bound) and the checker's answer is shown.
#include <chrono>
#include <cstdio>

#include "tools/jcmctl/commands.h"
#include "tools/jcmctl/exit_codes.h"
#include "tools/jcmctl/history_view.h"

namespace jcm::ctl {
namespace {

bool Checking(const nlohmann::json& data) {
  return data.is_object() && data.value("checking", false);
}

}  // namespace

int RunHistory(const Context& ctx, const std::string& name) {
  const std::string what = "history " + name;
  const std::string path = "/c/" + PathEscape(name) + "/history";
  ApiClient api = ctx.Api();
  Result<ApiReply> sent = api.Send("GET", path);
  if (!sent.ok()) return Fail(what, sent.status());
  const ApiReply& reply = sent.value();
  if (reply.http_status / 100 != 2 || !reply.body.is_object() ||
      reply.body.value("code", -1) != 0) {
    return Fail(what, ReplyError(reply));
  }
  nlohmann::json data = reply.body.contains("data") ? reply.body["data"] : nlohmann::json();

  if (!Checking(data)) {
    std::fprintf(stderr,
                 "jcmctl: %s: %s does not check %s (only the checker records transitions)\n",
                 what.c_str(), reply.server.c_str(), name.c_str());
    bool found = false;
    for (const ServerUrl& s : api.servers()) {
      if (s.Base() == reply.server) continue;
      Result<nlohmann::json> other = api.GetFrom(s, path, std::chrono::milliseconds(1500));
      if (other.ok() && Checking(other.value())) {
        std::fprintf(stderr, "jcmctl: %s: %s checks it; showing its history\n", what.c_str(),
                     s.Base().c_str());
        data = std::move(other).value();
        found = true;
        break;
      }
    }
    if (!found) {
      std::fprintf(stderr,
                   "jcmctl: %s: no server given with --server checks it; add the one that does "
                   "(see `jcmctl status`)\n",
                   what.c_str());
    }
  }
  if (ctx.json) {
    PrintJson(data);
  } else {
    std::fputs(RenderHistory(data, ctx.color).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace jcm::ctl
