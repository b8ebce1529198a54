// FileBudget: how one process's open-file limit (RLIMIT_NOFILE) is shared
// between the API's client connections and the health checker's keep-alive
// connections, so neither can starve the other of descriptors.
//
//   reserve      ZooKeeper, logs, listening sockets, checks without
//                keep-alive, forwards: max(256, limit / 20)
//   api          --max-connections, or by default 60 % of what is left
//                (at least 1,024, or all of it if less)
//   checker      the rest: connections it may keep open between checks
//
// With this machine's limit of 20,000: reserve 1,000, API 11,400, checker
// 7,600. An operator who needs more subscriber connections raises
// --max-connections and the checker keeps fewer connections alive (it then
// opens one per check, which costs CPU, not correctness).
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>

namespace jcm {

struct FileBudget {
  size_t reserve = 0;
  size_t api_connections = 0;
  size_t checker_keepalive = 0;
};

// `nofile`: the soft open-file limit. `api_requested`: --max-connections, 0
// for the default share.
FileBudget SplitFileBudget(size_t nofile, size_t api_requested);

}  // namespace jcm
