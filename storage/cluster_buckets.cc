#include "storage/cluster_buckets.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "model/cluster_codec.h"
#include "model/cluster_text.h"
#include "model/limits.h"
#include "model/validation.h"
#include "storage/compression.h"

namespace jcm {

namespace {

using json = nlohmann::json;

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint32_t Log2(uint32_t pow2) {
  uint32_t bits = 0;
  while ((1u << bits) < pow2) ++bits;
  return bits;
}

// An integer field of the header in [min, max].
Status GetHeaderInt(const json& doc, const char* key, int64_t min, int64_t max, int64_t* out) {
  auto it = doc.find(key);
  if (it == doc.end()) return Status::InvalidArgument(std::string("header.") + key + ": missing");
  if (!it->is_number_integer()) {
    return JsonTypeError(std::string("header.") + key, *it, "an integer");
  }
  const bool is_unsigned = it->is_number_unsigned();
  const int64_t v = is_unsigned ? static_cast<int64_t>(std::min<uint64_t>(
                                      it->get<uint64_t>(), std::numeric_limits<int64_t>::max()))
                                : it->get<int64_t>();
  if (v < min || v > max) {
    return Status::InvalidArgument(std::string("header.") + key + ": " + std::to_string(v) +
                                   " is outside [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "]");
  }
  *out = v;
  return Status::Ok();
}

// A bucket's stored bytes from its JSON text.
std::string StoredBucket(std::string text) {
  return text.size() > ClusterBuckets::kCompressBucketAbove ? ZlibCompress(text) : text;
}

// A header's "delta", or nothing for anything EncodeHeader would not write.
std::optional<ClusterBuckets::Delta> DecodeDelta(const json& doc, const std::string& member) {
  if (!doc.is_object()) return std::nullopt;
  auto base = doc.find("base");
  auto removed = doc.find("removed");
  auto set = doc.find("set");
  if (base == doc.end() || !base->is_number_integer() || base->get<int64_t>() <= 0 ||
      removed == doc.end() || !removed->is_array() || set == doc.end() || !set->is_array() ||
      removed->size() + set->size() > ClusterBuckets::kMaxDeltaEntries) {
    return std::nullopt;
  }
  ClusterBuckets::Delta out;
  out.base = base->get<int64_t>();
  out.removed.reserve(removed->size());
  for (const json& r : *removed) {
    if (!r.is_string()) return std::nullopt;
    out.removed.push_back(r.get<std::string>());
  }
  out.set.resize(set->size());
  for (size_t k = 0; k < set->size(); ++k) {
    if (!DecodeNode((*set)[k], "header." + member + ".set[" + std::to_string(k) + "]", &out.set[k])
             .ok()) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

std::string ClusterBuckets::EncodeHeader(const Header& header) {
  Cluster fields = header.cluster;
  fields.nodes.clear();
  std::string out(kMagic);
  out += "{\"buckets\":[";
  for (size_t i = 0; i < header.versions.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(header.versions[i]);
  }
  out += "],\"cluster\":";
  out += EncodeClusterText(fields, ClusterJsonForm::kStored, InvalidUtf8::kStrict);
  auto append_delta = [&out](const char* member, const Delta& d) {
    out += ",\"";
    out += member;
    out += "\":{\"base\":";
    out += std::to_string(d.base);
    out += ",\"removed\":[";
    for (size_t i = 0; i < d.removed.size(); ++i) {
      if (i > 0) out += ',';
      out += json(d.removed[i]).dump();
    }
    out += "],\"set\":[";
    for (size_t i = 0; i < d.set.size(); ++i) {
      if (i > 0) out += ',';
      AppendNodeText(d.set[i], ClusterJsonForm::kStored, InvalidUtf8::kStrict, &out);
    }
    out += "]}";
  };
  if (header.delta) append_delta("delta", *header.delta);
  out += ",\"generation\":";
  out += std::to_string(header.generation);
  out += ",\"nodes\":";
  out += std::to_string(header.node_count);
  if (header.delta && header.previous) append_delta("previous", *header.previous);
  out += '}';
  return out;
}

std::string ClusterBuckets::EncodePlaceholder() {
  return std::string(kMagic) + "{\"placeholder\":true}";
}

Status ClusterBuckets::DecodeHeader(std::string_view bytes, Header* out) {
  if (!IsHeader(bytes)) return Status::InvalidArgument("header: no magic prefix");
  json doc;
  Status s = ParseJsonText(bytes.substr(kMagic.size()), &doc);
  if (!s.ok()) return Status::InvalidArgument("header: " + s.message());
  if (!doc.is_object()) return JsonTypeError("header", doc, "an object");
  Header h;
  if (auto p = doc.find("placeholder"); p != doc.end()) {
    if (!p->is_boolean() || !p->get<bool>()) {
      return JsonTypeError("header.placeholder", *p, "true");
    }
    h.placeholder = true;
    *out = std::move(h);
    return Status::Ok();
  }
  auto c = doc.find("cluster");
  if (c == doc.end()) return Status::InvalidArgument("header.cluster: missing");
  if (!c->is_object()) return JsonTypeError("header.cluster", *c, "an object");
  if (auto n = c->find("nodes"); n != c->end() && !(n->is_array() && n->empty())) {
    return Status::InvalidArgument("header.cluster.nodes: must be empty (nodes are in buckets)");
  }
  s = DecodeCluster(*c, &h.cluster);
  if (!s.ok()) return Status::InvalidArgument("header.cluster: " + s.message());
  int64_t v = 0;
  s = GetHeaderInt(doc, "generation", 1, int64_t{1} << 53, &v);
  if (!s.ok()) return s;
  h.generation = static_cast<uint64_t>(v);
  s = GetHeaderInt(doc, "nodes", 0, static_cast<int64_t>(limits::kMaxNodesPerCluster), &v);
  if (!s.ok()) return s;
  h.node_count = static_cast<uint32_t>(v);
  auto b = doc.find("buckets");
  if (b == doc.end()) return Status::InvalidArgument("header.buckets: missing");
  if (!b->is_array()) return JsonTypeError("header.buckets", *b, "an array of versions");
  if (!IsPowerOfTwo(b->size()) || b->size() > kMaxBuckets) {
    return Status::InvalidArgument("header.buckets: " + std::to_string(b->size()) +
                                   " buckets, not a power of two in [1, " +
                                   std::to_string(kMaxBuckets) + "]");
  }
  h.versions.reserve(b->size());
  for (size_t i = 0; i < b->size(); ++i) {
    const json& e = (*b)[i];
    const std::string field = "header.buckets[" + std::to_string(i) + "]";
    if (!e.is_number_integer()) return JsonTypeError(field, e, "a znode version");
    const bool neg = !e.is_number_unsigned() && e.get<int64_t>() < 0;
    if (neg || (e.is_number_unsigned() &&
                e.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))) {
      return Status::InvalidArgument(field + ": " + e.dump() + " is not a znode version");
    }
    h.versions.push_back(static_cast<int32_t>(e.get<int64_t>()));
  }
  if (auto d = doc.find("delta"); d != doc.end()) h.delta = DecodeDelta(*d, "delta");
  if (auto p = doc.find("previous"); h.delta && p != doc.end()) {
    h.previous = DecodeDelta(*p, "previous");
  }
  *out = std::move(h);
  return Status::Ok();
}

uint32_t ClusterBuckets::BucketOf(std::string_view spec, uint32_t buckets) {
  if (buckets <= 1) return 0;
  const uint64_t h = XXH64(spec.data(), spec.size(), 0);
  return static_cast<uint32_t>(h >> (64 - Log2(buckets)));
}

uint32_t ClusterBuckets::ChooseBuckets(size_t nodes, size_t json_bytes, uint32_t current) {
  const double ideal =
      std::max({1.0, static_cast<double>(nodes) / static_cast<double>(kNodesPerBucket),
                static_cast<double>(json_bytes) / static_cast<double>(kBucketTargetBytes)});
  if (current > 0 && ideal <= 2.0 * current && ideal >= current / 2.0) return current;
  uint32_t b = 1;
  while (b < ideal && b < kMaxBuckets) b *= 2;
  return b;
}

std::string ClusterBuckets::EncodeBucket(const std::vector<Node>& nodes, size_t* json_bytes,
                                         std::vector<std::string>* texts) {
  std::string text;
  text.reserve(2 + nodes.size() * 96);
  text += '[';
  if (texts != nullptr) texts->resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (i > 0) text += ',';
    const size_t at = text.size();
    AppendNodeText(nodes[i], ClusterJsonForm::kStored, InvalidUtf8::kStrict, &text);
    if (texts != nullptr) (*texts)[i].assign(text, at, std::string::npos);
  }
  text += ']';
  *json_bytes = text.size();
  return StoredBucket(std::move(text));
}

std::string ClusterBuckets::EncodeTexts(const std::vector<std::string>& texts) {
  std::string text;
  text.reserve(TextsJsonBytes(texts));
  text += '[';
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) text += ',';
    text += texts[i];
  }
  text += ']';
  return StoredBucket(std::move(text));
}

