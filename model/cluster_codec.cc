#include "model/cluster_codec.h"

#include <limits>
#include <new>

#include "model/limits.h"
#include "model/validation.h"

namespace jcm {
namespace {

using nlohmann::json;

// Error messages quote at most this much of a value's JSON text.
constexpr size_t kShownJsonChars = 64;

// At most `max` bytes of `text`, so an error message never carries a whole
// hostile document (nlohmann's messages quote the offending token).
std::string Truncated(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "... (" + std::to_string(text.size()) + " characters)";
}

// A string's JSON text, from at most `max` of its bytes (a cut UTF-8
// sequence is replaced, never an error).
std::string DumpStringPrefix(const std::string& s, size_t max) {
  json prefix = s.size() <= max ? s : s.substr(0, max);
  return prefix.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Integer value in [lo, hi]; `field` names it in errors.
Status GetIntValue(const json& v, const std::string& field, int64_t lo, int64_t hi, int64_t* out) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    return JsonTypeError(field, v, "an integer");
  }
  bool in_range;
  int64_t value = 0;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    // nlohmann stores every non-negative integer as unsigned: check both ends.
    in_range =
        hi >= 0 && u <= static_cast<uint64_t>(hi) && (lo <= 0 || u >= static_cast<uint64_t>(lo));
    value = in_range ? static_cast<int64_t>(u) : 0;
  } else {
    value = v.get<int64_t>();
    in_range = value >= lo && value <= hi;
  }
  if (!in_range) {
    return Status::InvalidArgument(field + ": " + v.dump() + " is out of range " +
                                   std::to_string(lo) + "-" + std::to_string(hi));
  }
  *out = value;
  return Status::Ok();
}

Status GetString(const json& obj, const char* key, const std::string& field, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return JsonTypeError(field, *it, "a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

// Integer in [lo, hi]; absent or null leaves *out unchanged.
Status GetInt(const json& obj, const char* key, const std::string& field, int64_t lo, int64_t hi,
              int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  return GetIntValue(*it, field, lo, hi, out);
}

// Refuses a list longer than a cluster may be before a Node is allocated
// for each element.
Status CheckNodeCount(size_t n, const std::string& field) {
  if (n <= limits::kMaxNodesPerCluster) return Status::Ok();
  return Status::InvalidArgument(field + ": " + std::to_string(n) + " nodes is more than " +
                                 std::to_string(limits::kMaxNodesPerCluster));
}

// JCM writes "ONLINE"/"OFFLINE"; accept booleans too, as operators type them.
Status GetOnline(const json& obj, const std::string& field, bool* out) {
  auto it = obj.find("online");
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (it->is_boolean()) return *out = it->get<bool>(), Status::Ok();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (s == "ONLINE") return *out = true, Status::Ok();
    if (s == "OFFLINE") return *out = false, Status::Ok();
    return Status::InvalidArgument(field + ": " + QuoteForError(s) + " is not ONLINE or OFFLINE");
  }
  return JsonTypeError(field, *it, "\"ONLINE\" or \"OFFLINE\"");
}

}  // namespace

