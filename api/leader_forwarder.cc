#include "api/leader_forwarder.h"

#include <map>
#include <mutex>
#include <vector>

#include <httplib.h>
#include <spdlog/spdlog.h>

namespace jcm {

using nlohmann::json;

// Idle keep-alive clients by leader address; the least recently used
// first.
class LeaderForwarder::ClientPool {
 public:
  explicit ClientPool(const LeaderForwarderOptions& options) : options_(options) {}

  std::unique_ptr<httplib::Client> Take(const std::string& address) {
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      auto& idle = idle_[address];
      while (!idle.empty()) {
        Idle entry = std::move(idle.back());
        idle.pop_back();
        if (now - entry.since < options_.max_idle_time) return std::move(entry.client);
      }
    }
    auto client = std::make_unique<httplib::Client>(address);
    client->set_connection_timeout(options_.connect_timeout);
    client->set_read_timeout(options_.read_timeout);
    client->set_write_timeout(options_.read_timeout);
    client->set_tcp_nodelay(true);
    client->set_keep_alive(true);
    client->set_url_encode(false);  // the target is already encoded as received
    if (address.rfind("https://", 0) == 0) {
      client->enable_server_certificate_verification(true);
      if (!options_.ca_file.empty()) client->set_ca_cert_path(options_.ca_file);
    }
    return client;
  }

  void Give(const std::string& address, std::unique_ptr<httplib::Client> client) {
    std::lock_guard lock(mu_);
    // Another address means the leader moved: drop the old connections.
    for (auto it = idle_.begin(); it != idle_.end();) {
      it = it->first == address ? std::next(it) : idle_.erase(it);
    }
    auto& idle = idle_[address];
    if (idle.size() < options_.max_idle_connections) {
      idle.push_back({std::move(client), std::chrono::steady_clock::now()});
    }
  }

 private:
  struct Idle {
    std::unique_ptr<httplib::Client> client;
    std::chrono::steady_clock::time_point since;
  };
  const LeaderForwarderOptions& options_;
  std::mutex mu_;
  std::map<std::string, std::vector<Idle>> idle_;  // GUARDED_BY(mu_)
};

LeaderForwarder::LeaderForwarder(LeaderForwarderOptions options, const NameService* names,
                                 ApiCounters* counters)
    : options_(std::move(options)),
      names_(names),
      counters_(counters),
      pool_(std::make_unique<ClientPool>(options_)) {}

LeaderForwarder::~LeaderForwarder() = default;

Result<HttpReply> LeaderForwarder::Forward(const ForwardRequest& request,
                                           ForwardFailure* why) const {
  *why = ForwardFailure::kFinal;
  if (!request.forwarded_by.empty()) {
    counters_->forward_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("write {} {} forwarded by {} reached a non-leader; not forwarding again",
                 request.method, request.target, request.forwarded_by);
    return Status::NotLeader("not the leader; leadership moved, retry");
  }
  LeaderInfo leader = names_->Leader();
  if (!leader.connected) {
    // No way to learn of a new leader from here: refuse now ("503 fast
    // when ZooKeeper is gone").
    counters_->forward_failures.fetch_add(1, std::memory_order_relaxed);
    return Status::Unavailable("no leader elected: ZooKeeper is unreachable from this instance");
  }
  if (!leader.known || leader.address.empty()) {
    counters_->forward_failures.fetch_add(1, std::memory_order_relaxed);
    *why = ForwardFailure::kNoLeader;
    return Status::Unavailable("no leader elected");
  }
  if (leader.self || leader.address == options_.self_address) {
    // The mutation said NotLeader but the election says us: leadership is
    // changing hands right now. Forwarding to ourselves would loop.
    counters_->forward_failures.fetch_add(1, std::memory_order_relaxed);
    *why = ForwardFailure::kNoLeader;
    return Status::Unavailable("leadership is changing; retry");
  }

  if (request.method != "POST" && request.method != "DELETE") {
    return Status::Internal("cannot forward method " + request.method);
  }
  std::unique_ptr<httplib::Client> client = pool_->Take(leader.address);
  httplib::Headers headers = {{kForwardedHeader, options_.self_address}};
  if (!request.authorization.empty()) headers.emplace("Authorization", request.authorization);
  if (request.retry) headers.emplace(kRetryHeader, "1");
  counters_->forwarded.fetch_add(1, std::memory_order_relaxed);
  const auto sent = std::chrono::steady_clock::now();
  httplib::Result res =
      request.method == "POST"
          ? client->Post(request.target, headers, request.body, "application/json")
          : client->Delete(request.target, headers, request.body, "application/json");
  if (options_.round_trip_seconds) options_.round_trip_seconds->ObserveSince(sent);
  if (res && res->get_header_value("Connection") != "close") {
    pool_->Give(leader.address, std::move(client));
  }
  if (!res) {
    counters_->forward_failures.fetch_add(1, std::memory_order_relaxed);
    std::string error = httplib::to_string(res.error());
    spdlog::warn("forwarding {} {} to leader {} failed: {}", request.method, request.target,
                 leader.address, error);
    // A failed connect or TLS handshake never delivered the request;
    // anything later may have.
    const httplib::Error e = res.error();
    *why = e == httplib::Error::Connection || e == httplib::Error::SSLConnection ||
                   e == httplib::Error::SSLServerVerification
               ? ForwardFailure::kNotSent
               : ForwardFailure::kOutcomeUnknown;
    return Status::Unavailable("leader " + leader.address + " unreachable: " + error);
  }
  *why = ForwardFailure::kNone;
  if (res->status == 503 && res->has_header(kNotLeaderHeader)) {
    // The addressee was no longer the leader and applied nothing.
    *why = ForwardFailure::kLeaderMoved;
  }

  if (res->status >= 200 && res->status < 300) {
    json envelope = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    WriteAck ack;
    if (envelope.is_object() && envelope.contains("data") &&
        ParseWriteAck(envelope["data"], &ack)) {
      // Holding the write's base (or once it arrives), apply it now rather
      // than wait for the watch to fetch and decode the cluster.
      const auto wait_start = std::chrono::steady_clock::now();
      names_->ApplyAck(ack, options_.apply_timeout);
      const auto left =
          options_.apply_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - wait_start);
      if (!names_->WaitUntilApplied(ack, std::max(left, std::chrono::milliseconds(0)))) {
        counters_->read_your_writes_timeouts.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn(
            "write to {} (version {}) acknowledged by leader {} not applied here "
            "within {} ms",
            ack.name, ack.version, leader.address, options_.apply_timeout.count());
        // A 200 here would promise read-your-writes on this instance, which
        // does not hold yet. The write did land: say so, with its version.
        return ErrorReply(504,
                          "write to '" + ack.name + "' applied by leader " + leader.address +
                              (ack.deleted ? "" : " at version " + std::to_string(ack.version)) +
                              ", but this instance has not caught up within " +
                              std::to_string(options_.apply_timeout.count()) +
                              " ms; read from the leader or retry the read");
      }
    } else {
      spdlog::warn("leader {} answered {} {} with a body that is not a write ack", leader.address,
                   request.method, request.target);
    }
  }
  HttpReply reply;
  reply.status = res->status;
  reply.body = res->body;
  if (res->has_header("Content-Type")) reply.content_type = res->get_header_value("Content-Type");
  return reply;
}

}  // namespace jcm
