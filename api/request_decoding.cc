#include "api/request_decoding.h"

#include <unordered_set>

#include "model/cluster.h"
#include "model/limits.h"
#include "model/validation.h"

namespace jcm {

using nlohmann::json;

namespace {}  // namespace

Status DecodeBool(const json& doc, const std::string& field, bool allow_words, bool* out) {
  if (doc.is_boolean()) {
    *out = doc.get<bool>();
    return Status::Ok();
  }
  if (allow_words && doc.is_string()) {
    const std::string& s = doc.get_ref<const std::string&>();
    if (s == "ONLINE" || s == "OFFLINE") {
      *out = s == "ONLINE";
      return Status::Ok();
    }
  }
  return JsonTypeError(field, doc,
                       allow_words ? "true, false, \"ONLINE\" or \"OFFLINE\"" : "true or false");
}

Status DecodeSpec(const json& doc, const std::string& field, std::string* out) {
  if (!doc.is_string()) return JsonTypeError(field, doc, "a node spec string");
  const std::string& text = doc.get_ref<const std::string&>();
  std::string canonical;
  // CanonicalSpec checks the shape; the IP needs its own check, or a spec
  // like "300.1.1.1|HTTP:80" would reach the store as a NotFound.
  if (!CanonicalSpec(text, &canonical) || !IsIpLiteral(text.substr(0, text.find('|')))) {
    return Status::InvalidArgument(field + ": " + QuoteForError(text) +
                                   " is not a node spec (ip|HTTP:port[|TCP:port])");
  }
  *out = std::move(canonical);
  return Status::Ok();
}

Status DecodeSpecList(const json& doc, std::vector<std::string>* out, const std::string& field) {
  if (!doc.is_array()) return JsonTypeError(field, doc, "an array of node specs");
  if (doc.empty()) return Status::InvalidArgument(field + ": the list is empty");
  if (doc.size() > limits::kMaxNodesPerCluster) {
    return Status::InvalidArgument(field + ": " + std::to_string(doc.size()) +
                                   " specs is more than " +
                                   std::to_string(limits::kMaxNodesPerCluster));
  }
  std::vector<std::string> specs(doc.size());
  std::unordered_set<std::string> seen;
  seen.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    std::string element = field + "[" + std::to_string(i) + "]";
    Status s = DecodeSpec(doc[i], element, &specs[i]);
    if (!s.ok()) return s;
    if (!seen.insert(specs[i]).second) {
      return Status::InvalidArgument(element + ": duplicate spec " + QuoteForError(specs[i]));
    }
  }
  *out = std::move(specs);
  return Status::Ok();
}

Status DecodeNodeChanges(const json& doc, std::vector<std::string>* remove,
                         std::vector<Node>* add) {
  if (!doc.is_object()) {
    return JsonTypeError("body", doc, "an object {\"remove\": [...], \"add\": [...]}");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "remove" && key != "add") {
      return Status::InvalidArgument(QuoteForError(key) +
                                     ": not a member of a node change (remove, add)");
    }
  }
  std::vector<std::string> specs;
  std::vector<Node> nodes;
  auto r = doc.find("remove");
  auto a = doc.find("add");
  if (r == doc.end() && a == doc.end()) {
    return Status::InvalidArgument("body: neither \"remove\" nor \"add\"");
  }
  if (r != doc.end()) {
    Status s = DecodeSpecList(*r, &specs, "remove");
    if (!s.ok()) return s;
  }
  if (a != doc.end()) {
    Status s = DecodeNodeList(*a, &nodes, "add");
    if (!s.ok()) return s;
  }
  *remove = std::move(specs);
  *add = std::move(nodes);
  return Status::Ok();
}

Status DecodeNodeOnline(const json& doc, std::string* spec, bool* online) {
  if (!doc.is_object()) return JsonTypeError("body", doc, "an object {\"spec\", \"online\"}");
  auto s_it = doc.find("spec");
  if (s_it == doc.end()) return Status::InvalidArgument("spec: missing");
  auto o_it = doc.find("online");
  if (o_it == doc.end()) return Status::InvalidArgument("online: missing");
  Status s = DecodeSpec(*s_it, "spec", spec);
  if (!s.ok()) return s;
  return DecodeBool(*o_it, "online", /*allow_words=*/true, online);
}

Status DecodeClusterForm(const std::string& param, ClusterJsonForm* out) {
  if (param.empty() || param == "full") {
    *out = ClusterJsonForm::kFull;
  } else if (param == "jcm") {
    *out = ClusterJsonForm::kJcm;
  } else {
    return Status::InvalidArgument("form: " + QuoteForError(param) + " is not full or jcm");
  }
  return Status::Ok();
}

}  // namespace jcm
