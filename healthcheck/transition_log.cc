#include "healthcheck/transition_log.h"

#include <nlohmann/json.hpp>

namespace jcm {

void TransitionLog::Record(const std::string& cluster, const std::string& spec, Transition t) {
  std::lock_guard lock(mu_);
  ++recorded_;
  if (t.reason == "held") ++held_;
  std::deque<Transition>& d = log_[cluster][spec];
  d.push_back(std::move(t));
  ++entries_;
  if (d.size() > kPerNode) {
    d.pop_front();
    --entries_;
  }
}

void TransitionLog::ForgetCluster(const std::string& cluster) {
  std::lock_guard lock(mu_);
  auto it = log_.find(cluster);
  if (it == log_.end()) return;
  for (const auto& [spec, d] : it->second) entries_ -= d.size();
  log_.erase(it);
}

void TransitionLog::ForgetNode(const std::string& cluster, const std::string& spec) {
  std::lock_guard lock(mu_);
  auto it = log_.find(cluster);
  if (it == log_.end()) return;
  auto n = it->second.find(spec);
  if (n == it->second.end()) return;
  entries_ -= n->second.size();
  it->second.erase(n);
  if (it->second.empty()) log_.erase(it);
}

nlohmann::json TransitionLog::Json(const std::string& cluster) const {
  nlohmann::json nodes = nlohmann::json::object();
  std::lock_guard lock(mu_);
  auto it = log_.find(cluster);
  if (it != log_.end()) {
    for (const auto& [spec, d] : it->second) {
      nlohmann::json list = nlohmann::json::array();
      for (const Transition& t : d) {
        list.push_back({{"at", t.at_ms},
                        {"from", ToString(t.from)},
                        {"to", ToString(t.to)},
                        {"reason", t.reason}});
      }
      nodes[spec] = std::move(list);
    }
  }
  return {{"cluster", cluster}, {"nodes", std::move(nodes)}};
}

nlohmann::json TransitionLog::Summary() const {
  std::lock_guard lock(mu_);
  size_t nodes = 0;
  for (const auto& [cluster, m] : log_) nodes += m.size();
  return {{"clusters", log_.size()},
          {"nodes", nodes},
          {"entries", entries_},
          {"recorded", recorded_},
          {"held", held_}};
}

}  // namespace jcm
