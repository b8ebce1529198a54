// How jcm-server asks glibc's allocator to treat large blocks.
//
// Why: each version of a large cluster is a few contiguous megabytes (a
// 20,000-node vector of Node is about 2.7 MB), built and freed several times
// per write batch on every instance. By default glibc serves such a block
// with a fresh mmap() and returns it with munmap() (or trims the heap top
// back to the kernel), so every new version faulted in its pages again:
// page faults were 17 % of the three servers' CPU in the write benchmark at
// 20,000 nodes (bench/zk/RESULTS.md). Keeping large blocks in the heap and
// not trimming it lets the next version reuse the memory the last one freed.
//
// The cost: the process keeps the memory its largest clusters needed at
// their peak instead of handing it back.
#pragma once

namespace jcm {

// Call once, at start-up, before other threads allocate.
void TuneMallocForLargeClusters();

}  // namespace jcm
