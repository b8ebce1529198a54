// FrameStatusPayload: a status znode's bytes around any payload: "JCMS",
// format 1, the payload's length (4 bytes, big-endian), then the payload as
// one zlib stream. The production encoder only frames real reports; the
// codec's tests and its fuzz target need a well-formed frame around a
// hostile payload, so the JSON inside is what gets exercised (a mutated zlib
// stream almost never inflates). Header-only: the fuzz build uses it too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <zlib.h>

namespace jcm::testing {

inline std::string FrameStatusPayload(std::string_view payload) {
  uLongf bound = compressBound(static_cast<uLong>(payload.size()));
  std::string out(9 + bound, '\0');
  out.replace(0, 4, "JCMS");
  out[4] = 1;
  const uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[5 + i] = static_cast<char>(n >> (24 - 8 * i));
  compress2(reinterpret_cast<Bytef*>(out.data() + 9), &bound,
            reinterpret_cast<const Bytef*>(payload.data()), payload.size(), 1);
  out.resize(9 + bound);
  return out;
}

}  // namespace jcm::testing
