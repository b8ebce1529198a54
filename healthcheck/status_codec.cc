#include "healthcheck/status_codec.h"

#include <zlib.h>

#include <nlohmann/json.hpp>

#include "model/cluster_codec.h"
#include "model/limits.h"
#include "model/validation.h"

namespace jcm {
namespace {

constexpr unsigned char kFormat = 1;
constexpr size_t kHeaderBytes = 4 + 1 + 4;
// A decoded payload larger than this is refused before allocating for it: a
// corrupt length must not make us reserve gigabytes.
constexpr uint32_t kMaxPayloadBytes = 64u << 20;

Result<StatusReport> DecodeStatusReportUnchecked(std::string_view bytes);

}  // namespace

Result<std::string> EncodeStatusReport(const StatusReport& report) {
  nlohmann::json nodes = nlohmann::json::object();
  for (const auto& [spec, state] : report.nodes) {
    nodes[spec] = nlohmann::json::array({ToString(state.status), state.last_check_ms});
  }
  nlohmann::json doc = {{"cluster", report.cluster},
                        {"owner", report.owner},
                        {"round", report.round},
                        {"nodes", std::move(nodes)}};
  const std::string payload = doc.dump();
  if (payload.size() > kMaxPayloadBytes) {
    return Status::TooLarge("status payload of cluster '" + report.cluster + "' is " +
                            std::to_string(payload.size()) + " bytes");
  }
  uLongf bound = compressBound(static_cast<uLong>(payload.size()));
  std::string out(kHeaderBytes + bound, '\0');
  out.replace(0, 4, kStatusMagic);
  out[4] = static_cast<char>(kFormat);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[5] = static_cast<char>(n >> 24);
  out[6] = static_cast<char>(n >> 16);
  out[7] = static_cast<char>(n >> 8);
  out[8] = static_cast<char>(n);
  int rc = compress2(reinterpret_cast<Bytef*>(out.data() + kHeaderBytes), &bound,
                     reinterpret_cast<const Bytef*>(payload.data()), payload.size(), Z_BEST_SPEED);
  if (rc != Z_OK) return Status::Internal("zlib compress failed: " + std::to_string(rc));
  out.resize(kHeaderBytes + bound);
  if (out.size() > limits::kMaxZnodeBytes) {
    return Status::TooLarge("status znode of cluster '" + report.cluster + "' would be " +
                            std::to_string(out.size()) + " bytes (limit " +
                            std::to_string(limits::kMaxZnodeBytes) + ")");
  }
  return out;
}

Result<StatusReport> DecodeStatusReport(std::string_view bytes) {
  // Every malformed input is refused by a check below; this only catches
  // what no check can rule out (an allocation failing).
  try {
    return DecodeStatusReportUnchecked(bytes);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("status znode: decoding failed: ") + e.what());
  }
}

namespace {

Result<StatusReport> DecodeStatusReportUnchecked(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes || bytes.substr(0, 4) != kStatusMagic) {
    return Status::InvalidArgument("status znode: missing 'JCMS' header (" +
                                   std::to_string(bytes.size()) + " bytes)");
  }
  if (static_cast<unsigned char>(bytes[4]) != kFormat) {
    return Status::InvalidArgument("status znode: unknown format " +
                                   std::to_string(static_cast<unsigned char>(bytes[4])));
  }
  uint32_t n = 0;
  for (int i = 5; i < 9; ++i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > kMaxPayloadBytes) {
    return Status::InvalidArgument("status znode: payload length " + std::to_string(n) +
                                   " over the limit");
  }
  std::string payload(n, '\0');
  uLongf got = n;
  int rc = uncompress(reinterpret_cast<Bytef*>(payload.data()), &got,
                      reinterpret_cast<const Bytef*>(bytes.data() + kHeaderBytes),
                      static_cast<uLong>(bytes.size() - kHeaderBytes));
  if (rc != Z_OK || got != n) {
    return Status::InvalidArgument("status znode: zlib stream is corrupt (code " +
                                   std::to_string(rc) + ")");
  }
  nlohmann::json doc;
  Status parsed = ParseJsonText(payload, &doc);  // bounded depth, no exception
  if (!parsed.ok()) return Status::InvalidArgument("status znode: " + parsed.message());
  if (!doc.is_object()) {
    return Status::InvalidArgument("status znode: payload is not a JSON object");
  }
  auto c = doc.find("cluster");
  auto o = doc.find("owner");
  auto r = doc.find("round");
  auto ns = doc.find("nodes");
  if (c == doc.end() || !c->is_string() || o == doc.end() || !o->is_string() || r == doc.end() ||
      !r->is_number_unsigned() || ns == doc.end() || !ns->is_object()) {
    return Status::InvalidArgument(
        "status znode: payload needs string 'cluster', 'owner', unsigned 'round', object 'nodes'");
  }
  StatusReport report;
  report.cluster = c->get<std::string>();
  report.owner = o->get<std::string>();
  report.round = r->get<uint64_t>();
  for (auto it = ns->begin(); it != ns->end(); ++it) {
    const nlohmann::json& v = it.value();
    NodeCheckState state;
    if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer() ||
        !ParseNodeStatus(v[0].get<std::string>(), &state.status)) {
      return Status::InvalidArgument("status znode: bad entry for node " + QuoteForError(it.key()));
    }
    state.last_check_ms = v[1].get<int64_t>();
    report.nodes.emplace(it.key(), state);
  }
  return report;
}

}  // namespace

}  // namespace jcm
