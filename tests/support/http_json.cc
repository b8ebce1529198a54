#include "tests/support/http_json.h"

#include <httplib.h>

#include <mutex>

namespace jcm::testing {

namespace {

std::mutex token_mu;
std::string write_token;  // GUARDED_BY(token_mu)

httplib::Headers WriteHeaders(const std::string& path) {
  std::lock_guard<std::mutex> lock(token_mu);
  if (write_token.empty() || path == "/sub") return {};
  return {{"Authorization", "Bearer " + write_token}};
}

std::unique_ptr<httplib::Client> MakeClient(const std::string& address,
                                            std::chrono::milliseconds timeout) {
  auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  int port = std::stoi(address.substr(colon + 1));
  auto client = std::make_unique<httplib::Client>(host, port);
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  client->set_keep_alive(false);
  client->set_tcp_nodelay(true);
  return client;
}

HttpReply ToReply(const httplib::Result& result) {
  HttpReply reply;
  if (!result) {
    reply.error = httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  reply.json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (reply.json.is_discarded()) reply.json = nullptr;
  return reply;
}

}  // namespace

int HttpReply::code() const {
  if (json.is_object() && json.contains("code") && json["code"].is_number_integer()) {
    return json["code"].get<int>();
  }
  return -2;
}

std::string HttpReply::msg() const {
  if (json.is_object() && json.contains("msg") && json["msg"].is_string()) {
    return json["msg"].get<std::string>();
  }
  return "";
}

const nlohmann::json& HttpReply::data() const {
  static const nlohmann::json kNull;
  if (json.is_object() && json.contains("data")) return json["data"];
  return kNull;
}

std::string HttpReply::Describe() const {
  if (status == 0) return "no answer: " + error;
  std::string shown = body.size() > 600 ? body.substr(0, 600) + "..." : body;
  return std::to_string(status) + " " + shown;
}

HttpReply HttpGet(const std::string& address, const std::string& path,
                  std::chrono::milliseconds timeout) {
  auto client = MakeClient(address, timeout);
  return ToReply(client->Get(path));
}

HttpReply HttpGetAs(const std::string& address, const std::string& path, const std::string& token,
                    std::chrono::milliseconds timeout) {
  auto client = MakeClient(address, timeout);
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  return ToReply(client->Get(path, h));
}

HttpReply HttpPost(const std::string& address, const std::string& path, const std::string& body,
                   std::chrono::milliseconds timeout) {
  auto client = MakeClient(address, timeout);
  return ToReply(client->Post(path, WriteHeaders(path), body, "application/json"));
}

HttpReply HttpPostJson(const std::string& address, const std::string& path,
                       const nlohmann::json& body, std::chrono::milliseconds timeout) {
  return HttpPost(address, path, body.dump(), timeout);
}

HttpReply HttpDelete(const std::string& address, const std::string& path, const std::string& body,
                     std::chrono::milliseconds timeout) {
  auto client = MakeClient(address, timeout);
  if (body.empty()) return ToReply(client->Delete(path, WriteHeaders(path)));
  return ToReply(client->Delete(path, WriteHeaders(path), body, "application/json"));
}

void SetTestWriteToken(const std::string& token) {
  std::lock_guard<std::mutex> lock(token_mu);
  write_token = token;
}

}  // namespace jcm::testing
