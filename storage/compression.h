// zlib helpers for znode payloads. Stored documents are plain JSON while
// small (readable with zkCli) and zlib streams once large; a reader tells
// them apart by the first byte ('{' is JSON, a zlib stream starts with 0x78).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "model/status.h"

namespace jcm {

std::string ZlibCompress(std::string_view data);
// Refuses output beyond `max_output` bytes (a corrupt or hostile stream).
Result<std::string> ZlibDecompress(std::string_view data, size_t max_output);

}  // namespace jcm
