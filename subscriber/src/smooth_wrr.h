// Builds the pick sequence of nginx's smooth weighted round-robin, so that a
// pick is one array read at a per-thread cursor instead of nginx's O(n) walk
// under a lock.
//
// nginx, per pick: every node's `current` grows by its weight; the node with
// the largest `current` (first one on ties) is picked and loses the total
// weight. Worked for weights {a:5, b:1, c:1}, total 7:
//   current after +w   pick  after -7
//   5  1  1            a     -2  1  1
//   3  2  2            a     -4  2  2
//   1  3  3            b      1 -4  3
//   6 -3  4            a     -1 -3  4
//   4 -2  5            c      4 -2 -2
//   9 -1 -1            a      2 -1 -1
//   7  0  0            a      0  0  0   <- back to the start: one cycle
// so the cycle is a a b a c a a.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <vector>

namespace jcm::internal {

// Longest sequence built. Weights whose reduced total exceeds it are scaled
// down proportionally (each node keeps at least one slot), which keeps the
// shares within one slot of exact.
inline constexpr uint64_t kMaxWrrCycle = 1 << 18;

// Returns node indices, one full cycle. `weights` must be >= 1 each.
// Exact nginx order when the cycle is small enough to simulate (total x
// nodes within a work budget); otherwise an earliest-deadline interleaving
// with the same counts per cycle and the same smoothness (each node's picks
// spread evenly), built in O(total log n).
std::vector<uint32_t> BuildSmoothWrrSequence(const std::vector<int>& weights);

}  // namespace jcm::internal
