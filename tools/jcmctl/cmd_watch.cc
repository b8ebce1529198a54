// jcmctl watch: long-polls /sub (extended form, docs/subscribe-protocol.md)
// for one cluster and prints one line per node change on stdout. The first
// answer is the baseline (summarised on stderr); later answers are diffed
// against what is held; it asks for delta replies (RESP_DELTA: the changed
// nodes only). RESP_STATUS only lists the unusable specs, so the
// exact statuses are then read with GET /c/{name} when it is at the same
// version, falling back to the list.
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "tools/jcmctl/commands.h"
#include "tools/jcmctl/exit_codes.h"
#include "tools/jcmctl/node_change.h"

namespace jcm::ctl {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t Int(const nlohmann::json& obj, const char* key) {
  if (obj.is_object() && obj.contains(key) && obj[key].is_number_integer()) {
    return obj[key].get<int64_t>();
  }
  return 0;
}

class Watcher {
 public:
  Watcher(const Context& ctx, const WatchArgs& args) : ctx_(ctx), args_(args), api_(ctx.Api()) {}

  int Run() {
    const auto wait = std::chrono::milliseconds(args_.wait_ms);
    bool warned_down = false;
    while (true) {
      const nlohmann::json request = {
          {"tag", "jcmctl watch"},
          {"ext", 1},
          {"delta", 1},  // a new version as its changed nodes (an older server ignores it)
          {"waitMs", args_.wait_ms},
          {"units", {{{"name", args_.name}, {"version", version_}, {"statusVersion", status_}}}}};
      const auto sent = std::chrono::steady_clock::now();
      Result<ApiReply> reply =
          api_.Send("POST", "/sub", request.dump(), wait + std::chrono::seconds(5));
      if (!reply.ok()) {
        // Keep watching through an outage; say so once.
        if (!warned_down)
          std::fprintf(stderr, "jcmctl watch: %s; retrying\n", reply.status().message().c_str());
        warned_down = true;
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      warned_down = false;
      const ApiReply& r = reply.value();
      if (r.http_status != 200 || !r.body.is_object() || !r.body.contains("units") ||
          !r.body["units"].is_array() || r.body["units"].empty()) {
        return Fail("watch " + args_.name, ReplyError(r));
      }
      const nlohmann::json& unit = r.body["units"][0];
      const std::string kind = unit.value("kind", "");
      bool idle = false;
      if (kind == "RESP_UPDATE") {
        OnUpdate(unit.contains("cluster") ? unit["cluster"] : nlohmann::json());
      } else if (kind == "RESP_DELTA") {
        OnDelta(unit);
      } else if (kind == "RESP_STATUS") {
        OnStatus(unit);
      } else if (kind == "RESP_REMOVE") {
        OnRemove();
        idle = true;  // answered at once, not parked: do not spin
      } else {
        // RESP_NOCHANGE sooner than asked: the server did not park us.
        idle = std::chrono::steady_clock::now() - sent < wait / 2;
      }
      if (args_.max_changes > 0 && printed_ >= args_.max_changes) return kExitOk;
      if (idle) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

 private:
  void OnUpdate(const nlohmann::json& cluster) {
    version_ = Int(cluster, "version");
    status_ = Int(cluster, "statusVersion");
    NodeStates now = StatesOfCluster(cluster);
    if (!baseline_) {
      baseline_ = true;
      int usable = 0;
      for (const auto& [spec, s] : now) usable += s.usable();
      std::fprintf(stderr, "watching %s: %zu nodes, %d usable (version %lld)\n", args_.name.c_str(),
                   now.size(), usable, static_cast<long long>(version_));
    } else {
      Print(DiffNodes(held_, now));
    }
    held_ = std::move(now);
  }

  void OnDelta(const nlohmann::json& unit) {
    const nlohmann::json cluster = unit.contains("cluster") ? unit["cluster"] : nlohmann::json();
    if (!baseline_ || Int(unit, "baseVersion") != version_ ||
        Int(unit, "baseStatusVersion") != status_ || !cluster.is_object()) {
      // Not made from what this watch holds: ask for the whole cluster.
      version_ = status_ = 0;
      return;
    }
    NodeStates now =
        ApplyDelta(held_, unit.contains("removed") ? unit["removed"] : nlohmann::json(), cluster);
    version_ = Int(cluster, "version");
    status_ = Int(cluster, "statusVersion");
    Print(DiffNodes(held_, now));
    held_ = std::move(now);
  }

  void OnStatus(const nlohmann::json& unit) {
    status_ = Int(unit, "statusVersion");
    NodeStates now;
    Result<nlohmann::json> full = api_.Call("GET", "/c/" + PathEscape(args_.name));
    if (full.ok() && Int(full.value(), "version") == version_) {
      now = StatesOfCluster(full.value());
    } else {
      std::set<std::string> invalids;
      if (unit.contains("invalids") && unit["invalids"].is_array()) {
        for (const auto& s : unit["invalids"]) {
          if (s.is_string()) invalids.insert(s.get<std::string>());
        }
      }
      now = ApplyInvalids(held_, invalids);
    }
    Print(DiffNodes(held_, now));
    held_ = std::move(now);
  }

  void OnRemove() {
    if (!baseline_ && !said_missing_) {
      std::fprintf(stderr, "cluster %s does not exist; waiting for it\n", args_.name.c_str());
      said_missing_ = true;
    }
    if (baseline_ && version_ != 0) {
      // A recreated cluster then shows its nodes as added.
      Print(DiffNodes(held_, {}));
      held_.clear();
    }
    // Seen once, even if missing: a cluster created later is news.
    baseline_ = true;
    version_ = status_ = 0;
  }

  void Print(const std::vector<NodeChange>& changes) {
    const int64_t now = NowMs();
    for (const NodeChange& c : changes) {
      if (ctx_.json) {
        std::printf("%s\n", ChangeJson(now, args_.name, c).dump().c_str());
      } else {
        std::printf("%s\n", FormatChangeLine(now, args_.name, c).c_str());
      }
      ++printed_;
    }
    std::fflush(stdout);  // a pipe or file reader sees each change at once
  }

  const Context& ctx_;
  const WatchArgs& args_;
  ApiClient api_;
  int64_t version_ = 0, status_ = 0;
  bool baseline_ = false, said_missing_ = false;
  NodeStates held_;
  int printed_ = 0;
};

}  // namespace

int RunWatch(const Context& ctx, const WatchArgs& args) { return Watcher(ctx, args).Run(); }

}  // namespace jcm::ctl
