// XxHash64: the XXH64 hash (xxHash, 64-bit variant) from Debian's libxxhash.
// Every jcm instance, on every platform and compiler, must hash a name to the
// same value; std::hash gives no such promise, which would let two instances
// build different rings from the same member set. XXH64 is specified and
// byte-order independent, so the ring is the same everywhere.
//
// A thin wrapper so callers pass a string_view and never include xxhash.h.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <string_view>

namespace jcm {

uint64_t XxHash64(std::string_view data, uint64_t seed = 0);

}  // namespace jcm
