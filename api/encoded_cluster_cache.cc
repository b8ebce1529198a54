#include "api/encoded_cluster_cache.h"

#include "api/http_reply.h"
#include "model/cluster_codec.h"
#include "model/cluster_delta.h"
#include "model/cluster_text.h"

namespace jcm {

const std::string& EncodedCluster::Full() const { return Build(kFullText); }
const std::string& EncodedCluster::Jcm() const { return Build(kJcmText); }
const std::string& EncodedCluster::Invalids() const { return Build(kInvalidsText); }

const std::string& EncodedCluster::Build(Text which) const {
  std::call_once(once_[which], [&] {
    switch (which) {
      case kFullText:
        // DumpJson(EncodeCluster(...)) byte for byte, without the DOM (the
        // DOM took ~50 ms per version of a 20,000-node cluster).
        text_[which] = EncodeClusterText(*cluster_, ClusterJsonForm::kFull, InvalidUtf8::kReplace);
        break;
      case kJcmText:
        text_[which] = EncodeClusterText(*cluster_, ClusterJsonForm::kJcm, InvalidUtf8::kReplace);
        break;
      default: {
        nlohmann::json invalids = nlohmann::json::array();
        for (const Node& node : cluster_->nodes) {
          if (!node.Usable()) invalids.push_back(node.Spec());
        }
        text_[which] = DumpJson(invalids);
      }
    }
  });
  return text_[which];
}

namespace {

// The delta's members (see DeltaFrom), or null if not worth sending.
std::shared_ptr<const std::string> BuildDelta(const Cluster& base, const Cluster& next,
                                              size_t* nodes_read) {
  ClusterDiff diff = DiffClusters(base, next);
  *nodes_read = diff.nodes_read;
  if ((diff.set.size() + diff.removed.size()) * 2 > next.nodes.size()) return nullptr;
  Cluster changed = next;  // the cluster's own fields; shares the node chunks
  std::vector<Node> set;
  set.reserve(diff.set.size());
  for (const Node* n : diff.set) set.push_back(*n);
  changed.nodes = NodeList(std::move(set));
  auto text = std::make_shared<std::string>();
  *text += R"("baseVersion":)";
  *text += std::to_string(base.version);
  *text += R"(,"baseStatusVersion":)";
  *text += std::to_string(base.status_version);
  *text += R"(,"removed":)";
  *text += DumpJson(diff.removed);
  *text += R"(,"cluster":)";
  *text += EncodeClusterText(changed, ClusterJsonForm::kFull, InvalidUtf8::kReplace);
  return text;
}

}  // namespace

std::shared_ptr<const std::string> EncodedCluster::DeltaFrom(const ClusterPtr& base,
                                                             size_t* nodes_read) const {
  *nodes_read = 0;
  std::lock_guard<std::mutex> lock(delta_mu_);
  for (const auto& [held, text] : deltas_) {
    if (held == base) return text;
  }
  // Built under the lock: the subscribers that held the same version ask
  // together, and one diff serves them all.
  std::shared_ptr<const std::string> text = BuildDelta(*base, *cluster_, nodes_read);
  if (deltas_.size() >= kDeltaBases) deltas_.erase(deltas_.begin());
  deltas_.emplace_back(base, text);
  return text;
}

std::shared_ptr<const EncodedCluster> EncodedClusterCache::Get(const ClusterPtr& cluster) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(cluster->name);
  if (it != by_name_.end() && it->second.current->cluster() == cluster) return it->second.current;
  if (it == by_name_.end() && by_name_.size() >= max_entries_) by_name_.clear();
  Named& named = by_name_[cluster->name];
  if (named.current) {
    named.earlier.push_front(named.current->cluster());
    if (named.earlier.size() > kHistory) named.earlier.pop_back();
  }
  named.current = std::make_shared<const EncodedCluster>(cluster);
  return named.current;
}

ClusterPtr EncodedClusterCache::Find(const std::string& name, int64_t version,
                                     int64_t status_version) const {
  auto matches = [&](const ClusterPtr& c) {
    return c->version == version && c->status_version == status_version;
  };
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  if (matches(it->second.current->cluster())) return it->second.current->cluster();
  for (const ClusterPtr& c : it->second.earlier) {
    if (matches(c)) return c;
  }
  return nullptr;
}

}  // namespace jcm