std::string JsonTextPrefix(const json& value, size_t max) {
  // Iterative, with an explicit stack, and stopping once `max` is passed: a
  // value nested 100,000 deep must cost neither stack nor time (nlohmann's
  // dump() recurses once per level).
  struct Frame {
    const json* container;
    json::const_iterator it;
  };
  std::string out;
  std::vector<Frame> stack;
  auto emit = [&](const json& v) {
    if (v.is_array() || v.is_object()) {
      out += v.is_array() ? '[' : '{';
      stack.push_back({&v, v.cbegin()});
    } else if (v.is_string()) {
      out += DumpStringPrefix(v.get_ref<const std::string&>(), max);
    } else {
      out += v.dump();  // a number, boolean or null: short
    }
  };
  emit(value);
  // Each turn appends at least one character, so this ends after ~max turns.
  while (!stack.empty() && out.size() <= max) {
    Frame& f = stack.back();
    if (f.it == f.container->cend()) {
      out += f.container->is_array() ? ']' : '}';
      stack.pop_back();
      continue;
    }
    if (f.it != f.container->cbegin()) out += ',';
    if (f.container->is_object()) out += DumpStringPrefix(f.it.key(), max) + ':';
    const json& child = *f.it;
    ++f.it;
    emit(child);  // may grow the stack: `f` is not used after this
  }
  if (out.size() > max) {
    size_t cut = max;  // on a UTF-8 boundary: the message must stay valid UTF-8
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

Status JsonTypeError(const std::string& field, const json& value, const char* want) {
  std::string shown = JsonTextPrefix(value, kShownJsonChars);
  std::string what = value.type_name();
  if (value.is_array() || value.is_object()) {
    const size_t n = value.size();
    what += " of " + std::to_string(n) + (value.is_array() ? " element" : " member");
    if (n != 1) what += 's';
  }
  return Status::InvalidArgument(field + ": expected " + want + ", got " + what + " '" + shown +
                                 "'");
}

Status CheckJsonDepth(std::string_view text, int max_depth) {
  // Counts brackets outside strings, exactly as the JSON grammar nests them,
  // so that the parser (and every recursive walk over what it builds: copy,
  // compare, dump) never sees more than `max_depth` levels.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return Status::InvalidArgument("body: nested deeper than " + std::to_string(max_depth) +
                                       " (at byte " + std::to_string(i) + ")");
      }
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;  // unbalanced text is the parser's to refuse
    }
  }
  return Status::Ok();
}

Status ParseJsonText(std::string_view text, json* out) {
  Status s = CheckJsonDepth(text, static_cast<int>(limits::kMaxJsonDepth));
  if (!s.ok()) return s;
  // Every nlohmann exception becomes a Status: parse_error for bad syntax,
  // out_of_range for a number beyond a double (1e400), and whatever a later
  // version may add. Nothing escapes to a caller's thread.
  try {
    *out = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument("body: malformed JSON at byte " + std::to_string(e.byte) + ": " +
                                   Truncated(e.what(), 200));
  } catch (const json::out_of_range& e) {
    return Status::InvalidArgument("body: number out of range: " + Truncated(e.what(), 200));
  } catch (const json::exception& e) {
    return Status::InvalidArgument("body: unreadable JSON: " + Truncated(e.what(), 200));
  } catch (const std::bad_alloc&) {
    return Status::TooLarge("body: " + std::to_string(text.size()) +
                            " bytes of JSON do not fit in memory");
  }
  return Status::Ok();
}

Status DecodeNode(const json& doc, const std::string& field, Node* out) {
  if (!doc.is_object()) return JsonTypeError(field, doc, "an object");
  Node node;
  auto ip = doc.find("ip");
  if (ip == doc.end() || ip->is_null()) {
    return Status::InvalidArgument(field + ".ip: missing");
  }
  if (!ip->is_string()) return JsonTypeError(field + ".ip", *ip, "a string");
  node.ip = ip->get<std::string>();
  auto protos = doc.find("protos");
  if (protos == doc.end() || protos->is_null()) {
    return Status::InvalidArgument(field + ".protos: missing");
  }
  if (!protos->is_array()) return JsonTypeError(field + ".protos", *protos, "an array");
  for (size_t i = 0; i < protos->size(); ++i) {
    const json& pj = (*protos)[i];
    std::string pfield = field + ".protos[" + std::to_string(i) + "]";
    if (!pj.is_object()) return JsonTypeError(pfield, pj, "an object");
    if (!pj.contains("port")) return Status::InvalidArgument(pfield + ".port: missing");
    int64_t port = 0;
    Status s = GetInt(pj, "port", pfield + ".port", 1, 65535, &port);
    if (!s.ok()) return s;
    std::string proto_text;
    s = GetString(pj, "proto", pfield + ".proto", &proto_text);
    if (!s.ok()) return s;
    ProtoPort pp;
    pp.port = static_cast<uint16_t>(port);
    if (!ParseProto(proto_text, &pp.proto)) {
      return Status::InvalidArgument(pfield + ".proto: " + QuoteForError(proto_text) +
                                     " is not HTTP or TCP");
    }
    node.protos.push_back(pp);
  }
  Status s = GetString(doc, "udata", field + ".udata", &node.udata);
  if (!s.ok()) return s;
  s = GetOnline(doc, field + ".online", &node.online);
  if (!s.ok()) return s;
  int64_t weight = node.weight;
  s = GetInt(doc, "weight", field + ".weight", std::numeric_limits<int32_t>::min(),
             std::numeric_limits<int32_t>::max(), &weight);
  if (!s.ok()) return s;
  node.weight = static_cast<int>(weight);
  // Runtime fields are accepted from stored or echoed documents.
  std::string status_text;
  s = GetString(doc, "status", field + ".status", &status_text);
  if (!s.ok()) return s;
  if (!status_text.empty() && !ParseNodeStatus(status_text, &node.status)) {
    return Status::InvalidArgument(field + ".status: " + QuoteForError(status_text) +
                                   " is not INVALID, NORMAL, ABNORMAL or TIMEOUT");
  }
  int64_t last_check = 0;
  s = GetInt(doc, "lastCheck", field + ".lastCheck", 0, std::numeric_limits<int64_t>::max(),
             &last_check);
  if (!s.ok()) return s;
  node.last_check_ms = last_check;
  // Validate before the canonical sort, so error paths match the input order.
  s = ValidateNode(node, field);
  if (!s.ok()) return s;
  if (node.protos.size() == 2 && node.protos[0].proto == Proto::kTcp) {
    std::swap(node.protos[0], node.protos[1]);
  }
  *out = std::move(node);
  return Status::Ok();
}

