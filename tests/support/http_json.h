// JSON-over-HTTP helpers for talking to jcm-server in tests: one call, one
// fresh connection, a bounded wait, and the reply parsed when it is JSON.
//
// Thread-safety: free functions, safe from any thread.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace jcm::testing {

struct HttpReply {
  int status = 0;       // 0: no HTTP answer (refused, reset, timed out)
  std::string body;     // raw body
  nlohmann::json json;  // parsed body; null when not JSON
  std::string error;    // transport error when status == 0

  bool ok() const { return status == 200; }
  // The envelope's "code" (0 success, -1 failure); -2 when absent.
  int code() const;
  std::string msg() const;
  const nlohmann::json& data() const;
  // "503 {...}" or "no answer: Connection" for assertion messages.
  std::string Describe() const;
};

// `address` is "host:port". `timeout` bounds connect and read.
HttpReply HttpGet(const std::string& address, const std::string& path,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
// The same with "Authorization: Bearer <token>" when `token` is not empty.
HttpReply HttpGetAs(const std::string& address, const std::string& path, const std::string& token,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
HttpReply HttpPost(const std::string& address, const std::string& path, const std::string& body,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
HttpReply HttpPostJson(const std::string& address, const std::string& path,
                       const nlohmann::json& body,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
HttpReply HttpDelete(const std::string& address, const std::string& path,
                     const std::string& body = "",
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// A write token sent as "Authorization: Bearer <token>" with every write
// (HttpPost to any path but /sub, HttpDelete) from now on in this process,
// as an operator's tool would; reads and /sub go without one, as JCM's Java
// client does. Empty: none (the default).
void SetTestWriteToken(const std::string& token);

}  // namespace jcm::testing
