// The jcmctl commands. Each returns the process exit code (exit_codes.h)
// and prints its result on stdout, errors on stderr.
//
// Thread-safety: run on the main thread, one per invocation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tools/jcmctl/context.h"

namespace jcm::ctl {

// cmd_status.cc
int RunStatus(const Context& ctx);

// cmd_read.cc
int RunList(const Context& ctx);
int RunGet(const Context& ctx, const std::string& name);

// cmd_history.cc: the checker's recent transitions; asks the other servers
// when the first to answer does not check the cluster.
int RunHistory(const Context& ctx, const std::string& name);

// cmd_write.cc
int RunApply(const Context& ctx, const std::string& file);
struct AddNodeArgs {
  std::string name, ip, ports, udata;
  std::optional<int> weight;
};
int RunAddNode(const Context& ctx, const AddNodeArgs& args);
int RunRemoveNode(const Context& ctx, const std::string& name,
                  const std::vector<std::string>& specs);
// Without a spec the whole cluster, else one node.
int RunSetOnline(const Context& ctx, const std::string& name, const std::string& spec, bool online);
int RunRemove(const Context& ctx, const std::string& name);

// cmd_watch.cc
struct WatchArgs {
  std::string name;
  int wait_ms = 20000;
  int max_changes = 0;  // 0: until interrupted
};
int RunWatch(const Context& ctx, const WatchArgs& args);

// cmd_pick.cc
struct PickArgs {
  std::string name, policy = "rr", key, proto = "any";
  int count = 1;
};
int RunPick(const Context& ctx, const PickArgs& args);

}  // namespace jcm::ctl
