#include "tools/jcmctl/node_change.h"

#include <ctime>

namespace jcm::ctl {
namespace {

std::string SpecOf(const nlohmann::json& node) {
  std::string spec = node.value("ip", "");
  const nlohmann::json* protos = node.contains("protos") ? &node["protos"] : nullptr;
  if (protos && protos->is_array()) {
    // Canonical order: HTTP before TCP, whatever the document's order.
    for (const char* want : {"HTTP", "TCP"}) {
      for (const auto& p : *protos) {
        if (p.is_object() && p.value("proto", "") == want && p.contains("port")) {
          spec += "|" + std::string(want) + ":" + p["port"].dump();
        }
      }
    }
  }
  return spec;
}

bool OnlineOf(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) return v.get<std::string>() != "OFFLINE";
  return true;
}

}  // namespace

NodeStates StatesOfCluster(const nlohmann::json& cluster) {
  NodeStates out;
  if (!cluster.is_object() || !cluster.contains("nodes") || !cluster["nodes"].is_array()) {
    return out;
  }
  for (const auto& n : cluster["nodes"]) {
    if (!n.is_object() || !n.contains("ip") || !n["ip"].is_string()) continue;
    NodeState s;
    if (n.contains("online")) s.online = OnlineOf(n["online"]);
    if (n.contains("status") && n["status"].is_string()) s.status = n["status"];
    out[SpecOf(n)] = s;
  }
  return out;
}

NodeStates ApplyDelta(const NodeStates& held, const nlohmann::json& removed,
                      const nlohmann::json& changed) {
  NodeStates out = held;
  if (removed.is_array()) {
    for (const auto& spec : removed) {
      if (spec.is_string()) out.erase(spec.get<std::string>());
    }
  }
  for (auto& [spec, state] : StatesOfCluster(changed)) out[spec] = state;
  return out;
}

NodeStates ApplyInvalids(const NodeStates& held, const std::set<std::string>& invalids) {
  NodeStates out = held;
  for (auto& [spec, s] : out) {
    if (!invalids.count(spec)) {
      s.status = "NORMAL";
    } else if (s.status == "NORMAL") {
      s.status = "DOWN";
    }
  }
  return out;
}

const char* KindName(NodeChange::Kind kind) {
  switch (kind) {
    case NodeChange::Kind::kAdded:
      return "added";
    case NodeChange::Kind::kRemoved:
      return "removed";
    case NodeChange::Kind::kDown:
      return "down";
    case NodeChange::Kind::kUp:
      return "up";
    case NodeChange::Kind::kOffline:
      return "offline";
    case NodeChange::Kind::kOnline:
      return "online";
  }
  return "?";
}

std::vector<NodeChange> DiffNodes(const NodeStates& before, const NodeStates& after) {
  using K = NodeChange::Kind;
  std::vector<NodeChange> removed, added, changed;
  for (const auto& [spec, s] : before) {
    if (!after.count(spec)) removed.push_back({K::kRemoved, spec, ""});
  }
  for (const auto& [spec, now] : after) {
    auto it = before.find(spec);
    if (it == before.end()) {
      added.push_back({K::kAdded, spec, now.status});
      continue;
    }
    const NodeState& was = it->second;
    if (was.online && !now.online) {
      changed.push_back({K::kOffline, spec, now.status});
      continue;
    }
    if (!was.online && now.online) changed.push_back({K::kOnline, spec, now.status});
    if (was.usable() && !now.usable()) changed.push_back({K::kDown, spec, now.status});
    if (!was.usable() && now.usable()) changed.push_back({K::kUp, spec, now.status});
  }
  std::vector<NodeChange> out = std::move(removed);
  out.insert(out.end(), added.begin(), added.end());
  out.insert(out.end(), changed.begin(), changed.end());
  return out;
}

std::string FormatTimestamp(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(unix_ms % 1000));
  return out;
}

std::string FormatChangeLine(int64_t unix_ms, const std::string& cluster, const NodeChange& c) {
  std::string kind = KindName(c.kind);
  kind.resize(7, ' ');  // the longest kind, "offline", keeps specs in a column
  std::string line = FormatTimestamp(unix_ms) + "  " + cluster + "  " + kind + "  " + c.spec;
  if (!c.status.empty()) line += "  " + c.status;
  return line;
}

nlohmann::json ChangeJson(int64_t unix_ms, const std::string& cluster, const NodeChange& c) {
  return {{"time", FormatTimestamp(unix_ms)},
          {"cluster", cluster},
          {"change", KindName(c.kind)},
          {"spec", c.spec},
          {"status", c.status}};
}

}  // namespace jcm::ctl
