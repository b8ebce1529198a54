#include "subscriber/src/httplib_transport.h"

#include <httplib.h>

#include "subscriber/src/sigpipe_guard.h"

namespace jcm::internal {

Status ParseServerAddress(const std::string& address, std::string* host, uint16_t* port,
                          bool* tls) {
  std::string server = address;
  bool https = false;
  if (server.rfind("https://", 0) == 0) {
    https = true;
    server = server.substr(8);
  } else if (server.rfind("http://", 0) == 0) {
    server = server.substr(7);
  }
  if (tls) *tls = https;
  std::string h;
  std::string rest;
  if (!server.empty() && server[0] == '[') {
    size_t close = server.find(']');
    if (close == std::string::npos || close + 1 >= server.size() || server[close + 1] != ':') {
      return Status::InvalidArgument("servers: '" + address + "' is not [ipv6]:port");
    }
    h = server.substr(1, close - 1);
    rest = server.substr(close + 2);
  } else {
    size_t colon = server.rfind(':');
    if (colon == std::string::npos || colon == 0 || server.find(':') != colon) {
      return Status::InvalidArgument("servers: '" + address + "' is not host:port");
    }
    h = server.substr(0, colon);
    rest = server.substr(colon + 1);
  }
  if (rest.empty() || rest.size() > 5 ||
      rest.find_first_not_of("0123456789") != std::string::npos || std::stoi(rest) < 1 ||
      std::stoi(rest) > 65535) {
    return Status::InvalidArgument("servers: '" + address + "' has no port in 1-65535");
  }
  *host = h;
  *port = static_cast<uint16_t>(std::stoi(rest));
  return Status::Ok();
}

Status Interrupted() { return Status::Conflict("interrupted: request to be resent"); }

bool IsInterrupted(const Status& status) {
  return status.code() == Status::Code::kConflict &&
         status.message() == "interrupted: request to be resent";
}

HttplibTransport::HttplibTransport(std::chrono::milliseconds connect_timeout,
                                   size_t max_reply_bytes, std::string token, std::string ca_file)
    : connect_timeout_(connect_timeout),
      max_reply_bytes_(max_reply_bytes),
      token_(std::move(token)),
      ca_file_(std::move(ca_file)) {}

HttplibTransport::~HttplibTransport() = default;

Result<std::string> HttplibTransport::Post(const std::string& server, const std::string& path,
                                           const std::string& body,
                                           std::chrono::milliseconds reply_timeout) {
  if (cancelled_.load()) return Status::Unavailable("subscriber stopped");
  SigpipeGuard no_sigpipe;  // TLS writes to a server that closed
  auto it = clients_.find(server);
  if (it == clients_.end()) {
    std::string host;
    uint16_t port = 0;
    bool tls = false;
    Status s = ParseServerAddress(server, &host, &port, &tls);
    if (!s.ok()) return s;
    const std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    auto client = std::make_unique<httplib::Client>((tls ? "https://" : "http://") + bracketed +
                                                    ":" + std::to_string(port));
    if (tls) {
      client->enable_server_certificate_verification(true);
      if (!ca_file_.empty()) client->set_ca_cert_path(ca_file_);
    }
    client->set_connection_timeout(connect_timeout_);
    client->set_write_timeout(connect_timeout_ + reply_timeout);
    client->set_tcp_nodelay(true);
    client->set_keep_alive(true);
    it = clients_.emplace(server, std::move(client)).first;
  }
  httplib::Client& client = *it->second;
  client.set_read_timeout(reply_timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_.load()) return Status::Unavailable("subscriber stopped");
    if (interrupt_pending_) {
      interrupt_pending_ = false;
      return Interrupted();
    }
    active_ = &client;
  }
  // Sent as Client::Post would, but the reply goes through a receiver that
  // stops reading past the cap instead of growing the body without bound.
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.set_header("Content-Type", "application/json");
  if (!token_.empty()) req.set_header("Authorization", "Bearer " + token_);
  req.body = body;
  std::string reply;
  bool too_large = false;
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (len > max_reply_bytes_ - reply.size()) {
      too_large = true;
      return false;  // ends the request (Error::Canceled)
    }
    reply.append(data, len);
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool sent = client.send(req, res, error);
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = nullptr;
    if (interrupt_pending_) {
      interrupt_pending_ = false;
      return Interrupted();
    }
  }
  if (too_large) {
    return Status::Unavailable(server + path + ": reply larger than " +
                               std::to_string(max_reply_bytes_) + " bytes");
  }
  if (!sent) return Status::Unavailable(server + path + ": " + httplib::to_string(error));
  if (res.status != 200) {
    return Status::Unavailable(server + path + ": HTTP " + std::to_string(res.status));
  }
  return reply;
}

void HttplibTransport::Interrupt() {
  SigpipeGuard no_sigpipe;  // stop() sends a TLS close_notify
  std::lock_guard<std::mutex> lock(mu_);
  interrupt_pending_ = true;
  if (active_) active_->stop();
}

void HttplibTransport::Cancel() {
  SigpipeGuard no_sigpipe;  // stop() sends a TLS close_notify
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_.store(true);
  if (active_) active_->stop();
}

}  // namespace jcm::internal
