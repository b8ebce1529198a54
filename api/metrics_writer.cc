#include "api/metrics_writer.h"

#include <charconv>
#include <cmath>

namespace jcm {

const char* ToString(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kUntyped:
      return "untyped";
  }
  return "untyped";
}

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool MetricsWriter::ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool MetricsWriter::ValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  // Names starting with "__" are reserved for Prometheus itself.
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

std::string MetricsWriter::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest round-trip form: 0.005 stays "0.005", 1e+20 stays short.
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

std::string MetricsWriter::EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string MetricsWriter::EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

bool MetricsWriter::Family(std::string_view name, std::string_view help, MetricType type) {
  if (!ValidMetricName(name)) return false;
  if (!families_.insert(std::string(name)).second) return false;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += EscapeHelp(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += ToString(type);
  out_ += '\n';
  return true;
}

void MetricsWriter::SampleText(std::string_view name, const MetricLabels& labels,
                               std::string_view value) {
  out_ += name;
  bool first = true;
  for (const auto& [key, val] : labels) {
    // A label the format cannot carry is dropped rather than corrupting
    // the exposition; names come from our code, so this does not happen
    // in practice.
    if (!ValidLabelName(key)) continue;
    out_ += first ? '{' : ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    out_ += EscapeLabelValue(val);
    out_ += '"';
  }
  if (!first) out_ += '}';
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void MetricsWriter::Sample(std::string_view name, const MetricLabels& labels, double value) {
  SampleText(name, labels, FormatValue(value));
}

void MetricsWriter::Sample(std::string_view name, const MetricLabels& labels, uint64_t value) {
  SampleText(name, labels, std::to_string(value));
}

}  // namespace jcm
