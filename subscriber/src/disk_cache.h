// The subscriber's disk cache: the clusters it holds, as one JSON file in
// jcm's full cluster form, so an application restarted while every server
// is down still has nodes to call.
//
// The file is replaced atomically (write a temporary file beside it, fsync,
// rename over), so a reader or a crash mid-write never sees half a file.
//
// Thread-safety: pure functions; concurrent writers of one path must be
// serialized by the caller (the poller is the only writer).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "model/status.h"

namespace jcm::internal {

Status WriteCacheFile(const std::string& path,
                      const std::vector<std::shared_ptr<const Cluster>>& clusters);

// A cache file larger than this is refused unread: the file may have been
// replaced by anything, and reading it must not exhaust the application.
inline constexpr size_t kMaxCacheFileBytes = 256u * 1024 * 1024;

// Every cluster in the file that decodes and validates; `skipped` counts the
// rest. NotFound if there is no file, InvalidArgument if it is not a cache
// (any content: not JSON, 1e400, deep nesting, wrong types), TooLarge past
// kMaxCacheFileBytes. Never throws.
Status ReadCacheFile(const std::string& path, std::vector<Cluster>* clusters, int* skipped);

}  // namespace jcm::internal
