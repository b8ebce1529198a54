// ZlibBomb: a zlib stream that inflates far beyond its own size, for tests
// of decoders that must refuse it at their cap.
//
// Thread-safety: a pure function.
#pragma once

#include <zlib.h>

#include <string>

namespace jcm::testing {

// A zlib stream of `prefix`, then `filler_bytes` spaces, then `"}`, deflated
// in pieces so the caller never holds the inflated text itself. Empty if
// zlib refuses to start.
inline std::string ZlibBomb(const std::string& prefix, size_t filler_bytes) {
  z_stream zs{};
  if (deflateInit(&zs, Z_BEST_COMPRESSION) != Z_OK) return "";
  std::string out;
  char buf[64 * 1024];
  const std::string filler(1 << 20, ' ');
  auto feed = [&](const std::string& in, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof(buf);
      deflate(&zs, flush);
      out.append(buf, sizeof(buf) - zs.avail_out);
    } while (zs.avail_out == 0);
  };
  feed(prefix, Z_NO_FLUSH);
  for (size_t done = 0; done < filler_bytes; done += filler.size()) feed(filler, Z_NO_FLUSH);
  feed("\"}", Z_FINISH);
  deflateEnd(&zs);
  return out;
}

}  // namespace jcm::testing
