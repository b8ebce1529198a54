// Helpers for the API tests: a real ApiServer on 127.0.0.1 with an
// OS-chosen port over a FakeNameService, and a blocking caller.
//
// Thread-safety: a TestApi is used by one test thread; Call() opens its own
// client per call, so calls from several threads are fine.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_server.h"
#include "tests/unit/api/fake_name_service.h"

namespace jcm {

struct Reply {
  int status = 0;  // 0: no HTTP answer at all
  nlohmann::json body;
  std::string raw;
};

inline Reply Call(int port, const std::string& method, const std::string& path,
                  const std::string& body = "", const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_tcp_nodelay(true);
  client.set_read_timeout(std::chrono::seconds(10));
  httplib::Result res = method == "GET" ? client.Get(path.c_str(), headers)
                        : method == "POST"
                            ? client.Post(path.c_str(), headers, body, "application/json")
                            : client.Delete(path.c_str(), headers, body, "application/json");
  Reply reply;
  if (!res) return reply;
  reply.status = res->status;
  reply.raw = res->body;
  reply.body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  return reply;
}

class TestApi {
 public:
  explicit TestApi(ApiOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<ApiServer>(options, &fake_);
    Status s = server_->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  FakeNameService& fake() { return fake_; }
  ApiServer& server() { return *server_; }
  int port() const { return server_->port(); }
  Reply Call(const std::string& method, const std::string& path, const std::string& body = "",
             const httplib::Headers& headers = {}) {
    return jcm::Call(port(), method, path, body, headers);
  }

 private:
  FakeNameService fake_;  // outlives the server
  std::unique_ptr<ApiServer> server_;
};

// A valid cluster as JSON text, named `name`, with two nodes.
inline std::string ClusterDoc(const std::string& name) {
  return R"({"name":")" + name +
         R"(","online":"ONLINE","checkType":"HTTP","checkFile":"/health","nodes":[
    {"ip":"10.0.0.1","protos":[{"port":80,"proto":"HTTP"},{"port":81,"proto":"TCP"}]},
    {"ip":"10.0.0.2","protos":[{"port":80,"proto":"HTTP"}],"udata":"rack=b"}]})";
}

// Expects an error envelope: HTTP `status`, code -1, data null, and every
// one of `needles` in msg.
inline void ExpectError(const Reply& reply, int status,
                        std::initializer_list<std::string> needles) {
  EXPECT_EQ(reply.status, status) << reply.raw;
  ASSERT_TRUE(reply.body.is_object()) << reply.raw;
  EXPECT_EQ(reply.body.value("code", 0), -1) << reply.raw;
  EXPECT_TRUE(reply.body.contains("data") && reply.body["data"].is_null()) << reply.raw;
  std::string msg = reply.body.value("msg", "");
  for (const std::string& needle : needles) {
    EXPECT_NE(msg.find(needle), std::string::npos) << "'" << needle << "' not in: " << msg;
  }
}

}  // namespace jcm
