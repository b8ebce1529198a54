#include "server/file_budget.h"

#include <algorithm>

namespace jcm {

FileBudget SplitFileBudget(size_t nofile, size_t api_requested) {
  FileBudget b;
  b.reserve = std::min(nofile, std::max<size_t>(256, nofile / 20));
  size_t left = nofile - b.reserve;
  if (api_requested > 0) {
    b.api_connections = api_requested;
  } else {
    b.api_connections = std::min(left, std::max<size_t>(1024, left * 6 / 10));
  }
  b.checker_keepalive = left > b.api_connections ? left - b.api_connections : 0;
  return b;
}

}  // namespace jcm
