#include "tools/jcmctl/cluster_views.h"

#include "tools/jcmctl/table.h"

namespace jcm::ctl {
namespace {

bool IsOnline(const nlohmann::json& obj) {
  if (!obj.is_object() || !obj.contains("online")) return true;
  const auto& v = obj["online"];
  if (v.is_boolean()) return v.get<bool>();
  return !(v.is_string() && v.get<std::string>() == "OFFLINE");
}

std::string Str(const nlohmann::json& obj, const char* key, const std::string& fallback = "") {
  if (obj.is_object() && obj.contains(key)) {
    const auto& v = obj[key];
    if (v.is_string()) return v.get<std::string>();
    if (!v.is_null()) return v.dump();
  }
  return fallback;
}

Color StatusColor(const std::string& status, bool online) {
  if (!online) return Color::kDim;
  if (status == "NORMAL") return Color::kGreen;
  if (status == "ABNORMAL" || status == "TIMEOUT") return Color::kRed;
  return Color::kYellow;
}

// A count cell coloured only when non-zero, so problems stand out.
Cell Count(int n, Color when_nonzero) {
  return Cell(std::to_string(n), n > 0 ? when_nonzero : Color::kNone);
}

std::string PortOf(const nlohmann::json& node, const char* proto) {
  if (!node.contains("protos") || !node["protos"].is_array()) return "-";
  for (const auto& p : node["protos"]) {
    if (p.is_object() && p.value("proto", "") == proto) return Str(p, "port", "-");
  }
  return "-";
}

}  // namespace

HealthCounts CountNodes(const nlohmann::json& cluster) {
  HealthCounts h;
  if (!cluster.is_object() || !cluster.contains("nodes") || !cluster["nodes"].is_array()) {
    return h;
  }
  for (const auto& n : cluster["nodes"]) {
    ++h.total;
    if (!IsOnline(n)) {
      ++h.offline;
      continue;
    }
    const std::string s = Str(n, "status", "INVALID");
    if (s == "NORMAL") {
      ++h.normal;
    } else if (s == "ABNORMAL") {
      ++h.abnormal;
    } else if (s == "TIMEOUT") {
      ++h.timeout;
    } else {
      ++h.invalid;
    }
  }
  return h;
}

std::string RenderClusterList(const nlohmann::json& clusters, bool color) {
  Table t({"NAME", "STATE", "NODES", "NORMAL", "ABNORMAL", "TIMEOUT", "INVALID", "OFFLINE", "PANIC",
           "CHECK", "VERSION"});
  for (size_t c = 2; c <= 7; ++c) t.AlignRight(c);
  t.AlignRight(10);
  if (clusters.is_array()) {
    for (const auto& c : clusters) {
      const HealthCounts h = CountNodes(c);
      const bool online = IsOnline(c);
      const bool panic = c.is_object() && c.value("panic", false);
      t.AddRow({Str(c, "name"),
                Cell(online ? "ONLINE" : "OFFLINE", online ? Color::kNone : Color::kDim),
                std::to_string(h.total), Count(h.normal, Color::kGreen),
                Count(h.abnormal, Color::kRed), Count(h.timeout, Color::kRed),
                Count(h.invalid, Color::kYellow), Count(h.offline, Color::kDim),
                Cell(panic ? "yes" : "no", panic ? Color::kRed : Color::kNone),
                Str(c, "checkType", "-"), Str(c, "version", "-")});
    }
  }
  if (t.rows() == 0) return "no clusters\n";
  return t.Render(color);
}

std::string RenderCluster(const nlohmann::json& cluster, int64_t now_ms, bool color) {
  const bool online = IsOnline(cluster);
  const bool panic = cluster.is_object() && cluster.value("panic", false);
  const HealthCounts h = CountNodes(cluster);
  std::string check = Str(cluster, "checkType", "-");
  if (check == "HTTP") {
    // append, not " " + string: GCC 12 warns (-Wrestrict) falsely on that.
    check.push_back(' ');
    check.append(Str(cluster, "checkFile", "/"));
  }
  std::string out;
  out += "Cluster:  " + Str(cluster, "name") + "\n";
  out += "State:    " +
         Colorize(online ? "ONLINE" : "OFFLINE", color && !online ? Color::kDim : Color::kNone) +
         "\n";
  out += "Check:    " + check + "\n";
  out += "Version:  " + Str(cluster, "version", "-") + " (status " +
         Str(cluster, "statusVersion", "-") + ")\n";
  out +=
      "Panic:    " + Colorize(panic ? "yes" : "no", color && panic ? Color::kRed : Color::kNone) +
      "\n";
  out += "Nodes:    " + std::to_string(h.total) + " (" + std::to_string(h.normal) + " normal, " +
         std::to_string(h.abnormal + h.timeout) + " failing, " + std::to_string(h.invalid) +
         " unchecked, " + std::to_string(h.offline) + " offline)\n\n";
  Table t({"IP", "HTTP", "TCP", "WEIGHT", "ONLINE", "STATUS", "LAST CHECK", "UDATA"});
  t.AlignRight(1);
  t.AlignRight(2);
  t.AlignRight(3);
  if (cluster.is_object() && cluster.contains("nodes") && cluster["nodes"].is_array()) {
    for (const auto& n : cluster["nodes"]) {
      const bool node_online = IsOnline(n);
      const std::string status = Str(n, "status", "INVALID");
      int64_t last = 0;
      if (n.contains("lastCheck") && n["lastCheck"].is_number_integer()) last = n["lastCheck"];
      t.AddRow({Str(n, "ip"), PortOf(n, "HTTP"), PortOf(n, "TCP"), Str(n, "weight", "100"),
                Cell(node_online ? "ONLINE" : "OFFLINE", node_online ? Color::kNone : Color::kDim),
                Cell(status, StatusColor(status, node_online)), FormatAge(last, now_ms),
                Str(n, "udata")});
    }
  }
  if (t.rows() == 0) return out + "no nodes\n";
  return out + t.Render(color);
}

std::string FormatAge(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "never";
  int64_t d = now_ms - then_ms;
  if (d < 0) d = 0;  // clocks of different hosts
  if (d < 1000) return std::to_string(d) + "ms ago";
  d /= 1000;
  if (d < 120) return std::to_string(d) + "s ago";
  d /= 60;
  if (d < 120) return std::to_string(d) + "m ago";
  d /= 60;
  if (d < 48) return std::to_string(d) + "h ago";
  return std::to_string(d / 24) + "d ago";
}

}  // namespace jcm::ctl
