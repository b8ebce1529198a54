#include "server/malloc_tuning.h"

#include <malloc.h>

namespace jcm {

void TuneMallocForLargeClusters() {
#if defined(__GLIBC__)
  // 32 MiB is the largest threshold glibc takes on 64-bit; blocks above it
  // (a single cluster of ~200,000 nodes) still get their own mapping.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  // Free memory at the top of a heap is handed back only past 512 MiB.
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

}  // namespace jcm
