#include "tools/jcmctl/history_view.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

#include "tools/jcmctl/table.h"

namespace jcm::ctl {
namespace {

struct Row {
  int64_t at = 0;
  std::string spec, from, to, reason;
};

std::string Text(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return "";
  const auto& v = obj[key];
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

Color StatusColor(const std::string& status) {
  if (status == "NORMAL") return Color::kGreen;
  if (status == "ABNORMAL" || status == "TIMEOUT") return Color::kRed;
  return Color::kYellow;
}

}  // namespace

std::string FormatUtc(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string RenderHistory(const nlohmann::json& history, bool color) {
  std::set<std::string> suspects;
  if (history.is_object() && history.contains("suspects") && history["suspects"].is_array()) {
    for (const auto& s : history["suspects"]) {
      if (s.is_string()) suspects.insert(s.get<std::string>());
    }
  }
  std::vector<Row> rows;
  if (history.is_object() && history.contains("nodes") && history["nodes"].is_object()) {
    for (const auto& [spec, list] : history["nodes"].items()) {
      if (!list.is_array()) continue;
      for (const auto& t : list) {
        int64_t at = 0;
        if (t.is_object() && t.contains("at") && t["at"].is_number_integer()) at = t["at"];
        rows.push_back({at, spec, Text(t, "from"), Text(t, "to"), Text(t, "reason")});
      }
    }
  }
  // Newest first; equal times keep the server's order (per node oldest
  // first, so reversed here too).
  std::reverse(rows.begin(), rows.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.at > b.at; });

  std::string out = "Cluster:     " + Text(history, "cluster") + "\n";
  const bool checking = history.is_object() && history.value("checking", false);
  out += "Checked by:  " +
         (checking ? Text(history, "owner")
                   : "not " + Text(history, "owner") + " (it records no transitions)") +
         "\n\n";
  if (rows.empty()) {
    out += "no transitions recorded on this instance\n";
  } else {
    Table t({"TIME (UTC)", "NODE", "CHANGE", "REASON"});
    for (const Row& r : rows) {
      const bool suspect = suspects.count(r.spec) > 0;
      // "FROM → TO"; the colour goes on the whole cell (padding comes first).
      t.AddRow(
          {FormatUtc(r.at),
           Cell(suspect ? r.spec + " (suspect)" : r.spec, suspect ? Color::kYellow : Color::kNone),
           Cell(r.from + " \u2192 " + r.to, StatusColor(r.to)),
           Cell(r.reason, r.reason == "held" ? Color::kYellow : Color::kNone)});
    }
    out += t.Render(color);
  }
  if (!suspects.empty()) {
    out += "\nSuspect (NORMAL: this instance's checks fail, another instance reaches it):\n";
    for (const std::string& s : suspects)
      out += "  " + Colorize(s, color ? Color::kYellow : Color::kNone) + "\n";
  }
  return out;
}

}  // namespace jcm::ctl
