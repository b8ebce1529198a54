// A weighted Maglev lookup table (Eisenbud et al., NSDI 2016): a key's hash
// picks one of M slots, each slot names a node. Lookups are one array read,
// which keeps a consistent-hash pick in the tens of nanoseconds even for
// 10,000 nodes, where a ketama ring would binary-search ~1.6M points.
//
// Every client must build the same table from the same nodes, so nodes are
// placed in order of their spec (not of the document) and hashed with the
// fixed Hash64. Removing one of N nodes moves that node's keys plus a small
// share of others (a few percent), about 1/N in all.
//
// Weights: in each round every node whose placed share lags its weight's
// share takes its next preferred free slot; the heaviest node takes one
// every round, a node of half its weight one every other round.
//
// Thread-safety: pure function; the table is immutable once built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace jcm::internal {

// The smallest prime in a fixed list that is >= 20 * n (at least 65537).
uint32_t MaglevTableSize(size_t node_count);

// Returns M entries, each an index into `keys`. `keys` are the node specs
// (need not be sorted; the result does not depend on their order), weights
// >= 1. Empty `keys` gives an empty table.
std::vector<uint32_t> BuildMaglevTable(const std::vector<std::string>& keys,
                                       const std::vector<int>& weights, uint32_t table_size);

}  // namespace jcm::internal
