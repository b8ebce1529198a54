// What one new version of a large cluster costs an instance in memory,
// without ZooKeeper or HTTP: the parts of the write path that still grow
// with the cluster (bench/zk/RESULTS.md).
//
//   build/bin/jcm-bench-version-cost [--benchmark_filter=...]
//
// 20,000 nodes (IPv4, one HTTP port, checkType NONE), allocator tuned as in
// jcm-server. Each iteration is one version.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "model/cluster.h"
#include "model/cluster_text.h"
#include "server/cluster_edit.h"
#include "server/cluster_registry.h"
#include "server/malloc_tuning.h"

namespace jcm {
namespace {

constexpr int kNodes = 20000;

Node NodeAt(int i) {
  Node n;
  n.ip = "10.0." + std::to_string(i >> 8 & 0xff) + "." + std::to_string(i & 0xff);
  if (i >= 65536) n.ip = "11." + n.ip.substr(3);
  n.protos.push_back({8080, Proto::kHttp});
  return n;
}

const Cluster& Base() {
  static const Cluster base = [] {
    Cluster c;
    c.name = "bench";
    c.check_type = CheckType::kNone;
    c.version = 1;
    for (int i = 0; i < kNodes; ++i) {
      c.nodes.push_back(NodeAt(i));
      // As the registry publishes it (checkType NONE: every online node
      // NORMAL), so a version made from it differs only where it is edited.
      c.nodes.Mutable(i).status = NodeStatus::kNormal;
    }
    return c;
  }();
  return base;
}

// The index of Base()'s nodes, as a previous batch would leave it.
std::shared_ptr<const SpecIndex> BaseIndex() {
  Cluster copy = CopyForEdit(Base());
  ClusterEdit e(&copy);
  e.Contains(NodeAt(0).Spec());
  e.Finish();
  return e.TakeIndex();
}

// Copying the node list for a batch, and freeing the copy.
void BM_CopyNodeList(benchmark::State& state) {
  for (auto _ : state) {
    Cluster next = CopyForEdit(Base());
    benchmark::DoNotOptimize(next.nodes.size());
  }
}
BENCHMARK(BM_CopyNodeList)->Unit(benchmark::kMicrosecond);

// Four removals and four additions, as a batch of the registration
// benchmark: copy, edit, order-keeping compaction, and the next index.
// Arg 0: the spec index built from scratch (every batch before it was
// carried); arg 1: carried from the previous version and copied (another
// reference to it is held); arg 2: carried and taken, as the writer takes
// it from the registry (its copy for this iteration made untimed).
void BM_BatchOnCopy(benchmark::State& state) {
  const std::shared_ptr<const SpecIndex> carried = state.range(0) ? BaseIndex() : nullptr;
  for (auto _ : state) {
    std::shared_ptr<const SpecIndex> index = carried;
    if (state.range(0) == 2) {
      state.PauseTiming();
      index = std::make_shared<SpecIndex>(*carried);
      state.ResumeTiming();
    }
    Cluster next = CopyForEdit(Base());
    ClusterEdit e(&next, std::move(index));
    for (int k = 0; k < 4; ++k) {
      e.Remove(Base().nodes[1000 + k * 4000].Spec());
      e.Upsert(NodeAt(kNodes + k));
    }
    e.Finish();
    benchmark::DoNotOptimize(e.TakeIndex());
  }
}
BENCHMARK(BM_BatchOnCopy)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

// Publishing a version in the registry (status merge, panic count) and
// freeing the one it replaces; the copy it is given is made untimed.
void BM_RegistryApply(benchmark::State& state) {
  ClusterRegistry registry;
  int64_t version = 1;
  for (auto _ : state) {
    state.PauseTiming();
    Cluster next = CopyForEdit(Base());
    next.version = ++version;
    state.ResumeTiming();
    registry.ApplyDefinition(std::move(next), 1);
  }
}
BENCHMARK(BM_RegistryApply)->Unit(benchmark::kMicrosecond);

// Encoding a version for GET /c and /sub (the full form, 1.3 MB of JSON):
// once per version and instance, when anyone asks for it.
void BM_EncodeFullText(benchmark::State& state) {
  for (auto _ : state) {
    std::string text = EncodeClusterText(Base(), ClusterJsonForm::kFull, InvalidUtf8::kReplace);
    benchmark::DoNotOptimize(text.size());
  }
}
BENCHMARK(BM_EncodeFullText)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace jcm

int main(int argc, char** argv) {
  jcm::TuneMallocForLargeClusters();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