Status DecodeNodeList(const json& doc, std::vector<Node>* out, const std::string& field) {
  if (!doc.is_array()) return JsonTypeError(field, doc, "an array of node objects");
  if (doc.empty()) return Status::InvalidArgument(field + ": the list is empty");
  Status count = CheckNodeCount(doc.size(), field);
  if (!count.ok()) return count;
  std::vector<Node> nodes(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    Status s = DecodeNode(doc[i], field + "[" + std::to_string(i) + "]", &nodes[i]);
    if (!s.ok()) return s;
  }
  Status s = CheckDuplicateSpecs(nodes, field);
  if (!s.ok()) return s;
  *out = std::move(nodes);
  return Status::Ok();
}

Status DecodeCluster(const json& doc, Cluster* out) {
  if (!doc.is_object()) return JsonTypeError("body", doc, "a cluster object");
  Cluster c;
  auto name = doc.find("name");
  if (name == doc.end() || name->is_null()) return Status::InvalidArgument("name: missing");
  if (!name->is_string()) return JsonTypeError("name", *name, "a string");
  c.name = name->get<std::string>();
  Status s = ValidateClusterName(c.name);
  if (!s.ok()) return s;
  s = GetOnline(doc, "online", &c.online);
  if (!s.ok()) return s;
  std::string check_type;
  s = GetString(doc, "checkType", "checkType", &check_type);
  if (!s.ok()) return s;
  if (!check_type.empty() && !ParseCheckType(check_type, &c.check_type)) {
    return Status::InvalidArgument("checkType: " + QuoteForError(check_type) +
                                   " is not HTTP, TCP or NONE");
  }
  s = GetString(doc, "checkFile", "checkFile", &c.check_file);
  if (!s.ok()) return s;
  if (c.check_file.empty()) c.check_file = "/";
  int64_t v = 0;
  const std::pair<const char*, int*> ints[] = {{"intervalMs", &c.check.interval_ms},
                                               {"timeoutMs", &c.check.timeout_ms},
                                               {"rise", &c.check.rise},
                                               {"fall", &c.check.fall},
                                               {"fastInterMs", &c.check.fast_inter_ms},
                                               {"secondOpinions", &c.check.second_opinions}};
  for (const auto& [key, dst] : ints) {
    v = *dst;
    s = GetInt(doc, key, key, std::numeric_limits<int32_t>::min(),
               std::numeric_limits<int32_t>::max(), &v);
    if (!s.ok()) return s;
    *dst = static_cast<int>(v);
  }
  if (auto codes = doc.find("okCodes"); codes != doc.end() && !codes->is_null()) {
    if (!codes->is_array()) return JsonTypeError("okCodes", *codes, "an array of integers");
    for (size_t i = 0; i < codes->size(); ++i) {
      // Range-checked here, on the JSON value: narrowing first would turn
      // 4294967496 into 200.
      int64_t code = 0;
      s = GetIntValue((*codes)[i], "okCodes[" + std::to_string(i) + "]", limits::kMinHttpStatusCode,
                      limits::kMaxHttpStatusCode, &code);
      if (!s.ok()) return s;
      c.check.ok_codes.push_back(static_cast<int>(code));
    }
  }
  auto nodes = doc.find("nodes");
  if (nodes != doc.end() && !nodes->is_null()) {
    if (!nodes->is_array()) return JsonTypeError("nodes", *nodes, "an array of node objects");
    s = CheckNodeCount(nodes->size(), "nodes");
    if (!s.ok()) return s;
    c.nodes.resize(nodes->size());
    for (size_t i = 0; i < nodes->size(); ++i) {
      s = DecodeNode((*nodes)[i], "nodes[" + std::to_string(i) + "]", &c.nodes.Mutable(i));
      if (!s.ok()) return s;
    }
  }
  int64_t version = 0;
  s = GetInt(doc, "version", "version", 0, std::numeric_limits<int64_t>::max(), &version);
  if (!s.ok()) return s;
  c.version = version;
  s = GetInt(doc, "statusVersion", "statusVersion", 0, std::numeric_limits<int64_t>::max(),
             &c.status_version);
  if (!s.ok()) return s;
  if (auto panic = doc.find("panic"); panic != doc.end() && panic->is_boolean()) {
    c.panic = panic->get<bool>();
  }
  // Each node was validated as it was decoded; check the rest once.
  s = ValidateClusterFields(c);
  if (!s.ok()) return s;
  s = CheckDuplicateSpecs(c.nodes, "nodes");
  if (!s.ok()) return s;
  *out = std::move(c);
  return Status::Ok();
}

