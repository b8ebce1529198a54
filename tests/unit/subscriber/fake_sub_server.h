// FakeSubServer: a cpp-httplib server on 127.0.0.1 (port chosen by the
// kernel) that answers POST /sub with whatever the test's handler returns,
// and records the requests it got.
//
// Thread-safety: the handler runs on the server's worker threads; the
// accessors are thread-safe.
#pragma once

#include <httplib.h>

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "model/cluster_codec.h"

namespace jcm::testing {

class FakeSubServer {
 public:
  using Handler = std::function<std::string(const nlohmann::json& request)>;

  explicit FakeSubServer(Handler handler) : handler_(std::move(handler)) {
    server_.set_tcp_nodelay(true);
    // One request per connection: Stop() must not wait out a client's idle
    // keep-alive connection (5 s by default).
    server_.set_keep_alive_max_count(1);
    server_.Post("/sub", [this](const httplib::Request& req, httplib::Response& res) {
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      Handler h;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(body);
        h = handler_;
      }
      res.set_content(h(body), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeSubServer() { Stop(); }

  // After Stop() the port refuses connections: a server that is down.
  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void SetHandler(Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }
  std::vector<nlohmann::json> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  Handler handler_;
  std::vector<nlohmann::json> requests_;
};

// Reply builders, in the protocol's extended form.
inline nlohmann::json UpdateUnit(const Cluster& c) {
  return {{"name", c.name},
          {"kind", "RESP_UPDATE"},
          {"cluster", EncodeCluster(c, ClusterJsonForm::kFull)}};
}
inline nlohmann::json StatusUnit(const std::string& name, std::vector<std::string> invalids,
                                 int64_t status_version, bool panic = false) {
  return {{"name", name},
          {"kind", "RESP_STATUS"},
          {"statusVersion", status_version},
          {"panic", panic},
          {"invalids", invalids}};
}
// RESP_DELTA from (base_version, base_status_version): `fields` carries the
// cluster's fields and only the new or changed nodes.
inline nlohmann::json DeltaUnit(const Cluster& fields, int64_t base_version,
                                int64_t base_status_version, std::vector<std::string> removed) {
  return {
      {"name", fields.name},           {"kind", "RESP_DELTA"},
      {"baseVersion", base_version},   {"baseStatusVersion", base_status_version},
      {"removed", std::move(removed)}, {"cluster", EncodeCluster(fields, ClusterJsonForm::kFull)}};
}

inline nlohmann::json KindUnit(const std::string& name, const char* kind) {
  return {{"name", name}, {"kind", kind}};
}
inline std::string Reply(std::vector<nlohmann::json> units) {
  return nlohmann::json{{"units", units}}.dump();
}

}  // namespace jcm::testing
