// BadZnodeLog: remembers which version of an unreadable znode was already
// reported, so that a hostile or corrupt znode is logged once per version
// (its mzxid) however often it is re-read (every watch, every reconnect),
// and again when someone writes a new, still unreadable, version.
//
// Holds one entry per znode currently unreadable; Clear() drops it once the
// znode reads fine or is gone.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace jcm {

class BadZnodeLog {
 public:
  // True iff this (path, mzxid) was not reported before: the caller logs.
  bool FirstReport(const std::string& path, int64_t mzxid);
  // True iff this exact version was reported: decoding is deterministic, so
  // the caller may skip decoding it again (a zlib bomb re-read on every
  // children change must not cost a 64 MiB inflate each time).
  bool Reported(const std::string& path, int64_t mzxid) const;
  // The znode at `path` read fine or was deleted.
  void Clear(const std::string& path);
  // Unreadable znodes seen (each version counted once).
  uint64_t reported() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> last_reported_;  // GUARDED_BY(mu_)
  uint64_t reported_ = 0;                                   // GUARDED_BY(mu_)
};

}  // namespace jcm
