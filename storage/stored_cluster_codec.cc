#include "storage/stored_cluster_codec.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cluster_codec.h"
#include "model/cluster_text.h"
#include "model/limits.h"
#include "model/validation.h"

namespace jcm {

namespace {

using json = nlohmann::json;

// How far past the expected place a fragment of the previous version is
// looked for: removals in one write batch shift the rest by that many.
constexpr size_t kLookAhead = 64;

bool IsWhite(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWhite(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWhite(s.back())) s.remove_suffix(1);
  return s;
}

// Where the top-level "nodes" array is and its elements' text. False for
// any text this scan does not take apart cleanly (no or two "nodes" keys,
// a non-array value, an empty element, unbalanced brackets): the caller
// then decodes through the DOM, whose errors are the reference.
struct NodesSplit {
  size_t array_begin = 0;  // the '['
  size_t array_end = 0;    // the ']'
  std::vector<std::string_view> elements;
};

bool SplitNodes(std::string_view t, NodesSplit* out) {
  // Also the depth bound CheckJsonDepth enforces (one pass, not two).
  const int max_depth = static_cast<int>(limits::kMaxJsonDepth);
  int depth = 0;
  bool in_string = false;
  size_t string_start = 0;
  bool expect_key = false;      // at depth 1: the next string is a key
  bool last_key_nodes = false;  // the key just read (depth 1) is "nodes"
  bool await_array = false;     // after "nodes": the value must be an array
  bool in_nodes = false;
  bool found = false;
  size_t element_start = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (in_string) {
      // Most of the text is inside strings: jump to the next quote. It ends
      // the string unless escaped (an odd run of backslashes before it).
      const void* q = std::memchr(t.data() + i, '"', t.size() - i);
      if (q == nullptr) return false;
      i = static_cast<size_t>(static_cast<const char*>(q) - t.data());
      size_t backslashes = 0;
      while (i - backslashes - 1 > string_start && t[i - backslashes - 1] == '\\') ++backslashes;
      if (backslashes % 2 == 1) continue;
      in_string = false;
      if (depth == 1 && expect_key) {
        last_key_nodes = t.substr(string_start + 1, i - string_start - 1) == "nodes";
      }
      continue;
    }
    if (IsWhite(c)) continue;
    if (await_array) {
      if (c != '[' || found) return false;
      await_array = false;
      found = true;
      in_nodes = true;
      out->array_begin = i;
      element_start = i + 1;
      if (++depth > max_depth) return false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        string_start = i;
        break;
      case '{':
      case '[':
        if (++depth > max_depth) return false;
        if (depth == 1) {
          if (c != '{') return false;
          expect_key = true;
        }
        break;
      case '}':
      case ']':
        if (in_nodes && depth == 2) {
          if (c != ']') return false;
          std::string_view last = Trim(t.substr(element_start, i - element_start));
          if (!last.empty()) {
            out->elements.push_back(last);
          } else if (!out->elements.empty()) {
            return false;  // "[a,]"
          }
          out->array_end = i;
          in_nodes = false;
        }
        if (--depth < 0) return false;
        break;
      case ',':
        if (depth == 1) expect_key = true;
        if (in_nodes && depth == 2) {
          std::string_view e = Trim(t.substr(element_start, i - element_start));
          if (e.empty()) return false;
          out->elements.push_back(e);
          element_start = i + 1;
        }
        break;
      case ':':
        if (depth == 1) {
          expect_key = false;
          if (last_key_nodes) await_array = true;
          last_key_nodes = false;
        }
        break;
      default:
        break;
    }
  }
  return found && depth == 0 && !in_string && !in_nodes;
}

}  // namespace

std::string StoredClusterCodec::Encode(const Cluster& cluster) {
  return EncodeClusterText(cluster, ClusterJsonForm::kStored, InvalidUtf8::kStrict);
}

Status StoredClusterCodec::DecodeSlow(std::string_view text, Cluster* out) {
  json doc;
  Status s = ParseJsonText(text, &doc);
  if (!s.ok()) return s;
  return DecodeCluster(doc, out);
}

Status StoredClusterCodec::Decode(std::string text, FragmentCache* cache, Cluster* out) {
  auto next = std::make_unique<FragmentCache>();
  next->text_ = std::make_unique<const std::string>(std::move(text));
  const std::string_view t = *next->text_;
  NodesSplit split;
  if (!SplitNodes(t, &split) || split.elements.size() > limits::kMaxNodesPerCluster) {
    return Fallback(t, cache, out);
  }
  std::string head;
  head.reserve(split.array_begin + 2 + (t.size() - split.array_end));
  head.append(t.substr(0, split.array_begin));
  head += "[]";
  head.append(t.substr(split.array_end + 1));
  Cluster c;
  if (!DecodeSlow(head, &c).ok()) return Fallback(t, cache, out);
  c.nodes.resize(split.elements.size());
  next->nodes_.reserve(split.elements.size());
  // Spec hashes for the duplicate check: one vector, sorted once (a hash
  // set cost an allocation per node).
  std::vector<std::pair<uint64_t, uint32_t>> hashes;
  hashes.reserve(split.elements.size());
  std::vector<FragmentCache::Entry>* prev = cache != nullptr ? &cache->nodes_ : nullptr;
  size_t j = 0;  // the next unused entry of the previous version
  for (size_t i = 0; i < split.elements.size(); ++i) {
    const std::string_view e = split.elements[i];
    bool reused = false;
    if (prev != nullptr) {
      const size_t end = std::min(prev->size(), j + kLookAhead);
      for (size_t k = j; k < end; ++k) {
        if ((*prev)[k].text != e) continue;
        // Moved over: the previous cache is replaced by this one.
        FragmentCache::Entry& from = (*prev)[k];
        next->nodes_.push_back({e, std::move(from.node), std::move(from.spec), from.spec_hash});
        j = k + 1;
        reused = true;
        break;
      }
    }
    if (!reused) {
      json doc;
      FragmentCache::Entry parsed{e, Node{}, std::string(), 0};
      if (!ParseJsonText(e, &doc).ok() ||
          !DecodeNode(doc, "nodes[" + std::to_string(i) + "]", &parsed.node).ok()) {
        return Fallback(t, cache, out);
      }
      parsed.spec = parsed.node.Spec();
      parsed.spec_hash = std::hash<std::string>{}(parsed.spec);
      next->nodes_.push_back(std::move(parsed));
    }
    const FragmentCache::Entry& entry = next->nodes_.back();
    hashes.emplace_back(entry.spec_hash, static_cast<uint32_t>(i));
    c.nodes.Mutable(i) = entry.node;
  }
  std::sort(hashes.begin(), hashes.end());
  for (size_t k = 1; k < hashes.size(); ++k) {
    if (hashes[k].first == hashes[k - 1].first &&
        next->nodes_[hashes[k].second].spec == next->nodes_[hashes[k - 1].second].spec) {
      return Fallback(t, cache, out);  // the same spec twice: DecodeCluster's error
    }
  }
  *out = std::move(c);
  if (cache != nullptr) *cache = std::move(*next);
  return Status::Ok();
}

Status StoredClusterCodec::Fallback(std::string_view text, FragmentCache* cache, Cluster* out) {
  // Entries were moved out of the previous cache: it is dropped (the next
  // decode parses every node once). Only unreadable text gets here.
  if (cache != nullptr) *cache = FragmentCache{};
  return DecodeSlow(text, out);
}

}  // namespace jcm
