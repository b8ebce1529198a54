// What one new version of a cluster costs a subscriber, by how it arrives:
// the whole cluster (RESP_UPDATE: parse and decode the full form) or the
// changed nodes (RESP_DELTA: decode them and apply them to the version
// held), and then the snapshot every pick reads (ClusterSnapshot::Build:
// candidates, smooth-WRR cycle and Maglev table per protocol).
//
//   build/bin/jcm-bench-version-apply
//
// Clusters of 2,000 and 20,000 nodes, HTTP + TCP ports, all NORMAL; a
// version changes 14 nodes (what one ZooKeeper write carries in
// bench/zk at 64 clients): 7 removed, 7 added.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "model/cluster_codec.h"
#include "model/cluster_delta.h"
#include "model/cluster_text.h"
#include "subscriber/src/cluster_snapshot.h"

namespace jcm {
namespace {

Node NodeAt(int i) {
  Node n;
  n.ip = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
         std::to_string(i % 256);
  n.protos = {{8080, Proto::kHttp}, {9090, Proto::kTcp}};
  n.status = NodeStatus::kNormal;
  return n;
}

Cluster Base(int nodes) {
  Cluster c;
  c.name = "bench";
  c.version = 1;
  for (int i = 0; i < nodes; ++i) c.nodes.push_back(NodeAt(i));
  return c;
}

// The next version's fields with the 7 added nodes, and the 7 removed specs.
struct Delta {
  Cluster fields;
  std::vector<std::string> removed;
  std::string text;  // the cluster member of the RESP_DELTA unit
};
Delta MakeDelta(const Cluster& base) {
  Delta d;
  d.fields = base;
  d.fields.version = 2;
  d.fields.nodes.clear();
  for (int i = 0; i < 7; ++i) {
    d.fields.nodes.push_back(NodeAt(1000000 + i));
    d.removed.push_back(base.nodes[static_cast<size_t>(i * 97)].Spec());
  }
  d.text = EncodeClusterText(d.fields, ClusterJsonForm::kFull, InvalidUtf8::kStrict);
  return d;
}

void BM_WholeClusterDecode(benchmark::State& state) {
  const std::string text = EncodeClusterText(Base(static_cast<int>(state.range(0))),
                                             ClusterJsonForm::kFull, InvalidUtf8::kStrict);
  for (auto _ : state) {
    nlohmann::json doc;
    if (!ParseJsonText(text, &doc).ok()) state.SkipWithError("parse");
    Cluster c;
    if (!DecodeCluster(doc, &c).ok()) state.SkipWithError("decode");
    benchmark::DoNotOptimize(c.nodes.size());
  }
  state.SetLabel(std::to_string(text.size()) + " bytes");
}
BENCHMARK(BM_WholeClusterDecode)->Arg(2000)->Arg(20000)->Unit(benchmark::kMillisecond);

void BM_DeltaDecodeAndApply(benchmark::State& state) {
  const Cluster base = Base(static_cast<int>(state.range(0)));
  const Delta delta = MakeDelta(base);
  for (auto _ : state) {
    nlohmann::json doc;
    if (!ParseJsonText(delta.text, &doc).ok()) state.SkipWithError("parse");
    Cluster fields;
    if (!DecodeCluster(doc, &fields).ok()) state.SkipWithError("decode");
    Cluster next;
    if (!ApplyClusterDelta(base, fields, delta.removed, &next).ok()) state.SkipWithError("apply");
    benchmark::DoNotOptimize(next.nodes.size());
  }
  state.SetLabel(std::to_string(delta.text.size()) + " bytes");
}
BENCHMARK(BM_DeltaDecodeAndApply)->Arg(2000)->Arg(20000)->Unit(benchmark::kMillisecond);

void BM_SnapshotBuild(benchmark::State& state) {
  auto cluster = std::make_shared<const Cluster>(Base(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    auto snap = internal::ClusterSnapshot::Build(cluster, ClusterInfo::Source::kServer);
    benchmark::DoNotOptimize(snap.get());
  }
}
BENCHMARK(BM_SnapshotBuild)->Arg(2000)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace jcm

BENCHMARK_MAIN();
