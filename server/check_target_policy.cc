#include "server/check_target_policy.h"

#include <arpa/inet.h>

#include <cstring>

#include "model/validation.h"

namespace jcm {
namespace {

// Parses an address into 16 bytes; an IPv4 address (or an IPv4-mapped IPv6
// one, which connects to it) fills the first 4 with v6 = false.
bool ParseAddress(std::string_view text, bool* v6, std::array<uint8_t, 16>* out) {
  if (text.empty() || text.size() > 45) return false;
  std::string s(text);
  out->fill(0);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    std::memcpy(out->data(), &a4, 4);
    *v6 = false;
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) != 1) return false;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a6.s6_addr, kMapped, 12) == 0) {
    std::memcpy(out->data(), a6.s6_addr + 12, 4);
    *v6 = false;
    return true;
  }
  std::memcpy(out->data(), a6.s6_addr, 16);
  *v6 = true;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Status CheckTargetPolicy::ParseNet(std::string_view text, const char* flag, Net* out) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(std::string(flag) + ": " + QuoteForError(text) + " " + why);
  };
  std::string_view addr = text;
  int prefix = -1;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return bad("has no valid prefix length");
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return bad("has no valid prefix length");
      prefix = prefix * 10 + (c - '0');
    }
  }
  if (!ParseAddress(addr, &out->v6, &out->addr)) {
    return bad("is not a CIDR (ADDRESS/PREFIX, IPv4 or IPv6)");
  }
  // A mapped address given as a network is judged in IPv4 terms; its
  // prefix counts the 96 mapping bits.
  bool mapped = !out->v6 && addr.find(':') != std::string_view::npos;
  int max = out->v6 ? 128 : 32;
  if (mapped && prefix >= 0) {
    if (prefix < 96) return bad("is an IPv4-mapped network shorter than /96");
    prefix -= 96;
  }
  if (prefix < 0) prefix = max;
  if (prefix > max) return bad("has a prefix longer than /" + std::to_string(max));
  out->prefix = prefix;
  // Host bits are ignored (10.1.2.3/8 is 10.0.0.0/8), as ip(8) does.
  for (int bit = prefix; bit < 128; ++bit) {
    out->addr[static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  out->text = std::string(text);
  return Status::Ok();
}

bool CheckTargetPolicy::Contains(const Net& net, bool v6, const std::array<uint8_t, 16>& addr) {
  if (net.v6 != v6) return false;
  int full = net.prefix / 8;
  if (std::memcmp(net.addr.data(), addr.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = net.prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[static_cast<size_t>(full)] & mask) == net.addr[static_cast<size_t>(full)];
}

CheckTargetPolicy::CheckTargetPolicy() {
  struct Builtin {
    const char* net;
    const char* reason;
  };
  static constexpr Builtin kBuiltins[] = {
      {"169.254.0.0/16", "refused: link-local 169.254.0.0/16"},
      {"fe80::/10", "refused: link-local fe80::/10"},
      {"0.0.0.0/32", "refused: unspecified address 0.0.0.0"},
      {"::/128", "refused: unspecified address ::"},
  };
  for (const Builtin& b : kBuiltins) {
    Net n;
    ParseNet(b.net, "built-in", &n);
    n.reason = b.reason;
    deny_.push_back(std::move(n));
  }
}

Result<CheckTargetPolicy> CheckTargetPolicy::Create(std::string_view allow, std::string_view deny) {
  CheckTargetPolicy p;
  struct List {
    std::string_view text;
    const char* flag;
    std::vector<Net>* into;
  };
  for (const List& list :
       {List{allow, "--check-allow", &p.allow_}, List{deny, "--check-deny", &p.deny_}}) {
    std::string_view rest = list.text;
    while (!Trim(rest).empty()) {
      size_t comma = rest.find(',');
      std::string_view entry = Trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (entry.empty()) {
        return Status::InvalidArgument(std::string(list.flag) + ": an empty entry in " +
                                       QuoteForError(list.text));
      }
      Net n;
      Status s = ParseNet(entry, list.flag, &n);
      if (!s.ok()) return s;
      n.reason = std::string("refused by ") + list.flag + " " + n.text;
      list.into->push_back(std::move(n));
    }
  }
  return p;
}

std::string CheckTargetPolicy::Refusal(std::string_view ip) const {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};
  if (!ParseAddress(ip, &v6, &addr)) return "refused: not an IP address";
  for (const Net& n : deny_) {
    if (Contains(n, v6, addr)) return n.reason;
  }
  if (allow_.empty()) return {};
  for (const Net& n : allow_) {
    if (Contains(n, v6, addr)) return {};
  }
  return "refused: outside --check-allow";
}

Status CheckTargetPolicy::CheckNewNodes(const std::vector<Node>& nodes, const std::string& field,
                                        const std::function<bool(const Node&)>& stored) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::string why = Refusal(nodes[i].ip);
    if (why.empty() || (stored && stored(nodes[i]))) continue;
    return Status::InvalidArgument(field + "[" + std::to_string(i) + "] " +
                                   QuoteForError(nodes[i].Spec()) +
                                   ": not a health check target, " + why);
  }
  return Status::Ok();
}

std::string CheckTargetPolicy::MarkOf(const Cluster& cluster, const Node& node) const {
  return cluster.check_type == CheckType::kNone ? std::string() : Refusal(node.ip);
}

std::vector<std::string> CheckTargetPolicy::AllowText() const {
  std::vector<std::string> out;
  for (const Net& n : allow_) out.push_back(n.text);
  return out;
}

std::vector<std::string> CheckTargetPolicy::DenyText() const {
  std::vector<std::string> out;
  for (const Net& n : deny_) out.push_back(n.text);
  return out;
}

std::shared_ptr<const Cluster> WithoutRefusedNodes(std::shared_ptr<const Cluster> cluster,
                                                   size_t* refused) {
  size_t count = 0;
  for (const Node& n : cluster->nodes) count += n.not_checked.empty() ? 0 : 1;
  if (count == 0) return cluster;
  *refused += count;
  auto copy = std::make_shared<Cluster>(*cluster);
  copy->nodes.RemoveIf([](const Node& n) { return !n.not_checked.empty(); });
  return copy;
}

}  // namespace jcm
