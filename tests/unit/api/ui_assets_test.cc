// FindUiAsset: the dashboard files embedded at build time, looked up by URL
// path. The on-disk ui/ directory is the reference: every file in it must be
// served byte for byte with its content type, and nothing else.
#include "api/ui_assets.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace jcm {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("JCM_SOURCE_DIR");
  return dir ? dir : ".";
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Body(std::string_view path) {
  const UiAsset* a = FindUiAsset(path);
  return a ? std::string(a->body) : std::string();
}

TEST(UiAssets, RootAndSlashServeTheIndexPage) {
  const UiAsset* slash = FindUiAsset("/ui/");
  const UiAsset* bare = FindUiAsset("/ui");
  const UiAsset* named = FindUiAsset("/ui/index.html");
  ASSERT_NE(slash, nullptr);
  EXPECT_EQ(slash, bare);
  EXPECT_EQ(slash, named);
  EXPECT_EQ(slash->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(slash->body.substr(0, 15), "<!doctype html>");
  EXPECT_EQ(slash->body, ReadFile(std::filesystem::path(SourceDir()) / "ui" / "index.html"));
}

TEST(UiAssets, ScriptStyleAndIconHaveTheirContentTypes) {
  ASSERT_NE(FindUiAsset("/ui/main.js"), nullptr);
  EXPECT_EQ(FindUiAsset("/ui/main.js")->content_type, "text/javascript; charset=utf-8");
  ASSERT_NE(FindUiAsset("/ui/style.css"), nullptr);
  EXPECT_EQ(FindUiAsset("/ui/style.css")->content_type, "text/css; charset=utf-8");
  ASSERT_NE(FindUiAsset("/ui/favicon.svg"), nullptr);
  EXPECT_EQ(FindUiAsset("/ui/favicon.svg")->content_type, "image/svg+xml");
}

TEST(UiAssets, UnknownPathsAreNull) {
  for (const char* p : {"", "/", "/ui//", "/ui/nope.js", "/UI/", "/ui/main.js?v=1", "/ui/MAIN.JS",
                        "/ui/../CMakeLists.txt", "/ui/./main.js", "/uix", "/ui/index.html/",
                        "main.js", "/c/ui/main.js"}) {
    EXPECT_EQ(FindUiAsset(p), nullptr) << p;
  }
}

// Every file of ui/ is embedded, byte for byte, and nothing else is.
TEST(UiAssets, EveryFileUnderUiIsEmbeddedExactly) {
  const std::filesystem::path dir = std::filesystem::path(SourceDir()) / "ui";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " (JCM_SOURCE_DIR unset?)";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string url = "/ui/" + entry.path().filename().string();
    const UiAsset* a = FindUiAsset(url);
    ASSERT_NE(a, nullptr) << url << " is in ui/ but not embedded: re-run cmake";
    const std::string disk = ReadFile(entry.path());
    // Not EXPECT_EQ: a mismatch would print both files whole.
    EXPECT_TRUE(a->body == disk) << url << " embedded " << a->body.size() << " bytes, ui/ holds "
                                 << disk.size() << ": the build is stale";
    EXPECT_FALSE(a->content_type.empty()) << url;
  }
  EXPECT_GE(files, 4);
}

// The page loads only what is embedded: every /ui/... URL index.html and the
// modules reference (src, href, import) resolves, so the browser never gets
// a 404 (which it would log as a console error).
TEST(UiAssets, EveryReferencedFileExists) {
  std::vector<std::string> sources = {Body("/ui/")};
  const std::filesystem::path dir = std::filesystem::path(SourceDir()) / "ui";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".js") {
      sources.push_back(Body("/ui/" + entry.path().filename().string()));
    }
  }
  const std::regex html_ref(R"re((?:src|href)="(/ui/[^"]+)")re");
  const std::regex import_ref(R"re(from "\./([^"]+)")re");
  int refs = 0;
  for (const std::string& text : sources) {
    for (std::sregex_iterator it(text.begin(), text.end(), html_ref), end; it != end; ++it) {
      ++refs;
      EXPECT_NE(FindUiAsset((*it)[1].str()), nullptr) << (*it)[1];
    }
    for (std::sregex_iterator it(text.begin(), text.end(), import_ref), end; it != end; ++it) {
      ++refs;
      EXPECT_NE(FindUiAsset("/ui/" + (*it)[1].str()), nullptr) << (*it)[1];
    }
  }
  EXPECT_GE(refs, 5);
}

}  // namespace
}  // namespace jcm
