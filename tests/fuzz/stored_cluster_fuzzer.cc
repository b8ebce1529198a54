// Fuzz target: the bytes of a cluster znode (plain JSON, or a zlib stream
// once large) through ClusterStore::Decode. A stored definition that decodes
// must encode again (kStored) to bytes that decode to the same definition.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/cluster_codec.h"
#include "storage/cluster_store.h"
#include "storage/compression.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // An input starting with 'Z' is JSON to store compressed, as Encode does
  // for large definitions (mutated zlib streams almost never inflate).
  std::string compressed;
  if (!bytes.empty() && bytes[0] == 'Z') {
    compressed = jcm::ZlibCompress(bytes.substr(1));
    bytes = compressed;
  }
  jcm::Cluster c;
  jcm::Status s = jcm::ClusterStore::Decode(bytes, &c);
  if (!s.ok()) {
    Check(s.code() != jcm::Status::Code::kOk, "refusal has a code");
    Check(s.message().size() < 2000, "refusal message is bounded");
    return 0;
  }
  jcm::Result<std::string> encoded = jcm::ClusterStore::Encode(c);
  if (!encoded.ok()) return 0;  // TooLarge is a fair answer for a big definition
  jcm::Cluster c2;
  Check(jcm::ClusterStore::Decode(encoded.value(), &c2).ok(), "re-encoded cluster decodes");
  Check(jcm::EncodeCluster(c, jcm::ClusterJsonForm::kStored) ==
            jcm::EncodeCluster(c2, jcm::ClusterJsonForm::kStored),
        "stored round trip is stable");
  return 0;
}
