// Promtool: runs Prometheus' `promtool` (Debian package `prometheus`) on a
// file, for the metrics integration test.
//
// Thread-safety: free functions; each call runs its own child process.
#pragma once

#include <string>

namespace jcm::testing {

// The path of promtool, or "" when it is not installed.
std::string FindPromtool();

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// `promtool check metrics < file` or `promtool check rules file`
// (`what` is "metrics" or "rules"). promtool reads only the file; it
// opens no socket.
PromtoolResult RunPromtoolCheck(const std::string& promtool, const std::string& what,
                                const std::string& file);

// `promtool test rules file`: the alert unit tests in `file` (whose
// rule_files are relative to it).
PromtoolResult RunPromtoolTestRules(const std::string& promtool, const std::string& file);

}  // namespace jcm::testing
