// Fuzz target: the bytes of a status znode ("JCMS", format, length, zlib
// stream of JSON). A report that decodes must encode and decode to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <zlib.h>

#include "healthcheck/status_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

// "JCMS", format 1, length, zlib stream of `payload`: a well-formed frame,
// so the payload's JSON is fuzzed too (mutated zlib almost never inflates).
std::string Frame(std::string_view payload) {
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An input starting with 'P' is a payload to frame; anything else is the
  // znode's bytes as they are.
  std::string framed;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (!bytes.empty() && bytes[0] == 'P') {
    framed = Frame(bytes.substr(1));
    bytes = framed;
  }
  jcm::Result<jcm::StatusReport> r = jcm::DecodeStatusReport(bytes);
  if (!r.ok()) {
    Check(r.status().message().size() < 2000, "refusal message is bounded");
    return 0;
  }
  jcm::Result<std::string> encoded = jcm::EncodeStatusReport(r.value());
  if (!encoded.ok()) return 0;  // TooLarge
  jcm::Result<jcm::StatusReport> again = jcm::DecodeStatusReport(encoded.value());
  Check(again.ok(), "re-encoded report decodes");
  Check(again.value() == r.value(), "round trip is stable");
  return 0;
}
