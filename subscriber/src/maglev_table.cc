#include "subscriber/src/maglev_table.h"

#include <algorithm>
#include <numeric>

#include "subscriber/src/hash.h"

namespace jcm::internal {
namespace {

constexpr uint64_t kOffsetSeed = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kSkipSeed = 0xbb67ae8584caa73bULL;
constexpr uint32_t kUnset = UINT32_MAX;

}  // namespace

uint32_t MaglevTableSize(size_t node_count) {
  // Primes, roughly doubling; the last bounds memory at ~16 MB per table.
  static constexpr uint32_t kPrimes[] = {65537, 131071, 262139, 524287, 1048573, 2097143, 4194301};
  for (uint32_t p : kPrimes) {
    if (p >= 20 * static_cast<uint64_t>(node_count)) return p;
  }
  return kPrimes[std::size(kPrimes) - 1];
}

std::vector<uint32_t> BuildMaglevTable(const std::vector<std::string>& keys,
                                       const std::vector<int>& weights, uint32_t table_size) {
  const size_t n = keys.size();
  if (n == 0 || table_size == 0) return {};
  // Place nodes in spec order so the input order does not matter.
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return keys[a] < keys[b]; });

  struct Perm {
    uint64_t offset, skip, next = 0, placed = 0, weight;
  };
  std::vector<Perm> perm(n);
  uint64_t max_weight = 1;
  for (size_t j = 0; j < n; ++j) {
    uint32_t i = order[j];
    perm[j].offset = Hash64(keys[i], kOffsetSeed) % table_size;
    perm[j].skip = Hash64(keys[i], kSkipSeed) % (table_size - 1) + 1;
    perm[j].weight = static_cast<uint64_t>(std::max(weights[i], 1));
    max_weight = std::max(max_weight, perm[j].weight);
  }
  std::vector<uint32_t> table(table_size, kUnset);
  uint64_t filled = 0;
  for (uint64_t round = 1; filled < table_size; ++round) {
    for (size_t j = 0; j < n && filled < table_size; ++j) {
      Perm& p = perm[j];
      // Take a slot iff placed/round < weight/max_weight.
      if (p.placed * max_weight >= round * p.weight) continue;
      uint64_t slot;
      do {
        slot = (p.offset + p.next * p.skip) % table_size;
        ++p.next;
      } while (table[slot] != kUnset);
      table[slot] = order[j];
      ++p.placed;
      ++filled;
    }
  }
  return table;
}

}  // namespace jcm::internal
