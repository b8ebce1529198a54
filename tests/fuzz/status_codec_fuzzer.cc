// Fuzz target: the bytes of a status znode ("JCMS", format, length, zlib
// stream of JSON). A report that decodes must encode and decode to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "healthcheck/status_codec.h"
#include "tests/support/status_frame.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An input starting with 'P' is a payload to frame; anything else is the
  // znode's bytes as they are.
  std::string framed;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (!bytes.empty() && bytes[0] == 'P') {
    framed = jcm::testing::FrameStatusPayload(bytes.substr(1));
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
