// Limits on what jcm accepts. Each one exists because something downstream
// breaks past it: ZooKeeper drops the connection on a request of 1 MiB or
// more, and path components have rules of their own.
#pragma once

#include <cstddef>

namespace jcm::limits {

inline constexpr size_t kMaxClusterNameLength = 128;
inline constexpr size_t kMaxUdataLength = 4096;
inline constexpr size_t kMaxCheckFileLength = 1024;
inline constexpr size_t kMaxNodesPerCluster = 100000;
inline constexpr int kMinWeight = 1;
inline constexpr int kMaxWeight = 10000;
inline constexpr int kMaxRiseFall = 100;
inline constexpr int kMaxSecondOpinions = 5;  // secondOpinions, --second-opinions
inline constexpr int kMinIntervalMs = 100;
inline constexpr int kMaxIntervalMs = 3600 * 1000;
// ZooKeeper refuses (by dropping the connection) any request of 1 MiB or
// more; stay well clear of it so the request framing never tips it over.
inline constexpr size_t kMaxZnodeBytes = 1000 * 1000;
// A stored cluster's zlib stream may inflate to this much, no more: cluster
// JSON compresses ~5-10x, so a 1 MB znode holds ~10 MB of it; a zlib bomb
// (1 MB inflating to 1 GB) is refused here.
inline constexpr size_t kMaxInflatedClusterBytes = 64 * 1024 * 1024;
// HTTP status codes a cluster may list as healthy answers (okCodes).
inline constexpr int kMinHttpStatusCode = 100;
inline constexpr int kMaxHttpStatusCode = 599;
// JSON nesting: no document of ours is deeper than 4 levels; the bound keeps
// every recursive walk over a parsed value (copy, compare, dump) shallow.
inline constexpr size_t kMaxJsonDepth = 64;
// Request bodies: a 20,000-node cluster document is ~1.6 MB of JSON.
inline constexpr size_t kMaxRequestBodyBytes = 8 * 1024 * 1024;

}  // namespace jcm::limits
