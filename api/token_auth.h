// TokenAuth: API tokens from --tokens-file, one per line as
// "<role> <token>", role `write` or `read` (write implies read); blank lines
// and lines starting with '#' are ignored.
//
//   - The file names a write token: every mutating route needs
//     "Authorization: Bearer <token>" of role write. None or an unknown
//     token -> Unauthenticated (401); a read token -> PermissionDenied (403).
//   - The file names a read token: reads, /sub, /sys/status and /metrics
//     need a token of either role too. Otherwise they stay open, so JCM's
//     own Java client (which sends none) keeps working.
//   - /healthz, /readyz and the dashboard's static files are always open.
//
// Only SHA-256 digests of the tokens are kept, and a presented token is
// compared with every one of them in constant time, so neither the time of
// a refusal nor a memory dump gives a token away. No message names a token.
//
// Thread-safety: all methods are thread-safe. Reload() swaps in a new set
// atomically; a check in flight uses the set it started with.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "model/status.h"

namespace jcm {

struct TokenSet {
  using Digest = std::array<unsigned char, 32>;
  std::vector<Digest> write;
  std::vector<Digest> read;
};

// Parses a tokens file's text. InvalidArgument naming the line number (never
// the token) for a line that is not "<write|read> <token>", or a token
// shorter than 16 characters.
Status ParseTokens(std::string_view text, TokenSet* out);

class TokenAuth {
 public:
  // `path` empty: no tokens, every route open.
  explicit TokenAuth(std::string path);

  // (Re-)reads the file. On error the previous tokens stay in force.
  Status Reload();
  bool writes_guarded() const;

  // `authorization`: the request's Authorization header ("" if none).
  // `write`: the route mutates. OK, Unauthenticated or PermissionDenied.
  Status Check(std::string_view authorization, bool write) const;

 private:
  std::shared_ptr<const TokenSet> Current() const;

  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const TokenSet> set_;  // GUARDED_BY(mu_)
};

}  // namespace jcm
