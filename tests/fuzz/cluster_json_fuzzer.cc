// Fuzz target: the cluster JSON decoder (what POST /c, /sub replies, the
// disk cache and stored znodes go through). Besides not crashing, checks:
//  - a refusal is a short InvalidArgument (TooLarge only for memory);
//  - a decoded cluster re-encodes (full form) to a document that decodes to
//    the same encoding: nothing accepted is lost or changed in a round trip.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/cluster_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using jcm::ClusterJsonForm;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json doc;
  jcm::Status s = jcm::ParseJsonText(text, &doc);
  if (!s.ok()) {
    Check(s.code() == jcm::Status::Code::kInvalidArgument, "parse refusal is InvalidArgument");
    Check(s.message().size() < 600, "parse refusal message is bounded");
    return 0;
  }
  jcm::Cluster c;
  s = jcm::DecodeCluster(doc, &c);
  if (s.ok()) {
    nlohmann::json again = jcm::EncodeCluster(c, ClusterJsonForm::kFull);
    jcm::Cluster c2;
    Check(jcm::DecodeCluster(again, &c2).ok(), "a decoded cluster re-decodes");
    Check(jcm::EncodeCluster(c2, ClusterJsonForm::kFull) == again, "round trip is stable");
  } else {
    Check(s.code() == jcm::Status::Code::kInvalidArgument, "decode refusal is InvalidArgument");
    Check(s.message().size() < 2000, "decode refusal message is bounded");
  }
  std::vector<jcm::Node> nodes;
  s = jcm::DecodeNodeList(doc, &nodes);
  if (!s.ok()) Check(s.message().size() < 2000, "node list refusal message is bounded");
  return 0;
}
