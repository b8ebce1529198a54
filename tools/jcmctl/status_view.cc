#include "tools/jcmctl/status_view.h"

#include <cstdio>

#include "tools/jcmctl/table.h"

namespace jcm::ctl {
namespace {

std::string Str(const nlohmann::json& obj, const char* key, const std::string& fallback = "-") {
  if (obj.is_object() && obj.contains(key)) {
    const auto& v = obj[key];
    if (v.is_string()) return v.get<std::string>();
    if (!v.is_null()) return v.dump();
  }
  return fallback;
}

// Clusters a member's checker holds; -1 when unknown (no answer, or a
// server without health checking).
int Checking(const std::map<std::string, nlohmann::json>& member_status,
             const std::string& address) {
  auto it = member_status.find(address);
  if (it == member_status.end() || !it->second.is_object()) return -1;
  const auto& s = it->second;
  if (!s.contains("health") || !s["health"].is_object()) return -1;
  const auto& h = s["health"];
  if (!h.contains("checking") || !h["checking"].is_array()) return -1;
  return static_cast<int>(h["checking"].size());
}

struct Share {
  std::string address, id;
  int checking;
  double share;  // < 0 unknown
};

std::vector<Share> Shares(const nlohmann::json& status,
                          const std::map<std::string, nlohmann::json>& member_status) {
  std::vector<Share> out;
  int total = 0;
  if (status.contains("members") && status["members"].is_array()) {
    for (const auto& m : status["members"]) {
      Share s{Str(m, "address", ""), Str(m, "id", ""), 0, -1};
      s.checking = Checking(member_status, s.address);
      if (s.checking > 0) total += s.checking;
      out.push_back(s);
    }
  }
  for (Share& s : out) {
    if (s.checking >= 0) s.share = total > 0 ? static_cast<double>(s.checking) / total : 0.0;
  }
  return out;
}

}  // namespace

std::string RenderStatus(const nlohmann::json& status,
                         const std::map<std::string, nlohmann::json>& member_status, bool color) {
  const std::string zk = Str(status, "zookeeper");
  const std::string leader = Str(status, "leader", "none");
  std::string out;
  out += "Answered by: " + Str(status, "self") + " (" + Str(status, "selfId") + ")\n";
  out += "Leader:      " +
         Colorize(leader, color ? (leader == "none" ? Color::kRed : Color::kGreen) : Color::kNone) +
         "\n";
  out += "ZooKeeper:   " +
         Colorize(zk, color ? (zk == "CONNECTED" ? Color::kGreen : Color::kRed) : Color::kNone) +
         "\n";
  out += "Clusters:    " + Str(status, "clusters") + "\n\n";
  Table t({"MEMBER", "ADDRESS", "ROLE", "CHECKING", "SHARE"});
  t.AlignRight(3);
  t.AlignRight(4);
  for (const Share& s : Shares(status, member_status)) {
    std::string share = "?";
    if (s.share >= 0) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.0f%%", s.share * 100);
      share = buf;
    }
    const bool is_leader = s.address == leader;
    t.AddRow({s.id, s.address,
              Cell(is_leader ? "leader" : "follower", is_leader ? Color::kGreen : Color::kNone),
              s.checking >= 0 ? std::to_string(s.checking) : Cell("?", Color::kYellow), share});
  }
  if (t.rows() == 0) return out + "no members\n";
  return out + t.Render(color);
}

nlohmann::json StatusJson(const nlohmann::json& status,
                          const std::map<std::string, nlohmann::json>& member_status) {
  nlohmann::json out = status;
  nlohmann::json shares = nlohmann::json::array();
  for (const Share& s : Shares(status, member_status)) {
    shares.push_back({{"address", s.address},
                      {"id", s.id},
                      {"checking", s.checking >= 0 ? nlohmann::json(s.checking) : nullptr},
                      {"share", s.share >= 0 ? nlohmann::json(s.share) : nullptr}});
  }
  out["checkerShare"] = std::move(shares);
  return out;
}

}  // namespace jcm::ctl
