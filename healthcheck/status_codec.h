// The bytes of a status znode (<root>/status/<cluster>).
//
// Layout: "JCMS" (magic), one format byte (1), the length of the
// uncompressed payload as 4 bytes big-endian, then the zlib stream of the
// payload. The payload is JSON:
//   {"cluster": "...", "owner": "...", "round": N,
//    "nodes": {"<spec>": ["NORMAL", <lastCheck ms>], ...}}
// JSON keeps the znode readable after `zlib-flate -uncompress` with the
// first 9 bytes cut; zlib keeps an 18,000-node map (~0.8 MB of JSON) far
// below ZooKeeper's 1 MiB request limit.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "healthcheck/status_report.h"
#include "model/status.h"

namespace jcm {

inline constexpr std::string_view kStatusMagic = "JCMS";

// Fails with TooLarge if the encoded bytes would exceed limits::kMaxZnodeBytes.
Result<std::string> EncodeStatusReport(const StatusReport& report);
// Fails with InvalidArgument, saying what is wrong, on anything that is not a
// well-formed encoding; never crashes on garbage.
Result<StatusReport> DecodeStatusReport(std::string_view bytes);

}  // namespace jcm
