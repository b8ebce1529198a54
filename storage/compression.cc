#include "storage/compression.h"

#include <zlib.h>

namespace jcm {

std::string ZlibCompress(std::string_view data) {
  uLongf bound = compressBound(static_cast<uLong>(data.size()));
  std::string out(bound, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &bound,
                     reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()),
                     Z_BEST_SPEED);
  if (rc != Z_OK) return {};
  out.resize(bound);
  return out;
}

Result<std::string> ZlibDecompress(std::string_view data, size_t max_output) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Status::Internal("inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::InvalidArgument(std::string("corrupt zlib stream: ") +
                                     (zs.msg ? zs.msg : "inflate failed"));
    }
    out.append(chunk, sizeof(chunk) - zs.avail_out);
    if (out.size() > max_output) {
      inflateEnd(&zs);
      return Status::TooLarge("zlib stream inflates beyond " + std::to_string(max_output) +
                              " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Status::InvalidArgument("truncated zlib stream");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace jcm
