#include "model/cluster_text.h"

#include <string_view>

#include <nlohmann/json.hpp>

namespace jcm {

namespace {

using json = nlohmann::json;

json::error_handler_t Handler(InvalidUtf8 mode) {
  return mode == InvalidUtf8::kStrict ? json::error_handler_t::strict
                                      : json::error_handler_t::replace;
}

void AppendString(std::string_view s, InvalidUtf8 mode, std::string* out) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '"' || c == '\\') {
      *out += json(std::string(s)).dump(-1, ' ', false, Handler(mode));
      return;
    }
  }
  *out += '"';
  out->append(s);
  *out += '"';
}

// EncodeNode(node, form).dump(): keys in nlohmann's (sorted) order.
void AppendNode(const Node& node, ClusterJsonForm form, InvalidUtf8 mode, std::string* out) {
  *out += "{\"ip\":";
  AppendString(node.ip, mode, out);
  if (form != ClusterJsonForm::kStored) {
    *out += ",\"lastCheck\":";
    *out += std::to_string(node.last_check_ms);
  }
  if (form == ClusterJsonForm::kFull && !node.not_checked.empty()) {
    *out += ",\"notChecked\":";
    AppendString(node.not_checked, mode, out);
  }
  *out +=
      node.online ? ",\"online\":\"ONLINE\",\"protos\":[" : ",\"online\":\"OFFLINE\",\"protos\":[";
  for (size_t i = 0; i < node.protos.size(); ++i) {
    if (i > 0) *out += ',';
    *out += "{\"port\":";
    *out += std::to_string(node.protos[i].port);
    *out += ",\"proto\":\"";
    *out += ToString(node.protos[i].proto);
    *out += "\"}";
  }
  *out += ']';
  if (form != ClusterJsonForm::kStored) {
    *out += ",\"status\":\"";
    *out += ToString(node.status);
    *out += '"';
  }
  if (form != ClusterJsonForm::kJcm || !node.udata.empty()) {
    *out += ",\"udata\":";
    AppendString(node.udata, mode, out);
  }
  if (form != ClusterJsonForm::kJcm && node.weight != kDefaultWeight) {
    *out += ",\"weight\":";
    *out += std::to_string(node.weight);
  }
  *out += '}';
}

}  // namespace

void AppendNodeText(const Node& node, ClusterJsonForm form, InvalidUtf8 invalid_utf8,
                    std::string* out) {
  AppendNode(node, form, invalid_utf8, out);
}

std::string EncodeClusterText(const Cluster& cluster, ClusterJsonForm form,
                              InvalidUtf8 invalid_utf8) {
  // Everything but the nodes, through the DOM encoder itself.
  Cluster header;
  header.name = cluster.name;
  header.online = cluster.online;
  header.check_type = cluster.check_type;
  header.check_file = cluster.check_file;
  header.check = cluster.check;
  header.version = cluster.version;
  header.status_version = cluster.status_version;
  header.panic = cluster.panic;
  const std::string head = EncodeCluster(header, form).dump(-1, ' ', false, Handler(invalid_utf8));
  // The first `"nodes":[]` of a dump is the key: inside a dumped string every
  // quote is escaped.
  static constexpr std::string_view kEmpty = "\"nodes\":[]";
  const size_t close = head.find(kEmpty) + kEmpty.size() - 1;  // the ']'
  std::string out;
  out.reserve(head.size() + cluster.nodes.size() * 110);
  out.append(head, 0, close);
  for (size_t i = 0; i < cluster.nodes.size(); ++i) {
    if (i > 0) out += ',';
    AppendNode(cluster.nodes[i], form, invalid_utf8, &out);
  }
  out.append(head, close, std::string::npos);
  return out;
}

}  // namespace jcm
