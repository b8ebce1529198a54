#include "subscriber/src/hash.h"

#include <xxhash.h>

namespace jcm::internal {

uint64_t Hash64(std::string_view data, uint64_t seed) {
  return XXH64(data.data(), data.size(), seed);
}

}  // namespace jcm::internal
