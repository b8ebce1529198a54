#include "healthcheck/xxhash64.h"

#include <xxhash.h>

namespace jcm {

uint64_t XxHash64(std::string_view data, uint64_t seed) {
  return XXH64(data.data(), data.size(), seed);
}

}  // namespace jcm
