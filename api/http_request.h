// HttpRequest: one parsed request as the routes see it, independent of the
// HTTP library, and HttpExchange: the one-shot way to answer it.
//
// Thread-safety: an HttpRequest is a plain value. An HttpExchange may be
// answered from any thread, exactly once; later calls are ignored.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "api/http_reply.h"

namespace jcm {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query exactly as received (for forwarding)
  std::string path;    // the target's path, percent-decoded
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // "ip:port" of the client
  // When the request was read in full (the latency histograms' start);
  // left at the epoch by code that builds requests itself.
  std::chrono::steady_clock::time_point received{};

  // The first value of a header (names compared case-insensitively), or "".
  std::string Header(std::string_view name) const;
  // The first value of a query parameter, or "".
  std::string Param(std::string_view name) const;
};

// Splits `target` into a decoded path and query parameters. Returns false if
// the target is not an origin-form path ("/...") or holds a bad %-escape.
bool ParseTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query);

class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  // Sends the reply (once; later calls do nothing). Any thread.
  virtual void Reply(HttpReply reply) = 0;
  // The connection's serialised executor: timers of a parked request run
  // there, never concurrently with the connection's own handlers.
  virtual boost::asio::any_io_executor executor() const = 0;
};
using HttpExchangePtr = std::shared_ptr<HttpExchange>;

// What the server hands each complete request to. Called on an I/O thread:
// it must not block (hand blocking work to a worker pool and answer later).
using HttpHandler = std::function<void(HttpRequest request, HttpExchangePtr exchange)>;

}  // namespace jcm