size_t ClusterBuckets::TextsJsonBytes(const std::vector<std::string>& texts) {
  size_t bytes = 2 + (texts.empty() ? 0 : texts.size() - 1);
  for (const std::string& t : texts) bytes += t.size();
  return bytes;
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The elements' text of a JSON array of objects, by a linear scan. False
// for anything the scan does not take apart cleanly (then the DOM decode
// has the say, and its errors).
bool SplitArray(std::string_view t, std::vector<std::string_view>* out) {
  t = TrimSpace(t);
  if (t.size() < 2 || t.front() != '[' || t.back() != ']') return false;
  const int max_depth = static_cast<int>(limits::kMaxJsonDepth);
  int depth = 0;
  bool in_string = false;
  size_t start = 1;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    const char c = t[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth > max_depth) return false;
        break;
      case '}':
      case ']':
        if (--depth < 0) return false;
        break;
      case ',':
        if (depth == 0) {
          std::string_view e = TrimSpace(t.substr(start, i - start));
          if (e.empty()) return false;
          out->push_back(e);
          start = i + 1;
        }
        break;
      default:
        break;
    }
  }
  if (in_string || depth != 0) return false;
  std::string_view last = TrimSpace(t.substr(start, t.size() - 1 - start));
  if (last.empty()) return out->empty();  // "[]" (but not "[a,]")
  out->push_back(last);
  return true;
}

}  // namespace

