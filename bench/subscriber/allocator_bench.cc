// Pick cost of each allocator over 10, 100 and 10,000 nodes, with 1 and 2
// threads picking from the same allocator (and so the same snapshot).
//
//   build/bin/jcm-bench-allocators            (see RESULTS.md for flags)
//
// Each iteration is one pick. items_per_second is the total over all
// threads; Google Benchmark's per-iteration time is per thread.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jcm/allocator.h"
#include "subscriber/src/allocator_access.h"
#include "subscriber/src/cluster_slot.h"

namespace jcm {
namespace {

// One slot per node count, built once: 90% of nodes NORMAL, some weights
// differ (1..10 x 10), HTTP and TCP ports, like a real cluster.
std::shared_ptr<internal::ClusterSlot> SlotWith(int nodes) {
  static std::mutex mu;
  static std::map<int, std::shared_ptr<internal::ClusterSlot>> slots;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = slots[nodes];
  if (!slot) {
    Cluster c;
    c.name = "bench";
    c.version = 1;
    for (int i = 0; i < nodes; ++i) {
      Node n;
      n.ip = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
             std::to_string(i % 256);
      n.protos = {{8080, Proto::kHttp}, {9090, Proto::kTcp}};
      n.weight = (i % 10 + 1) * 10;
      n.status = i % 10 == 9 ? NodeStatus::kAbnormal : NodeStatus::kNormal;
      c.nodes.push_back(std::move(n));
    }
    slot = std::make_shared<internal::ClusterSlot>("bench");
    slot->Publish(internal::ClusterSnapshot::Build(std::make_shared<Cluster>(std::move(c)),
                                                   ClusterInfo::Source::kServer));
  }
  return slot;
}

const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (int i = 0; i < 4096; ++i) k.push_back("user-" + std::to_string(i * 7919));
    return k;
  }();
  return keys;
}

void PickLoop(benchmark::State& state, Policy policy) {
  Allocator a = internal::AllocatorAccess::Make(SlotWith(static_cast<int>(state.range(0))), policy);
  const auto& keys = Keys();
  size_t k = static_cast<size_t>(state.thread_index()) * 1000;
  uint64_t none = 0;
  for (auto _ : state) {
    Pick p = a.Pick(Protocol::kHttp, keys[k++ & 4095]);
    none += !p.ok();
    benchmark::DoNotOptimize(p);
  }
  if (none) state.SkipWithError("a pick returned none");
  state.SetItemsProcessed(state.iterations());
}

void BM_RoundRobin(benchmark::State& state) { PickLoop(state, Policy::kRoundRobin); }
void BM_WeightedRoundRobin(benchmark::State& state) {
  PickLoop(state, Policy::kWeightedRoundRobin);
}
void BM_ConsistentHash(benchmark::State& state) { PickLoop(state, Policy::kConsistentHash); }

// Consistent hash with the key hashed once by the caller (PickByHash).
void BM_ConsistentHashPrehashed(benchmark::State& state) {
  Allocator a = internal::AllocatorAccess::Make(SlotWith(static_cast<int>(state.range(0))),
                                                Policy::kConsistentHash);
  std::vector<uint64_t> hashes;
  for (const auto& key : Keys()) hashes.push_back(Allocator::HashKey(key));
  size_t k = static_cast<size_t>(state.thread_index()) * 1000;
  for (auto _ : state) {
    Pick p = a.PickByHash(Protocol::kHttp, hashes[k++ & 4095]);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// Calibration: pure register arithmetic, no memory shared. Its 2-thread /
// 1-thread ratio is what the machine offers at that moment (other load on
// the 2 cores shows up here first).
void BM_ScalingBaseline(benchmark::State& state) {
  uint64_t x = 88172645463325252ULL + static_cast<uint64_t>(state.thread_index());
  for (auto _ : state) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScalingBaseline)->Threads(1)->Threads(2)->UseRealTime();

// Calibration, throughput-bound: four independent multiply chains keep the
// execution units busy. If the two vCPUs share one physical core (SMT on
// the host), this one scales far below 2x while the latency-bound one
// above still doubles.
void BM_ScalingBaselineIlp(benchmark::State& state) {
  uint64_t a = 1 + static_cast<uint64_t>(state.thread_index()), b = 2, c = 3, d = 4;
  constexpr uint64_t kMul = 6364136223846793005ULL;
  for (auto _ : state) {
    a = a * kMul + 1;
    b = b * kMul + 3;
    c = c * kMul + 5;
    d = d * kMul + 7;
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(c);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScalingBaselineIlp)->Threads(1)->Threads(2)->UseRealTime();

#define JCM_PICK_BENCH(fn) \
  BENCHMARK(fn)->Arg(10)->Arg(100)->Arg(10000)->Threads(1)->Threads(2)->UseRealTime()

JCM_PICK_BENCH(BM_RoundRobin);
JCM_PICK_BENCH(BM_WeightedRoundRobin);
JCM_PICK_BENCH(BM_ConsistentHash);
JCM_PICK_BENCH(BM_ConsistentHashPrehashed);

}  // namespace
}  // namespace jcm

BENCHMARK_MAIN();
