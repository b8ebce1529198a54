#include "subscriber/src/disk_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "model/cluster_codec.h"

namespace jcm::internal {
namespace {

constexpr const char* kFormat = "jcm-subscriber-cache";

Status Errno(const std::string& what, const std::string& path) {
  return Status::Unavailable(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Status WriteCacheFile(const std::string& path,
                      const std::vector<std::shared_ptr<const Cluster>>& clusters) {
  nlohmann::json doc;
  doc["format"] = kFormat;
  doc["formatVersion"] = 1;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : clusters) list.push_back(EncodeCluster(*c, ClusterJsonForm::kFull));
  doc["clusters"] = std::move(list);
  const std::string text = doc.dump();

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", tmp);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Errno("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  // Data must be on disk before the rename makes it the cache, or a crash
  // could leave an empty file under the real name.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    Status s = Errno("fsync/close", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("rename to " + path + " from", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

Status ReadCacheFile(const std::string& path, std::vector<Cluster>* clusters, int* skipped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cache file " + path + ": cannot open");
  // Read in chunks and stop past the cap, so a huge (or endless: a FIFO,
  // /dev/zero) file costs no more than the cap.
  std::string text;
  char chunk[64 * 1024];
  while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxCacheFileBytes) {
      return Status::TooLarge("cache file " + path + ": larger than " +
                              std::to_string(kMaxCacheFileBytes) + " bytes");
    }
  }
  nlohmann::json doc;
  Status s = ParseJsonText(text, &doc);
  if (!s.ok()) return Status::InvalidArgument("cache file " + path + ": " + s.message());
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != kFormat ||
      !doc.contains("clusters") || !doc["clusters"].is_array()) {
    return Status::InvalidArgument("cache file " + path + ": not a " + kFormat + " file");
  }
  *skipped = 0;
  for (const auto& cj : doc["clusters"]) {
    Cluster c;
    if (DecodeCluster(cj, &c).ok()) {
      clusters->push_back(std::move(c));
    } else {
      ++*skipped;
    }
  }
  return Status::Ok();
}

}  // namespace jcm::internal
