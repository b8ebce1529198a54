// ApiClient: jcmctl's HTTP client for the jcm API, with failover.
//
// Servers are tried in the order given. A request moves on to the next
// server when the current one cannot be reached (connect refused, timed out,
// TLS handshake failed: nothing was sent) or answers 503 (no leader, leader
// unreachable, ZooKeeper down: nothing was applied). Any other answer, 4xx
// included, is final. A read, or a /sub poll, also moves on after a broken
// or timed-out exchange; a write does not, since the server may have applied
// it: the error says so rather than repeating a write blindly.
//
// An https:// server's certificate is verified against ca_file (the
// system's store if empty) and must name the server's host or IP; one that
// does not verify counts as unreachable (nothing was sent).
//
// Every request carries `Authorization: Bearer <token>` when a token is set.
//
// Thread-safety: not thread-safe; one per command invocation.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/status.h"
#include "tools/jcmctl/server_url.h"

namespace jcm::ctl {

struct ApiReply {
  int http_status = 0;
  nlohmann::json body;  // null when the body is not JSON
  std::string raw;      // the body as received
  std::string server;   // which server answered ("http://host:port")
};

struct ApiClientOptions {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds read_timeout{15000};
  std::string ca_file;  // CA certificates (PEM) for https:// servers
};

class ApiClient {
 public:
  ApiClient(std::vector<ServerUrl> servers, std::string token, ApiClientOptions options = {});

  // One exchange with failover (see above). `read_timeout` 0: the default.
  // Unavailable when no server gave a final answer, naming each failure.
  Result<ApiReply> Send(const std::string& method, const std::string& path,
                        const std::string& body = "",
                        std::chrono::milliseconds read_timeout = std::chrono::milliseconds(0));

  // Send, then open the JCM envelope: the `data` of a 2xx reply with code 0;
  // otherwise a Status carrying the server's `msg` (or the HTTP status and
  // body when there is no envelope).
  Result<nlohmann::json> Call(const std::string& method, const std::string& path,
                              const std::string& body = "");

  // A single GET to one given server, no failover (status of each member).
  Result<nlohmann::json> GetFrom(const ServerUrl& server, const std::string& path,
                                 std::chrono::milliseconds timeout);

  const std::vector<ServerUrl>& servers() const { return servers_; }

 private:
  std::vector<ServerUrl> servers_;
  std::string token_;
  ApiClientOptions options_;
};

// Percent-encodes everything but [A-Za-z0-9._~-], so any name the user
// types reaches the server as one path segment, which then judges it.
std::string PathEscape(std::string_view text);

// The error of a non-successful reply: "<msg> (HTTP <status> from <server>)".
Status ReplyError(const ApiReply& reply);

}  // namespace jcm::ctl
