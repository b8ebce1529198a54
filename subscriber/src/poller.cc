#include "subscriber/src/poller.h"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

#include "model/cluster_codec.h"
#include "model/cluster_delta.h"
#include "subscriber/src/disk_cache.h"

namespace jcm::internal {
namespace {

using nlohmann::json;

int64_t Int64Field(const json& obj, const char* key, int64_t fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return fallback;
  // An unsigned value past INT64_MAX would wrap to a negative version.
  if (it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX) return fallback;
  return it->get<int64_t>();
}

// The canonical form of each spec in a JSON array; false if `list` is not
// an array of specs.
bool CanonicalSpecs(const json& list, std::vector<std::string>* out) {
  if (!list.is_array()) return false;
  for (const json& spec : list) {
    std::string canonical;
    if (!spec.is_string() || !CanonicalSpec(spec.get<std::string>(), &canonical)) return false;
    out->push_back(std::move(canonical));
  }
  return true;
}

ClusterEvent Event(const std::string& name, ClusterEvent::Kind kind, const Cluster* c) {
  ClusterEvent e;
  e.cluster = name;
  e.kind = kind;
  if (c) {
    e.version = c->version;
    e.status_version = c->status_version;
  }
  return e;
}

}  // namespace

Poller::Poller(const SubscriberOptions& options, ClusterRegistry* registry, Transport* transport,
               const Clock* clock)
    : options_(options), registry_(registry), transport_(transport), clock_(clock) {
  for (const std::string& s : options_.servers) servers_.push_back({s, 0, 0});
}

std::string Poller::BuildRequest() const {
  json req;
  req["tag"] = options_.tag;
  req["ext"] = 1;
  // Changed nodes only (RESP_DELTA) for a version the server still holds;
  // a server without deltas ignores the member and sends whole clusters.
  req["delta"] = 1;
  if (options_.long_poll_wait.count() > 0) req["waitMs"] = options_.long_poll_wait.count();
  json units = json::array();
  for (const auto& slot : registry_->All()) {
    auto snap = slot->Load();
    const Cluster* c = snap->cluster();
    // Data from the disk cache is announced as "nothing held", so the first
    // live answer is a full RESP_UPDATE that replaces it.
    bool live = c && snap->source() == ClusterInfo::Source::kServer;
    units.push_back({{"name", slot->name()},
                     {"version", live ? c->version : 0},
                     {"statusVersion", live ? c->status_version : 0}});
  }
  req["units"] = std::move(units);
  return req.dump();
}

void Poller::MarkFailed(ServerState* server, int64_t now_ms) {
  ++server->failures;
  int shift = std::min(server->failures - 1, 20);
  int64_t backoff =
      std::min<int64_t>(options_.backoff_initial.count() << shift, options_.backoff_max.count());
  server->retry_at_ms = now_ms + backoff;
}

Poller::Outcome Poller::PollOnce() {
  Outcome out;
  const auto reply_timeout = options_.request_timeout + options_.long_poll_wait;
  bool failed_before = false;
  for (size_t k = 0; k < servers_.size() && !out.answered; ++k) {
    size_t i = (next_server_ + k) % servers_.size();
    ServerState& server = servers_[i];
    int64_t start_ms = clock_->NowMs();
    if (server.retry_at_ms > start_ms) continue;  // backing off
    Result<std::string> reply = Status::Ok();
    // An interrupted request is resent at once with the new subscription
    // set; bounded, so a storm of Subscribe() calls cannot spin here.
    for (int attempt = 0; attempt < 3; ++attempt) {
      counters_.polls.fetch_add(1, std::memory_order_relaxed);
      reply = transport_->Post(server.address, "/sub", BuildRequest(), reply_timeout);
      if (reply.ok() || !IsInterrupted(reply.status())) break;
      start_ms = clock_->NowMs();
    }
    if (!reply.ok() && IsInterrupted(reply.status())) {
      out.delay = std::chrono::milliseconds(0);  // not the server's fault
      return out;
    }
    Status s = reply.ok() ? ApplyReplyCaught(reply.value(), &out) : reply.status();
    int64_t end_ms = clock_->NowMs();
    if (!s.ok()) {
      counters_.poll_failures.fetch_add(1, std::memory_order_relaxed);
      MarkFailed(&server, end_ms);
      failed_before = true;
      continue;
    }
    out.answered = true;
    server.failures = 0;
    server.retry_at_ms = 0;
    next_server_ = i + 1;
    if (failed_before) counters_.failovers.fetch_add(1, std::memory_order_relaxed);
    // Long poll: poll again at once after a change, or after the server held
    // the request about as long as asked. An unchanged answer that came back
    // early means the server would not park it: fall back to the interval.
    const int64_t wait_ms = options_.long_poll_wait.count();
    if (wait_ms > 0 && (out.changed || (end_ms - start_ms) * 10 >= wait_ms * 9)) {
      out.delay = std::chrono::milliseconds(0);
    } else {
      out.delay = options_.poll_interval;
    }
  }
  if (!out.answered) {
    counters_.all_servers_down.fetch_add(1, std::memory_order_relaxed);
    out.delay = options_.poll_interval;
  }
  if (out.changed && !options_.cache_file.empty()) WriteCache();
  return out;
}

Status Poller::ApplyReplyCaught(const std::string& body, Outcome* outcome) {
  try {
    return ApplyReply(body, outcome);
  } catch (const std::exception& e) {
    CountException();
    return Status::Internal(std::string("reply: ") + e.what());
  } catch (...) {
    CountException();
    return Status::Internal("reply: unknown exception");
  }
}

Status Poller::ApplyReply(const std::string& body, Outcome* outcome) {
  json doc;
  Status s = ParseJsonText(body, &doc);
  if (!s.ok()) return s;
  if (!doc.is_object() || !doc.contains("units") || !doc["units"].is_array()) {
    return Status::InvalidArgument("reply: no \"units\" array");
  }
  for (const json& unit : doc["units"]) {
    if (!unit.is_object() || !unit.contains("name") || !unit["name"].is_string() ||
        !unit.contains("kind") || !unit["kind"].is_string()) {
      counters_.bad_units.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const std::string name = unit["name"].get<std::string>();
    const std::string kind = unit["kind"].get<std::string>();
    std::shared_ptr<ClusterSlot> slot = registry_->Find(name);
    if (!slot) continue;  // not ours (e.g. a reply to an older request)
    std::shared_ptr<const ClusterSnapshot> held = slot->Load();
    const Cluster* held_cluster = held->cluster();
    const bool held_live = held_cluster && held->source() == ClusterInfo::Source::kServer;

    if (kind == "RESP_NOCHANGE") continue;
    if (kind == "RESP_REMOVE") {
      PublishRemoved(*slot, outcome);
      continue;
    }
    if (kind == "RESP_UPDATE") {
      auto cluster = std::make_shared<Cluster>();
      if (!unit.contains("cluster") || !DecodeCluster(unit["cluster"], cluster.get()).ok() ||
          cluster->name != name) {
        // Refused where it enters: a bad weight or address never reaches an
        // allocator; the last good data stays.
        counters_.bad_units.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      // A lagging server must not roll a newer definition back.
      if (held_live && cluster->version < held_cluster->version) continue;
      // The same state again (a server that repeats itself) is no change.
      if (held_live && cluster->version == held_cluster->version &&
          cluster->status_version == held_cluster->status_version) {
        continue;
      }
      PublishDefinition(*slot, std::move(cluster), outcome);
      continue;
    }
    if (kind == "RESP_DELTA") {
      Cluster fields;
      std::vector<std::string> removed;
      auto removed_it = unit.find("removed");
      auto cluster_it = unit.find("cluster");
      bool bad = removed_it == unit.end() || !CanonicalSpecs(*removed_it, &removed) ||
                 cluster_it == unit.end() || !DecodeCluster(*cluster_it, &fields).ok() ||
                 fields.name != name;
      // A delta applies only to exactly the version it was made from; the
      // server made it from what this poll said it held, so anything else
      // is a confused server. The next poll asks again from what is held.
      bad = bad || !held_live || Int64Field(unit, "baseVersion", -1) != held_cluster->version ||
            Int64Field(unit, "baseStatusVersion", -1) != held_cluster->status_version ||
            fields.version <= held_cluster->version;
      auto next = std::make_shared<Cluster>();
      if (bad || !ApplyClusterDelta(*held_cluster, fields, removed, next.get()).ok()) {
        counters_.bad_units.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (next->online) counters_.delta_updates.fetch_add(1, std::memory_order_relaxed);
      PublishDefinition(*slot, std::move(next), outcome);
      continue;
    }
    if (kind == "RESP_STATUS") {
      if (!held_cluster) continue;  // nothing to apply it to; next poll asks for all
      auto invalids_it = unit.find("invalids");
      std::vector<std::string> listed;
      const bool bad = invalids_it != unit.end() && !invalids_it->is_null() &&
                       !CanonicalSpecs(*invalids_it, &listed);
      const std::unordered_set<std::string> invalid(listed.begin(), listed.end());
      if (bad) {
        counters_.bad_units.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      // JCM's form has neither field: its answer carries the whole truth.
      const int64_t status_version =
          Int64Field(unit, "statusVersion", held_cluster->status_version);
      if (held_cluster->status_version > 0 && status_version > 0 &&
          status_version < held_cluster->status_version) {
        continue;  // an older view from a lagging server
      }
      auto panic_it = unit.find("panic");
      const bool panic = panic_it != unit.end() && panic_it->is_boolean() && panic_it->get<bool>();
      auto next = std::make_shared<Cluster>(*held_cluster);
      bool changed = next->status_version != status_version || next->panic != panic;
      next->status_version = status_version;
      next->panic = panic;
      for (size_t i = 0; i < next->nodes.size(); ++i) {
        const Node& n = next->nodes[i];
        // JCM's client never made a node usable again; here every node the
        // server does not list is NORMAL as of this answer.
        NodeStatus want = NodeStatus::kNormal;
        if (invalid.count(n.Spec())) {
          want = n.status == NodeStatus::kNormal ? NodeStatus::kInvalid : n.status;
        }
        if (n.status != want) {
          next->nodes.Mutable(i).status = want;
          changed = true;
        }
      }
      if (!changed) continue;
      const Cluster* c = next.get();
      slot->Publish(ClusterSnapshot::Build(std::move(next), held->source()));
      counters_.status_changes.fetch_add(1, std::memory_order_relaxed);
      outcome->changed = true;
      outcome->events.push_back(Event(name, ClusterEvent::Kind::kStatusChanged, c));
      continue;
    }
    counters_.bad_units.fetch_add(1, std::memory_order_relaxed);  // unknown kind
  }
  return Status::Ok();
}

void Poller::PublishRemoved(ClusterSlot& slot, Outcome* outcome) {
  if (!slot.Load()->cluster()) return;
  slot.Publish(ClusterSnapshot::Empty());
  counters_.removes.fetch_add(1, std::memory_order_relaxed);
  outcome->changed = true;
  outcome->events.push_back(Event(slot.name(), ClusterEvent::Kind::kRemoved, nullptr));
}

void Poller::PublishDefinition(ClusterSlot& slot, std::shared_ptr<Cluster> cluster,
                               Outcome* outcome) {
  if (!cluster->online) return PublishRemoved(slot, outcome);
  const Cluster* c = cluster.get();
  slot.Publish(ClusterSnapshot::Build(std::move(cluster), ClusterInfo::Source::kServer));
  counters_.updates.fetch_add(1, std::memory_order_relaxed);
  outcome->changed = true;
  outcome->events.push_back(Event(slot.name(), ClusterEvent::Kind::kUpdated, c));
}

void Poller::WriteCache() {
  std::vector<std::shared_ptr<const Cluster>> clusters;
  for (const auto& slot : registry_->All()) {
    auto snap = slot->Load();
    if (snap->cluster()) clusters.push_back(snap->shared_cluster());
  }
  if (WriteCacheFile(options_.cache_file, clusters).ok()) {
    counters_.cache_writes.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.cache_write_failures.fetch_add(1, std::memory_order_relaxed);
  }
}

std::vector<ClusterEvent> Poller::LoadCache() {
  std::vector<ClusterEvent> events;
  if (options_.cache_file.empty()) return events;
  std::vector<Cluster> clusters;
  int skipped = 0;
  // The cache is only an aid: anything unexpected while reading it (a bug)
  // means no cache, never an exception in the application's Start().
  try {
    if (!ReadCacheFile(options_.cache_file, &clusters, &skipped).ok()) return events;
    return PublishCached(&clusters);
  } catch (...) {
    CountException();
    return events;
  }
}

std::vector<ClusterEvent> Poller::PublishCached(std::vector<Cluster>* clusters) {
  std::vector<ClusterEvent> events;
  for (Cluster& c : *clusters) {
    std::shared_ptr<ClusterSlot> slot = registry_->Find(c.name);
    if (!slot || slot->Load()->cluster() || !c.online) continue;
    auto cluster = std::make_shared<Cluster>(std::move(c));
    const Cluster* raw = cluster.get();
    slot->Publish(ClusterSnapshot::Build(std::move(cluster), ClusterInfo::Source::kCache));
    counters_.cache_loads.fetch_add(1, std::memory_order_relaxed);
    events.push_back(Event(slot->name(), ClusterEvent::Kind::kLoadedFromCache, raw));
  }
  return events;
}

SubscriberStats Poller::stats() const {
  SubscriberStats s;
  s.polls = counters_.polls.load();
  s.poll_failures = counters_.poll_failures.load();
  s.failovers = counters_.failovers.load();
  s.all_servers_down = counters_.all_servers_down.load();
  s.updates = counters_.updates.load();
  s.delta_updates = counters_.delta_updates.load();
  s.status_changes = counters_.status_changes.load();
  s.removes = counters_.removes.load();
  s.bad_units = counters_.bad_units.load();
  s.cache_writes = counters_.cache_writes.load();
  s.cache_write_failures = counters_.cache_write_failures.load();
  s.cache_loads = counters_.cache_loads.load();
  s.exceptions_caught = counters_.exceptions_caught.load();
  return s;
}

}  // namespace jcm::internal