json EncodeNode(const Node& node, ClusterJsonForm form) {
  json j;
  j["ip"] = node.ip;
  json protos = json::array();
  for (const ProtoPort& pp : node.protos) {
    protos.push_back({{"port", pp.port}, {"proto", ToString(pp.proto)}});
  }
  j["protos"] = std::move(protos);
  j["online"] = node.online ? "ONLINE" : "OFFLINE";
  if (form != ClusterJsonForm::kJcm || !node.udata.empty()) j["udata"] = node.udata;
  if (form != ClusterJsonForm::kJcm && node.weight != kDefaultWeight) j["weight"] = node.weight;
  if (form != ClusterJsonForm::kStored) {
    j["status"] = ToString(node.status);
    j["lastCheck"] = node.last_check_ms;
  }
  if (form == ClusterJsonForm::kFull && !node.not_checked.empty()) {
    j["notChecked"] = node.not_checked;
  }
  return j;
}

json EncodeCluster(const Cluster& c, ClusterJsonForm form) {
  json j;
  j["name"] = c.name;
  j["online"] = c.online ? "ONLINE" : "OFFLINE";
  j["checkType"] = ToString(c.check_type);
  j["checkFile"] = c.check_file;
  if (form != ClusterJsonForm::kJcm) {
    const CheckSettings& cs = c.check;
    if (cs.interval_ms) j["intervalMs"] = cs.interval_ms;
    if (cs.timeout_ms) j["timeoutMs"] = cs.timeout_ms;
    if (cs.rise) j["rise"] = cs.rise;
    if (cs.fall) j["fall"] = cs.fall;
    if (cs.fast_inter_ms) j["fastInterMs"] = cs.fast_inter_ms;
    if (cs.second_opinions >= 0) j["secondOpinions"] = cs.second_opinions;
    if (!cs.ok_codes.empty()) j["okCodes"] = cs.ok_codes;
  }
  json nodes = json::array();
  for (const Node& n : c.nodes) nodes.push_back(EncodeNode(n, form));
  j["nodes"] = std::move(nodes);
  if (form != ClusterJsonForm::kStored) j["version"] = c.version;
  if (form == ClusterJsonForm::kFull) {
    j["statusVersion"] = c.status_version;
    j["panic"] = c.panic;
  }
  return j;
}

}  // namespace jcm
