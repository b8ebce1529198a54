// ServerUrl: one jcm-server API address given to --server / JCM_SERVER.
// Accepts "http://host:port", "https://host:port", "host:port" (http) and
// IPv6 as "[::1]:8600". A missing port means 8600, jcm-server's default.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/status.h"

namespace jcm::ctl {

inline constexpr int kDefaultServerPort = 8600;

struct ServerUrl {
  std::string scheme = "http";  // "http" or "https"
  std::string host;             // without brackets
  int port = kDefaultServerPort;

  // "http://host:port", brackets around an IPv6 host: what httplib takes.
  std::string Base() const;
  // "host:port" / "[v6]:port": what the subscriber library takes.
  std::string HostPort() const;
};

// Parses one address; InvalidArgument names the text and what is wrong.
Result<ServerUrl> ParseServerUrl(std::string_view text);
// Comma-separated list, at least one; blanks around commas are ignored.
Result<std::vector<ServerUrl>> ParseServerList(std::string_view text);

}  // namespace jcm::ctl
