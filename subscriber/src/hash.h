// The 64-bit hash of consistent hashing: XXH64 from Debian's libxxhash.
// Every client, in any language, must place keys and nodes identically, so
// this never depends on std::hash, the platform or the process: XXH64 is
// specified, byte-order independent and available everywhere.
// docs/subscribe-protocol.md ("Consistent hashing") spells out how keys and
// nodes are hashed and placed, so another client can place keys like ours.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace jcm::internal {

// XXH64(data, seed).
uint64_t Hash64(std::string_view data, uint64_t seed = 0);

// An integer finaliser (MurmurHash3's fmix64): spreads the bits of an integer. Used
// only to stagger per-thread round-robin cursors, never for placement.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace jcm::internal
