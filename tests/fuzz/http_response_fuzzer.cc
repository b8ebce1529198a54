// Fuzz target: the health prober's HTTP response scanner
// (HttpResponseScanner in healthcheck/native_http_prober.h), fed the input
// in pieces as a socket would deliver them. The first byte picks the piece
// sizes. Checks:
//  - Feed consumes at most what it was given, and less only once finished;
//  - bytes() is the total consumed; a finished scanner stays finished;
//  - when no line is longer than the scanner keeps of a split line, the
//    outcome does not depend on how the input was split.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "healthcheck/native_http_prober.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    __builtin_printf("invariant violated: %s\n", what);
    std::abort();
  }
}

struct Outcome {
  bool done, failed;
  int status;
  bool keep_alive;
  size_t bytes;
  bool operator==(const Outcome&) const = default;
};

Outcome Scan(const char* data, size_t size, size_t piece, bool eof) {
  jcm::HttpResponseScanner s;
  s.Reset();
  size_t fed = 0;
  size_t consumed = 0;
  while (fed < size) {
    const size_t n = std::min(piece, size - fed);
    const bool finished_before = s.done() || s.failed();
    const size_t used = s.Feed(data + fed, n);
    Check(used <= n, "Feed uses at most what it is given");
    Check(used == n || s.done() || s.failed(), "Feed stops early only when finished");
    Check(!finished_before || used == 0, "a finished scanner consumes nothing");
    consumed += used;
    Check(s.bytes() == consumed, "bytes() counts what was consumed");
    if (used < n) break;
    fed += n;
  }
  if (eof) s.OnEof();
  Check(!(s.done() && s.failed()), "done and failed exclude each other");
  // Three digits, whatever they are: "020" is read as 20 (and then is not
  // an accepted code), which is the prober's documented leniency.
  if (s.done()) Check(s.status() >= 0 && s.status() <= 999, "a done response has a status");
  return Outcome{s.done(), s.failed(), s.status(), s.keep_alive(), s.bytes()};
}

bool HasLongLine(const char* data, size_t size, size_t max) {
  size_t run = 0;
  for (size_t i = 0; i < size; ++i) {
    run = data[i] == '\n' ? 0 : run + 1;
    if (run >= max) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  const bool eof = (data[0] & 0x80) != 0;
  const char* text = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  Outcome whole = Scan(text, n, n == 0 ? 1 : n, eof);
  Outcome split = Scan(text, n, piece, eof);
  if (!HasLongLine(text, n, 500)) Check(whole == split, "outcome independent of the split");
  return 0;
}
