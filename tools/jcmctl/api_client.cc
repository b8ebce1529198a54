#include "tools/jcmctl/api_client.h"

#include <httplib.h>

#include <cctype>

namespace jcm::ctl {
namespace {

// Errors where the request never left this host: safe to send elsewhere.
bool NothingSent(httplib::Error e) {
  return e == httplib::Error::Connection || e == httplib::Error::ConnectionTimeout ||
         e == httplib::Error::BindIPAddress || e == httplib::Error::SSLConnection ||
         e == httplib::Error::SSLServerVerification;
}

bool Idempotent(const std::string& method, const std::string& path) {
  return method == "GET" || path == "/sub";
}

std::string ErrorText(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "connection broken or reply timed out";
    case httplib::Error::Write:
      return "connection broken while sending";
    case httplib::Error::SSLServerVerification:
      return "TLS certificate not trusted (is --cacert the CA that signed it?)";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    default:
      return httplib::to_string(e);
  }
}

// Verification on for https:// (httplib's default, stated here so it never
// depends on one), against the given CA file.
void SetUpTls(httplib::Client& cli, const ServerUrl& server, const std::string& ca_file) {
  if (server.scheme != "https") return;
  cli.enable_server_certificate_verification(true);
  if (!ca_file.empty()) cli.set_ca_cert_path(ca_file);
}

std::chrono::milliseconds Or(std::chrono::milliseconds a, std::chrono::milliseconds b) {
  return a.count() > 0 ? a : b;
}

}  // namespace

ApiClient::ApiClient(std::vector<ServerUrl> servers, std::string token, ApiClientOptions options)
    : servers_(std::move(servers)), token_(std::move(token)), options_(options) {}

Result<ApiReply> ApiClient::Send(const std::string& method, const std::string& path,
                                 const std::string& body, std::chrono::milliseconds read_timeout) {
  std::string failures;
  for (const ServerUrl& server : servers_) {
    httplib::Client cli(server.Base());
    SetUpTls(cli, server, options_.ca_file);
    cli.set_connection_timeout(options_.connect_timeout);
    cli.set_read_timeout(Or(read_timeout, options_.read_timeout));
    cli.set_write_timeout(options_.read_timeout);
    httplib::Headers headers;
    if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
    if (method != "GET" && method != "POST" && method != "DELETE") {
      return Status::Internal("unsupported method " + method);
    }
    httplib::Result res = method == "GET"    ? cli.Get(path, headers)
                          : method == "POST" ? cli.Post(path, headers, body, "application/json")
                                             : cli.Delete(path, headers, body, "application/json");
    if (!failures.empty()) failures += "; ";
    if (!res) {
      failures += server.Base() + ": " + ErrorText(res.error());
      if (NothingSent(res.error()) || Idempotent(method, path)) continue;
      return Status::Unavailable(failures + " (the write may or may not have been applied; " +
                                 "check with get before repeating it)");
    }
    ApiReply reply;
    reply.http_status = res->status;
    reply.raw = res->body;
    reply.server = server.Base();
    reply.body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (reply.body.is_discarded()) reply.body = nullptr;
    if (res->status == 503) {
      failures += server.Base() + ": " + ReplyError(reply).message();
      continue;
    }
    return reply;
  }
  return Status::Unavailable("no server answered: " + failures);
}

Result<nlohmann::json> ApiClient::Call(const std::string& method, const std::string& path,
                                       const std::string& body) {
  Result<ApiReply> reply = Send(method, path, body);
  if (!reply.ok()) return reply.status();
  const ApiReply& r = reply.value();
  const bool ok_code = r.body.is_object() && r.body.value("code", -1) == 0;
  if (r.http_status >= 200 && r.http_status < 300 && ok_code) {
    return r.body.contains("data") ? r.body["data"] : nlohmann::json(nullptr);
  }
  return ReplyError(r);
}

Result<nlohmann::json> ApiClient::GetFrom(const ServerUrl& server, const std::string& path,
                                          std::chrono::milliseconds timeout) {
  httplib::Client cli(server.Base());
  SetUpTls(cli, server, options_.ca_file);
  cli.set_connection_timeout(timeout);
  cli.set_read_timeout(timeout);
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  httplib::Result res = cli.Get(path, headers);
  if (!res) return Status::Unavailable(server.Base() + ": " + ErrorText(res.error()));
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status / 100 != 2 || !body.is_object() || body.value("code", -1) != 0) {
    ApiReply r{res->status, body.is_discarded() ? nlohmann::json() : body, res->body,
               server.Base()};
    return ReplyError(r);
  }
  return body.contains("data") ? body["data"] : nlohmann::json(nullptr);
}

std::string PathEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Status ReplyError(const ApiReply& reply) {
  std::string msg;
  if (reply.body.is_object() && reply.body.contains("msg") && reply.body["msg"].is_string()) {
    msg = reply.body["msg"].get<std::string>();
  } else {
    msg = reply.raw.empty() ? "empty reply" : reply.raw.substr(0, 200);
  }
  msg += " (HTTP " + std::to_string(reply.http_status) + " from " + reply.server + ")";
  switch (reply.http_status) {
    case 400:
      return Status::InvalidArgument(std::move(msg));
    case 404:
      return Status::NotFound(std::move(msg));
    case 409:
      return Status::Conflict(std::move(msg));
    case 413:
      return Status::TooLarge(std::move(msg));
    case 503:
      return Status::Unavailable(std::move(msg));
    case 504:
      return Status::Timeout(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

}  // namespace jcm::ctl
