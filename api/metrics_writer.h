// MetricsWriter: renders the Prometheus text exposition format, version
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
//
//   # HELP <name> <help, with \ and newline escaped>
//   # TYPE <name> counter|gauge|histogram|untyped
//   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
//
// Every sample of a family follows its HELP and TYPE lines, and each family
// is written once (callers group their samples; Family() refuses a name seen
// before so a repeated family can never reach a scraper).
//
// Why our own: Debian 12's prometheus-cpp (1.0.1) writes HELP text without
// escaping it (a newline in help breaks the exposition) and its histogram
// takes a mutex per observation.
//
// Thread-safety: none; one writer per rendering, on one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace jcm {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };
const char* ToString(MetricType type);

class MetricsWriter {
 public:
  // Starts a family: its HELP and TYPE lines. False (nothing written) if a
  // family of that name was written already or the name is not a valid
  // metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
  bool Family(std::string_view name, std::string_view help, MetricType type);
  // One sample line. `name` is the family's name, or it plus a suffix
  // (_bucket, _sum, _count).
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  void Sample(std::string_view name, const MetricLabels& labels, uint64_t value);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

  // Exposition pieces, public for the tests and for callers that build
  // names from data.
  static bool ValidMetricName(std::string_view name);
  static bool ValidLabelName(std::string_view name);
  // A double as the format wants it: shortest text that reads back exactly,
  // "+Inf", "-Inf", "NaN".
  static std::string FormatValue(double value);
  static std::string EscapeHelp(std::string_view help);
  static std::string EscapeLabelValue(std::string_view value);

 private:
  void SampleText(std::string_view name, const MetricLabels& labels, std::string_view value);

  std::string out_;
  std::unordered_set<std::string> families_;
};

}  // namespace jcm
