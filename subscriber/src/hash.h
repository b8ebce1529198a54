// A fixed 64-bit hash for consistent hashing. Every client must place keys
// and nodes identically, so this never depends on std::hash, the platform or
// the process: the same bytes and seed give the same value everywhere.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace jcm::internal {

// Mixes 8-byte little-endian words with multiply/rotate rounds and ends with
// an avalanche step, so nearby keys ("user-1", "user-2") land far apart.
uint64_t Hash64(std::string_view data, uint64_t seed = 0);

// The final avalanche alone: spreads the bits of an integer.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace jcm::internal
