// Context: what every jcmctl command gets from the global options.
//
// Thread-safety: not thread-safe; one per invocation, on the main thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/status.h"
#include "tools/jcmctl/api_client.h"
#include "tools/jcmctl/server_url.h"

namespace jcm::ctl {

struct Context {
  std::vector<ServerUrl> servers;
  std::string token;
  std::string ca_file;  // --cacert: CA (PEM) for https:// servers; empty: system store
  bool json = false;    // -o json
  bool color = false;   // stdout is a terminal, table output, NO_COLOR unset

  ApiClient Api() const {
    ApiClientOptions options;
    options.ca_file = ca_file;
    return ApiClient(servers, token, options);
  }
};

// Prints `data` as indented JSON on stdout.
void PrintJson(const nlohmann::json& data);
// Prints "jcmctl: <what>: <message>" on stderr; returns kExitFailed.
int Fail(const std::string& what, const Status& status);

}  // namespace jcm::ctl
