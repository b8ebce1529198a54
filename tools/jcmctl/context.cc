#include "tools/jcmctl/context.h"

#include <cstdio>

#include "tools/jcmctl/exit_codes.h"

namespace jcm::ctl {

void PrintJson(const nlohmann::json& data) { std::printf("%s\n", data.dump(2).c_str()); }

int Fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "jcmctl: %s: %s\n", what.c_str(), status.message().c_str());
  return kExitFailed;
}

}  // namespace jcm::ctl
