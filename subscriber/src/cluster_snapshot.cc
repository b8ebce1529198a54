#include "subscriber/src/cluster_snapshot.h"

#include "subscriber/src/maglev_table.h"
#include "subscriber/src/smooth_wrr.h"

namespace jcm::internal {
namespace {

// The port a node offers for `protocol`, kAny preferring HTTP.
std::optional<Endpoint> EndpointFor(const Node& node, Protocol protocol) {
  std::optional<uint16_t> http = node.PortFor(jcm::Proto::kHttp);
  std::optional<uint16_t> tcp = node.PortFor(jcm::Proto::kTcp);
  if (http && protocol != Protocol::kTcp) return Endpoint(node.ip, *http, Protocol::kHttp);
  if (tcp && protocol != Protocol::kHttp) return Endpoint(node.ip, *tcp, Protocol::kTcp);
  return std::nullopt;
}

// The candidates of one view, before the (costly) WRR cycle and table.
struct Candidates {
  bool panic = false;
  std::vector<uint32_t> nodes;
  std::vector<Endpoint> endpoints;
  bool operator==(const Candidates&) const = default;
};

Candidates Choose(const Cluster& c, Protocol protocol) {
  Candidates usable, online;
  if (!c.online) return {};
  for (uint32_t i = 0; i < c.nodes.size(); ++i) {
    const Node& n = c.nodes[i];
    std::optional<Endpoint> ep = EndpointFor(n, protocol);
    if (!n.online || !ep) continue;
    online.nodes.push_back(i);
    online.endpoints.push_back(*ep);
    if (n.Usable()) {
      usable.nodes.push_back(i);
      usable.endpoints.push_back(*ep);
    }
  }
  if (!c.panic && !usable.nodes.empty()) return usable;
  online.panic = !online.nodes.empty();
  return online;
}

std::shared_ptr<const ProtocolView> BuildView(const std::shared_ptr<const Cluster>& c,
                                              Candidates cand) {
  std::vector<int> weights;
  weights.reserve(cand.nodes.size());
  for (uint32_t i : cand.nodes) weights.push_back(c->nodes[i].weight);
  auto view = std::make_shared<ProtocolView>(c, cand.panic, std::move(cand.nodes),
                                             std::move(cand.endpoints));
  view->wrr = BuildSmoothWrrSequence(weights);
  return view;
}

NodeHealth ToHealth(NodeStatus s) {
  switch (s) {
    case NodeStatus::kNormal:
      return NodeHealth::kNormal;
    case NodeStatus::kAbnormal:
      return NodeHealth::kAbnormal;
    case NodeStatus::kTimeout:
      return NodeHealth::kTimeout;
    case NodeStatus::kInvalid:
      break;
  }
  return NodeHealth::kInvalid;
}

}  // namespace

ProtocolView::ProtocolView(std::shared_ptr<const Cluster> cluster, bool panic_flag,
                           std::vector<uint32_t> nodes, std::vector<Endpoint> candidate_endpoints)
    : panic(panic_flag),
      endpoints(std::move(candidate_endpoints)),
      cluster_(std::move(cluster)),
      nodes_(std::move(nodes)) {}

const std::vector<uint32_t>& ProtocolView::BuildMaglev() const {
  std::lock_guard<std::mutex> lock(build_mu_);
  if (maglev_built_.load(std::memory_order_relaxed)) return maglev_table_;
  std::vector<std::string> specs;
  std::vector<int> weights;
  specs.reserve(nodes_.size());
  weights.reserve(nodes_.size());
  for (uint32_t i : nodes_) {
    specs.push_back(cluster_->nodes[i].Spec());
    weights.push_back(cluster_->nodes[i].weight);
  }
  if (!specs.empty())
    maglev_table_ = BuildMaglevTable(specs, weights, MaglevTableSize(specs.size()));
  maglev_built_.store(true, std::memory_order_release);
  return maglev_table_;
}

std::shared_ptr<const ClusterSnapshot> ClusterSnapshot::Build(
    std::shared_ptr<const Cluster> cluster, Source source) {
  if (!cluster || source == Source::kNone) return Empty();
  std::shared_ptr<ClusterSnapshot> snap(new ClusterSnapshot());
  snap->cluster_ = std::move(cluster);
  snap->source_ = source;
  // Views often coincide (every node has HTTP: any == HTTP); share them.
  Candidates chosen[3];
  for (size_t k = 0; k < 3; ++k) {
    chosen[k] = Choose(*snap->cluster_, static_cast<Protocol>(k));
    for (size_t j = 0; j < k && !snap->views_[k]; ++j) {
      if (chosen[j] == chosen[k]) snap->views_[k] = snap->views_[j];
    }
    if (!snap->views_[k]) snap->views_[k] = BuildView(snap->cluster_, chosen[k]);
  }
  return snap;
}

std::shared_ptr<const ClusterSnapshot> ClusterSnapshot::Empty() {
  static const std::shared_ptr<const ClusterSnapshot> empty = [] {
    std::shared_ptr<ClusterSnapshot> snap(new ClusterSnapshot());
    auto view = std::make_shared<const ProtocolView>();
    snap->views_ = {view, view, view};
    return snap;
  }();
  return empty;
}

ClusterInfo DescribeSnapshot(const std::string& name, const ClusterSnapshot& snapshot) {
  ClusterInfo info;
  info.name = name;
  info.source = snapshot.source();
  const Cluster* c = snapshot.cluster();
  if (!c) return info;
  info.version = c->version;
  info.status_version = c->status_version;
  info.panic = c->panic;
  for (const Node& n : c->nodes) {
    NodeInfo ni;
    ni.ip = n.ip;
    if (auto p = n.PortFor(jcm::Proto::kHttp)) ni.http_port = *p;
    if (auto p = n.PortFor(jcm::Proto::kTcp)) ni.tcp_port = *p;
    ni.udata = n.udata;
    ni.online = n.online;
    ni.weight = n.weight;
    ni.health = ToHealth(n.status);
    info.nodes.push_back(std::move(ni));
  }
  return info;
}

}  // namespace jcm::internal