Status ClusterBuckets::DecodeBucket(std::string_view bytes, uint32_t index, uint32_t buckets,
                                    size_t max_json_bytes, std::vector<Node>* nodes,
                                    std::vector<std::string>* specs, size_t* json_bytes,
                                    const Previous* previous, std::vector<std::string>* texts) {
  const std::string field = "bucket " + std::to_string(index);
  std::string inflated;
  std::string_view text = bytes;
  if (bytes.empty() || bytes[0] != '[') {
    Result<std::string> r = ZlibDecompress(bytes, max_json_bytes);
    if (!r.ok()) {
      const std::string msg = field + ": " + r.status().message();
      return r.status().code() == Status::Code::kTooLarge ? Status::TooLarge(msg)
                                                          : Status::InvalidArgument(msg);
    }
    inflated = std::move(r).value();
    text = inflated;
  } else if (bytes.size() > max_json_bytes) {
    return Status::TooLarge(field + ": " + std::to_string(bytes.size()) +
                            " bytes of JSON, over what the cluster may hold");
  }
  std::vector<Node> out;
  std::vector<std::string> out_specs;
  std::vector<std::string> out_texts;
  // Fast path: one element at a time, a node whose text the previous
  // version of this bucket held is that version's node (a write changes a
  // few nodes of a bucket: the rest are a comparison of bytes, not a
  // parse). Anything it does not take apart cleanly goes to the DOM below.
  bool fast = false;
  std::vector<std::string_view> elems;
  if (texts != nullptr && SplitArray(text, &elems) && elems.size() <= limits::kMaxNodesPerCluster) {
    fast = true;
    const bool reuse = previous != nullptr && previous->texts != nullptr &&
                       previous->texts->size() == previous->nodes->size() &&
                       previous->specs->size() == previous->nodes->size();
    const size_t prev_n = reuse ? previous->texts->size() : 0;
    out.resize(elems.size());
    out_specs.resize(elems.size());
    out_texts.resize(elems.size());
    size_t j = 0;  // the next unused node of the previous version
    for (size_t k = 0; k < elems.size() && fast; ++k) {
      bool found = false;
      for (size_t m = j; m < prev_n; ++m) {
        if ((*previous->texts)[m] != elems[k]) continue;
        out[k] = (*previous->nodes)[m];
        out_specs[k] = (*previous->specs)[m];
        j = m + 1;
        found = true;
        break;
      }
      if (!found) {
        json doc;
        if (!ParseJsonText(elems[k], &doc).ok() ||
            !DecodeNode(doc, field + "[" + std::to_string(k) + "]", &out[k]).ok()) {
          fast = false;
          break;
        }
        out_specs[k] = out[k].Spec();
      }
      out_texts[k].assign(elems[k]);
    }
  }
  if (!fast) {
    out_texts.clear();
    json doc;
    Status s = ParseJsonText(text, &doc);
    if (!s.ok()) return Status::InvalidArgument(field + ": " + s.message());
    if (!doc.is_array()) return JsonTypeError(field, doc, "an array of node objects");
    if (doc.size() > limits::kMaxNodesPerCluster) {
      return Status::InvalidArgument(field + ": " + std::to_string(doc.size()) + " nodes");
    }
    out.assign(doc.size(), Node{});
    out_specs.assign(doc.size(), std::string());
    for (size_t k = 0; k < doc.size(); ++k) {
      s = DecodeNode(doc[k], field + "[" + std::to_string(k) + "]", &out[k]);
      if (!s.ok()) return s;
      out_specs[k] = out[k].Spec();
    }
  }
  for (size_t k = 0; k < out.size(); ++k) {
    const uint32_t home = BucketOf(out_specs[k], buckets);
    if (home != index) {
      return Status::InvalidArgument(field + "[" + std::to_string(k) +
                                     "]: " + QuoteForError(out_specs[k]) + " belongs in bucket " +
                                     std::to_string(home) + ", not " + std::to_string(index));
    }
  }
  std::vector<const std::string*> sorted;
  sorted.reserve(out_specs.size());
  for (const std::string& sp : out_specs) sorted.push_back(&sp);
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t k = 1; k < sorted.size(); ++k) {
    if (*sorted[k] == *sorted[k - 1]) {
      return Status::InvalidArgument(field + ": duplicate node " + QuoteForError(*sorted[k]));
    }
  }
  *json_bytes = text.size();
  *nodes = std::move(out);
  *specs = std::move(out_specs);
  if (texts != nullptr) *texts = std::move(out_texts);
  return Status::Ok();
}

std::string ClusterBuckets::BucketName(uint64_t generation, uint32_t index) {
  return std::to_string(generation) + "-" + std::to_string(index);
}

bool ClusterBuckets::ParseBucketName(std::string_view name, uint64_t* generation, uint32_t* index) {
  const size_t dash = name.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return false;
  const char* end = name.data() + name.size();
  auto g = std::from_chars(name.data(), name.data() + dash, *generation);
  if (g.ec != std::errc() || g.ptr != name.data() + dash) return false;
  auto i = std::from_chars(name.data() + dash + 1, end, *index);
  return i.ec == std::errc() && i.ptr == end;
}

}  // namespace jcm
