// The web dashboard's files (ui/), embedded into the binary at build time by
// cmake/EmbedFiles.cmake, so jcm-server serves /ui/ with no files on disk and
// nothing fetched at run time.
//
// Thread-safety: the assets are immutable static data; FindUiAsset may be
// called from any thread, and its pointers stay valid for the whole program.
#pragma once

#include <string_view>

namespace jcm {

struct UiAsset {
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

// The embedded dashboard file at `path` ("/ui/", "/ui/app.js", ...); "/ui"
// and "/ui/" give index.html. nullptr if none. Matching is exact: no query
// string, no "..", no case folding.
const UiAsset* FindUiAsset(std::string_view path);

}  // namespace jcm
