// jcmctl pick: picks nodes the way an application would, through the
// subscriber library (libjcm-subscriber): subscribe, first poll, pick.
#include <cstdio>

#include "jcm/subscriber.h"
#include "tools/jcmctl/commands.h"
#include "tools/jcmctl/exit_codes.h"

namespace jcm::ctl {

int RunPick(const Context& ctx, const PickArgs& args) {
  SubscriberOptions options;
  for (const ServerUrl& s : ctx.servers) options.servers.push_back(s.Base());
  options.ca_file = ctx.ca_file;
  options.token = ctx.token;
  options.clusters = {args.name};
  options.tag = "jcmctl pick";
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.request_timeout = std::chrono::milliseconds(5000);
  Result<std::unique_ptr<Subscriber>> created = Subscriber::Create(options);
  if (!created.ok()) return Fail("pick", created.status());
  std::unique_ptr<Subscriber> sub = std::move(created).value();
  Status started = sub->Start();
  if (!started.ok()) return Fail("pick", started);
  Result<ClusterInfo> info = sub->GetCluster(args.name);
  if (!info.ok() || info->source == ClusterInfo::Source::kNone) {
    return Fail("pick", Status::NotFound("cluster '" + args.name + "' does not exist"));
  }
  const Policy policy = args.policy == "wrr"    ? Policy::kWeightedRoundRobin
                        : args.policy == "hash" ? Policy::kConsistentHash
                                                : Policy::kRoundRobin;
  const Protocol proto = args.proto == "http"  ? Protocol::kHttp
                         : args.proto == "tcp" ? Protocol::kTcp
                                               : Protocol::kAny;
  Allocator allocator = sub->NewAllocator(args.name, policy);
  nlohmann::json picks = nlohmann::json::array();
  for (int i = 0; i < args.count; ++i) {
    jcm::Pick p = allocator.Pick(proto, args.key);
    if (!p) {
      return Fail("pick", Status::NotFound("no node of '" + args.name + "' to pick for " +
                                           ProtocolName(proto)));
    }
    if (ctx.json) {
      picks.push_back({{"ip", std::string(p.ip())},
                       {"port", p.port()},
                       {"protocol", ProtocolName(p.endpoint().protocol())},
                       {"panic", p.panic()}});
    } else {
      std::printf("%s%s\n", p.endpoint().ToString().c_str(), p.panic() ? "  (panic)" : "");
    }
  }
  if (ctx.json) PrintJson(picks);
  return kExitOk;
}

}  // namespace jcm::ctl
