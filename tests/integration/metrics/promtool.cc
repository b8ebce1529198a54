#include "tests/integration/metrics/promtool.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace jcm::testing {

std::string FindPromtool() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/promtool";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

namespace {

// Single quotes for sh: the paths are ours (a temp dir, the source tree),
// but a quote in them must not break the command.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs `cmd` under sh; its output and exit code.
PromtoolResult Run(const std::string& cmd) {
  PromtoolResult result;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) {
    result.output = "popen failed for: " + cmd;
    return result;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

PromtoolResult RunPromtoolCheck(const std::string& promtool, const std::string& what,
                                const std::string& file) {
  std::string cmd = ShellQuote(promtool) + " check " + what + " ";
  cmd += what == "metrics" ? "< " + ShellQuote(file) : ShellQuote(file);
  return Run(cmd + " 2>&1");
}

PromtoolResult RunPromtoolTestRules(const std::string& promtool, const std::string& file) {
  return Run(ShellQuote(promtool) + " test rules " + ShellQuote(file) + " 2>&1");
}

}  // namespace jcm::testing
