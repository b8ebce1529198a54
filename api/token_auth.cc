#include "api/token_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

namespace jcm {

namespace {

constexpr size_t kMinTokenLength = 16;

TokenSet::Digest Sha256(std::string_view text) {
  TokenSet::Digest d{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

// True iff `d` is in `set`; looks at every entry whatever it finds.
bool ContainsConstantTime(const std::vector<TokenSet::Digest>& set, const TokenSet::Digest& d) {
  int found = 0;
  for (const TokenSet::Digest& x : set) found |= CRYPTO_memcmp(x.data(), d.data(), d.size()) == 0;
  return found != 0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Status ParseTokens(std::string_view text, TokenSet* out) {
  TokenSet set;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    size_t sp = line.find_first_of(" \t");
    std::string where = "tokens file line " + std::to_string(line_no);
    if (sp == std::string_view::npos) {
      return Status::InvalidArgument(where + ": expected '<write|read> <token>'");
    }
    std::string_view role = line.substr(0, sp);
    std::string_view token = Trim(line.substr(sp + 1));
    if (token.find_first_of(" \t") != std::string_view::npos) {
      return Status::InvalidArgument(where + ": the token holds a space");
    }
    if (token.size() < kMinTokenLength) {
      return Status::InvalidArgument(where + ": the token is shorter than " +
                                     std::to_string(kMinTokenLength) + " characters");
    }
    if (role == "write") {
      set.write.push_back(Sha256(token));
    } else if (role == "read") {
      set.read.push_back(Sha256(token));
    } else {
      return Status::InvalidArgument(where + ": role '" + std::string(role) +
                                     "' is not 'write' or 'read'");
    }
  }
  *out = std::move(set);
  return Status::Ok();
}

TokenAuth::TokenAuth(std::string path) : path_(std::move(path)) {
  set_ = std::make_shared<const TokenSet>();
}

Status TokenAuth::Reload() {
  if (path_.empty()) return Status::Ok();
  std::ifstream in(path_);
  if (!in) return Status::InvalidArgument("--tokens-file: cannot read '" + path_ + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto set = std::make_shared<TokenSet>();
  Status s = ParseTokens(ss.str(), set.get());
  if (!s.ok()) return s;
  std::lock_guard lock(mu_);
  set_ = std::move(set);
  return Status::Ok();
}

std::shared_ptr<const TokenSet> TokenAuth::Current() const {
  std::lock_guard lock(mu_);
  return set_;
}

bool TokenAuth::writes_guarded() const { return !Current()->write.empty(); }

Status TokenAuth::Check(std::string_view authorization, bool write) const {
  std::shared_ptr<const TokenSet> set = Current();
  bool guarded = write ? !set->write.empty() : !set->read.empty();
  if (!guarded) return Status::Ok();
  const std::string need = write ? "write" : "read";
  std::string_view header = Trim(authorization);
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) {
    return Status::Unauthenticated("authorization: a bearer token with " + need +
                                   " access is required");
  }
  TokenSet::Digest d = Sha256(Trim(header.substr(kBearer.size())));
  bool is_write = ContainsConstantTime(set->write, d);
  bool is_read = ContainsConstantTime(set->read, d);
  if (is_write || (!write && is_read)) return Status::Ok();
  if (is_read) return Status::PermissionDenied("authorization: the token may read, not write");
  return Status::Unauthenticated("authorization: the token is not recognised");
}

}  // namespace jcm
