#include "subscriber/src/smooth_wrr.h"

#include <algorithm>
#include <numeric>
#include <queue>
#include <tuple>

namespace jcm::internal {
namespace {

// Simulating nginx costs total x nodes steps; beyond this the build would
// stall the poller thread for too long.
constexpr uint64_t kExactWorkBudget = 1 << 22;

std::vector<uint32_t> NginxCycle(const std::vector<uint64_t>& w, uint64_t total) {
  std::vector<int64_t> current(w.size(), 0);
  std::vector<uint32_t> seq;
  seq.reserve(total);
  for (uint64_t step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      current[i] += static_cast<int64_t>(w[i]);
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<int64_t>(total);
    seq.push_back(static_cast<uint32_t>(best));
  }
  return seq;
}

// Node i's k-th pick (k = 0, 1, ...) is due at (k + 1/2) / w_i of the cycle;
// picks go in due order, ties to the lower index. Compared as fractions
// (2k + 1) / (2 w_i) to stay exact.
std::vector<uint32_t> DeadlineCycle(const std::vector<uint64_t>& w, uint64_t total) {
  using Entry = std::tuple<uint64_t, uint64_t, uint32_t>;  // num, den, node
  auto later = [](const Entry& a, const Entry& b) {
    // a is later than b: a.num / a.den > b.num / b.den, ties by index.
    unsigned __int128 l = static_cast<unsigned __int128>(std::get<0>(a)) * std::get<1>(b);
    unsigned __int128 r = static_cast<unsigned __int128>(std::get<0>(b)) * std::get<1>(a);
    if (l != r) return l > r;
    return std::get<2>(a) > std::get<2>(b);
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(later)> heap(later);
  for (uint32_t i = 0; i < w.size(); ++i) heap.emplace(1, 2 * w[i], i);
  std::vector<uint32_t> seq;
  seq.reserve(total);
  while (seq.size() < total) {
    auto [num, den, node] = heap.top();
    heap.pop();
    seq.push_back(node);
    heap.emplace(num + 2, den, node);
  }
  return seq;
}

}  // namespace

std::vector<uint32_t> BuildSmoothWrrSequence(const std::vector<int>& weights) {
  if (weights.empty()) return {};
  uint64_t g = 0;
  for (int x : weights) g = std::gcd(g, static_cast<uint64_t>(std::max(x, 1)));
  std::vector<uint64_t> w(weights.size());
  uint64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    w[i] = static_cast<uint64_t>(std::max(weights[i], 1)) / g;
    total += w[i];
  }
  if (total > kMaxWrrCycle) {
    // Scale down, keeping at least one slot per node.
    uint64_t budget = std::max<uint64_t>(kMaxWrrCycle, w.size());
    uint64_t scaled_total = 0;
    for (auto& x : w) {
      x = std::max<uint64_t>(1, x * budget / total);
      scaled_total += x;
    }
    total = scaled_total;
  }
  if (total * w.size() <= kExactWorkBudget) return NginxCycle(w, total);
  return DeadlineCycle(w, total);
}

}  // namespace jcm::internal
