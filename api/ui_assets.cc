#include "api/ui_assets.h"

#include <cstddef>
#include <string>
#include <unordered_map>

namespace jcm {
namespace ui_internal {

// Defined in the source cmake/EmbedFiles.cmake generates; ends with a
// {nullptr, ...} entry.
struct EmbeddedFile {
  const char* path;
  const char* content_type;
  const char* data;
  std::size_t size;
};
extern const EmbeddedFile kEmbeddedUiFiles[];

}  // namespace ui_internal

namespace {

using AssetMap = std::unordered_map<std::string_view, UiAsset>;

// Built once, on first use (thread-safe static initialisation), then only read.
const AssetMap& Assets() {
  static const AssetMap* const map = [] {
    auto* m = new AssetMap();
    for (const ui_internal::EmbeddedFile* f = ui_internal::kEmbeddedUiFiles; f->path; ++f) {
      (*m)[f->path] = UiAsset{f->content_type, std::string_view(f->data, f->size)};
    }
    return m;
  }();
  return *map;
}

}  // namespace

const UiAsset* FindUiAsset(std::string_view path) {
  if (path == "/ui" || path == "/ui/") path = "/ui/index.html";
  const AssetMap& assets = Assets();
  auto it = assets.find(path);
  return it == assets.end() ? nullptr : &it->second;
}

}  // namespace jcm
