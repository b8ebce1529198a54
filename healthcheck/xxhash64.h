// XXH64 (xxHash, 64-bit variant), implemented here from the published
// algorithm so that every jcm instance, on every platform and compiler, hashes
// a name to the same value. std::hash gives no such promise, which would let
// two instances build different rings from the same member set.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <string_view>

namespace jcm {

uint64_t XxHash64(std::string_view data, uint64_t seed = 0);

}  // namespace jcm
