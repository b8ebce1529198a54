#include "subscriber/src/hash.h"

namespace jcm::internal {
namespace {

constexpr uint64_t kMul1 = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio
constexpr uint64_t kMul2 = 0xbf58476d1ce4e5b9ULL;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// Explicit little-endian load: the hash must not depend on the host's order.
inline uint64_t Load64(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

uint64_t Hash64(std::string_view data, uint64_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint64_t h = seed ^ (n * kMul1);
  while (n >= 8) {
    uint64_t k = Load64(p, 8);
    k *= kMul2;
    k = Rotl(k, 31);
    k *= kMul1;
    h ^= k;
    h = Rotl(h, 27) * 5 + 0x52dce729;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t k = Load64(p, n);
    k *= kMul2;
    k = Rotl(k, 31);
    k *= kMul1;
    h ^= k;
  }
  return Mix64(h ^ data.size());
}

}  // namespace jcm::internal
