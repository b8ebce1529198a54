#include "api/leader_forwarder.h"

#include <exception>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

#include <httplib.h>
#include <spdlog/spdlog.h>

namespace jcm {

using nlohmann::json;

namespace {
// The node routes' prefix, and that of the route a lane's additions and
// removals go to together.
constexpr char kNodesPrefix[] = "/c/node/";
constexpr char kChangesPrefix[] = "/c/nodes/";
}  // namespace

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

LeaderForwarder::Sent LeaderForwarder::Send(const std::string& address,
                                            const ForwardRequest& request,
                                            const std::string& body) const {
  std::unique_ptr<httplib::Client> client = pool_->Take(address);
  httplib::Headers headers = {{kForwardedHeader, options_.self_address}};
  if (!request.authorization.empty()) headers.emplace("Authorization", request.authorization);
  if (request.retry) headers.emplace(kRetryHeader, "1");
  const auto start = std::chrono::steady_clock::now();
  httplib::Result res = request.method == "POST"
                            ? client->Post(request.target, headers, body, "application/json")
                            : client->Delete(request.target, headers, body, "application/json");
  if (options_.round_trip_seconds) options_.round_trip_seconds->ObserveSince(start);
  if (res && res->get_header_value("Connection") != "close") {
    pool_->Give(address, std::move(client));
  }
  Sent out;
  if (!res) {
    out.error = httplib::to_string(res.error());
    // A failed connect or TLS handshake never delivered the request;
    // anything later may have.
    const httplib::Error e = res.error();
    out.why = e == httplib::Error::Connection || e == httplib::Error::SSLConnection ||
                      e == httplib::Error::SSLServerVerification
                  ? ForwardFailure::kNotSent
                  : ForwardFailure::kOutcomeUnknown;
    return out;
  }
  HttpReply reply;
  reply.status = res->status;
  reply.body = std::move(res->body);
  if (res->has_header("Content-Type")) reply.content_type = res->get_header_value("Content-Type");
  out.not_leader = res->has_header(kNotLeaderHeader);
  out.reply = std::move(reply);
  out.why = ForwardFailure::kNone;
  return out;
}

std::shared_ptr<const WriteAck> LeaderForwarder::ParseAck(const std::string& body) {
  json envelope = json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto ack = std::make_shared<WriteAck>();
  if (!envelope.is_object() || !envelope.contains("data") ||
      !ParseWriteAck(envelope["data"], ack.get())) {
    return nullptr;
  }
  return ack;
}

bool LeaderForwarder::Mergeable(const ForwardRequest& request) const {
  // Node additions and removals (POST / DELETE /c/node/{name}, whose body
  // is a JSON array), not sent again after an unknown outcome (a retry's
  // "already done is done" must stay its own).
  static constexpr std::string_view kNodes = kNodesPrefix;
  static constexpr std::string_view kOnline = "/c/node/online/";
  if (!options_.merge_node_writes) return false;
  if (request.retry || (request.method != "POST" && request.method != "DELETE")) return false;
  std::string_view path(request.target);
  path = path.substr(0, path.find('?'));
  if (path.rfind(kOnline, 0) == 0) return false;
  return path.rfind(kNodes, 0) == 0 && path.size() > kNodes.size();
}

// One forwarded write waiting in a lane.
struct LeaderForwarder::Waiter {
  const ForwardRequest* request = nullptr;
  Sent result;
  bool done = false;
  bool alone = false;  // send it on its own (its merged send was refused)
};

LeaderForwarder::Sent LeaderForwarder::SendMerged(const std::string& address,
                                                  const ForwardRequest& request) const {
  // Node writes with the same target (additions and removals alike) and
  // caller share a lane; one send of a lane is in flight at a time, and
  // every write that queued behind it goes in the next one. A lone write
  // goes at once, unchanged.
  const std::string key = address + '\n' + request.target + '\n' + request.authorization;
  Waiter me;
  me.request = &request;
  std::unique_lock lock(lanes_mu_);
  if (lanes_.size() >= kMaxLanes && lanes_.find(key) == lanes_.end()) {
    // Lanes kept for their timing after their last write: drop the idle.
    for (auto it = lanes_.begin(); it != lanes_.end();) {
      it = it->second.users == 0 ? lanes_.erase(it) : std::next(it);
    }
  }
  Lane& lane = lanes_[key];
  ++lane.users;
  lane.queue.push_back(&me);
  if (lane.gathering) lane.gather_cv.notify_one();
  lanes_cv_.wait(lock, [&] { return me.done || !lane.sending; });
  if (!me.done) {
    lane.sending = true;
    if (lane.busy && options_.merge_linger.count() > 0) {
      // The last send carried company: writes arrive faster than one
      // round trip. Let this one gather for up to that round trip (a
      // write costs the leader, ZooKeeper and every instance per request,
      // not per node), or until as many writes wait as the last send
      // carried: its callers, answered, are what is most likely to come
      // next (in a closed loop, all of it), and waiting on past them
      // leaves the leader idle.
      const auto until = lane.last_done + std::min<std::chrono::steady_clock::duration>(
                                              lane.last_round_trip, options_.merge_linger);
      const size_t enough = std::min(kMaxMergedWrites, std::max<size_t>(2, lane.last_group));
      lane.gathering = true;
      lane.gather_cv.wait_until(lock, until, [&] { return lane.queue.size() >= enough; });
      lane.gathering = false;
    }
    std::vector<Waiter*> group;
    size_t bytes = 0;
    while (!lane.queue.empty() && group.size() < kMaxMergedWrites &&
           (group.empty() || bytes + lane.queue.front()->request->body.size() <= kMaxMergedBytes)) {
      bytes += lane.queue.front()->request->body.size();
      group.push_back(lane.queue.front());
      lane.queue.pop_front();
    }
    lock.unlock();
    const auto send_start = std::chrono::steady_clock::now();
    try {
      SendGroup(address, request, group);
    } catch (const std::exception& e) {
      // Whatever went out may have been applied: each caller sends again
      // as a retry, where "already done" counts as done.
      for (Waiter* w : group) {
        w->alone = false;
        w->result = Sent{};
        w->result.why = ForwardFailure::kOutcomeUnknown;
        w->result.error = std::string("merged forward failed: ") + e.what();
      }
    }
    lock.lock();
    for (Waiter* w : group) w->done = true;
    lane.last_done = std::chrono::steady_clock::now();
    lane.last_round_trip = lane.last_done - send_start;
    lane.busy = group.size() >= 2 || !lane.queue.empty();
    lane.last_group = group.size();
    lane.sending = false;
    lanes_cv_.notify_all();
  }
  // A lane is kept while busy (its timing decides the next send); an idle
  // one goes.
  if (--lane.users == 0 && !lane.busy) lanes_.erase(key);
  lock.unlock();
  if (me.alone) return Send(address, request, request.body);
  return std::move(me.result);
}

void LeaderForwarder::SendGroup(const std::string& address, const ForwardRequest& like,
                                const std::vector<Waiter*>& group) const {
  // A write with nothing to merge with goes as it came, still as the
  // lane's send (the lane's next writes queue behind it).
  auto send_as_is = [&](Waiter* w) { w->result = Send(address, *w->request, w->request->body); };
  if (group.size() == 1) return send_as_is(group[0]);
  // Every removal's specs in one array and every addition's nodes in
  // another, each in arrival order. A body that is not an array (the route
  // decoded it, so this does not happen) goes alone.
  json removed = json::array();
  json added = json::array();
  std::vector<Waiter*> members;
  for (Waiter* w : group) {
    json doc = json::parse(w->request->body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_array()) {
      w->alone = true;
      continue;
    }
    json& into = w->request->method == "DELETE" ? removed : added;
    for (json& e : doc) into.push_back(std::move(e));
    members.push_back(w);
  }
  if (members.size() == 1) return send_as_is(members[0]);
  if (members.empty()) return;
  counters_->forwards_merged.fetch_add(1, std::memory_order_relaxed);
  counters_->forwards_merged_writes.fetch_add(members.size(), std::memory_order_relaxed);
  // (Never a retry: Mergeable() keeps those out.)
  ForwardRequest merged = like;
  std::string body;
  if (removed.empty() || added.empty()) {
    // One kind: that route's own request, every write's elements in one
    // array.
    merged.method = removed.empty() ? "POST" : "DELETE";
    body = (removed.empty() ? added : removed).dump();
  } else {
    // Both: one POST /c/nodes/{name}, removals first. Every write of the
    // group was waiting for its answer when it was sent, so they were
    // concurrent, and removals-then-additions is an order they could have
    // run in: each caller gets an answer it could have had alone.
    counters_->forwards_merged_mixed.fetch_add(1, std::memory_order_relaxed);
    merged.method = "POST";
    merged.target.replace(0, std::string_view(kNodesPrefix).size(), kChangesPrefix);
    json doc = json::object();
    doc["remove"] = std::move(removed);
    doc["add"] = std::move(added);
    body = doc.dump();
  }
  Sent sent = Send(address, merged, body);
  if (sent.reply && sent.reply->status >= 400 && sent.reply->status < 500) {
    // Refused as a whole (one write's node invalid, a spec another write
    // removes too, a limit the sum passes, a leader without
    // /c/nodes/{name}): nothing was applied. Each write goes again on its
    // own, so each caller gets the answer it would have.
    counters_->forward_merge_fallbacks.fetch_add(1, std::memory_order_relaxed);
    for (Waiter* w : members) w->alone = true;
    return;
  }
  // Applied together (one ack, one version for all), or failed together:
  // every caller gets the same answer, as each would have alone.
  if (sent.reply && sent.reply->status >= 200 && sent.reply->status < 300) {
    sent.ack = ParseAck(sent.reply->body);
  }
  for (Waiter* w : members) w->result = sent;
}

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
  counters_->forwarded.fetch_add(1, std::memory_order_relaxed);
  Sent sent = Mergeable(request) ? SendMerged(leader.address, request)
                                 : Send(leader.address, request, request.body);
  if (!sent.reply) {
    counters_->forward_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("forwarding {} {} to leader {} failed: {}", request.method, request.target,
                 leader.address, sent.error);
    *why = sent.why;
    return Status::Unavailable("leader " + leader.address + " unreachable: " + sent.error);
  }
  HttpReply& reply = *sent.reply;
  *why = ForwardFailure::kNone;
  if (reply.status == 503 && sent.not_leader) {
    // The addressee was no longer the leader and applied nothing.
    *why = ForwardFailure::kLeaderMoved;
  }
  if (reply.status >= 200 && reply.status < 300) {
    // A merged send's ack was parsed once for all its callers.
    std::shared_ptr<const WriteAck> parsed = sent.ack ? sent.ack : ParseAck(reply.body);
    if (parsed) {
      const WriteAck& ack = *parsed;
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
  return std::move(reply);
}

}  // namespace jcm
