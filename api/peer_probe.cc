#include "api/peer_probe.h"

#include <nlohmann/json.hpp>

#include "model/cluster_codec.h"
#include "model/validation.h"

namespace jcm {

Status ParsePeerProbes(std::string_view body, std::vector<PeerProbe>* out) {
  nlohmann::json doc;
  Status s = ParseJsonText(body, &doc);
  if (!s.ok()) return s;
  if (!doc.is_object()) return Status::InvalidArgument("body: expected a JSON object");
  auto probes = doc.find("probes");
  if (probes == doc.end() || !probes->is_array()) {
    return Status::InvalidArgument("probes: expected an array of {cluster, node}");
  }
  if (probes->empty() || probes->size() > kMaxPeerProbes) {
    return Status::InvalidArgument("probes: " + std::to_string(probes->size()) +
                                   " entries, expected 1-" + std::to_string(kMaxPeerProbes));
  }
  out->clear();
  out->reserve(probes->size());
  for (size_t i = 0; i < probes->size(); ++i) {
    const nlohmann::json& p = (*probes)[i];
    const std::string at = "probes[" + std::to_string(i) + "]";
    if (!p.is_object()) return Status::InvalidArgument(at + ": expected an object");
    PeerProbe probe;
    for (auto [key, dst] : {std::pair<const char*, std::string*>{"cluster", &probe.cluster},
                            std::pair<const char*, std::string*>{"node", &probe.node}}) {
      auto v = p.find(key);
      if (v == p.end() || !v->is_string() || v->get_ref<const std::string&>().empty()) {
        return Status::InvalidArgument(
            at + "." + key + ": expected a non-empty string, got " +
            (v == p.end() ? std::string("nothing") : QuoteForError(v->dump())));
      }
      *dst = v->get<std::string>();
    }
    s = ValidateClusterName(probe.cluster);
    if (!s.ok()) return Status::InvalidArgument(at + ".cluster: " + s.message());
    out->push_back(std::move(probe));
  }
  return Status::Ok();
}

nlohmann::json PeerProbeAnswer(const std::string& self, const std::vector<PeerProbe>& probes,
                               const std::vector<std::string>& outcomes) {
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < probes.size(); ++i) {
    const std::string outcome = i < outcomes.size() ? outcomes[i] : "unknown";
    results.push_back({{"cluster", probes[i].cluster},
                       {"node", probes[i].node},
                       {"outcome", outcome},
                       {"reachable", outcome == "success"}});
  }
  return {{"self", self}, {"results", std::move(results)}};
}

}  // namespace jcm
