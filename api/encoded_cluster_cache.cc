#include "api/encoded_cluster_cache.h"

#include "api/http_reply.h"
#include "model/cluster_codec.h"
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

std::shared_ptr<const EncodedCluster> EncodedClusterCache::Get(const ClusterPtr& cluster) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(cluster->name);
  if (it != by_name_.end() && it->second->cluster() == cluster) return it->second;
  if (it == by_name_.end() && by_name_.size() >= max_entries_) by_name_.clear();
  auto entry = std::make_shared<const EncodedCluster>(cluster);
  by_name_[cluster->name] = entry;
  return entry;
}

}  // namespace jcm
