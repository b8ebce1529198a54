#include "api/metrics_status_flattener.h"

namespace jcm {

using nlohmann::json;

std::string MetricsStatusFlattener::SnakeCase(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 4);
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool upper = c >= 'A' && c <= 'Z';
    bool lower = c >= 'a' && c <= 'z';
    bool digit = c >= '0' && c <= '9';
    if (upper) {
      // A word starts at an upper-case letter after a lower-case one or a
      // digit ("selfId"), not inside a run of capitals ("NOT_FOUND").
      char prev = i > 0 ? key[i - 1] : '\0';
      bool prev_lower_or_digit = (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
      if (prev_lower_or_digit) out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else if (lower || digit) {
      out += c;
    } else {
      out += '_';
    }
  }
  return out;
}

namespace {

struct UnitToken {
  const char* token;
  const char* base;
  double factor;  // value in the token's unit times factor = value in base
};

// Prometheus wants base units (seconds, bytes) spelled out; promtool
// refuses "_ms", "_sec", "_kb"... and "milliseconds", "minutes".
constexpr UnitToken kUnits[] = {
    {"ns", "seconds", 1e-9},
    {"us", "seconds", 1e-6},
    {"ms", "seconds", 1e-3},
    {"msec", "seconds", 1e-3},
    {"millis", "seconds", 1e-3},
    {"milliseconds", "seconds", 1e-3},
    {"s", "seconds", 1},
    {"sec", "seconds", 1},
    {"secs", "seconds", 1},
    {"m", "seconds", 60},
    {"min", "seconds", 60},
    {"mins", "seconds", 60},
    {"minutes", "seconds", 60},
    {"h", "seconds", 3600},
    {"hours", "seconds", 3600},
    {"d", "seconds", 86400},
    {"days", "seconds", 86400},
    {"b", "bytes", 1},
    {"kb", "bytes", 1024},
    {"mb", "bytes", 1024.0 * 1024},
    {"gb", "bytes", 1024.0 * 1024 * 1024},
};

std::string Join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "_" + key;
}

// Writes one number under `name` in base units.
void WriteNumber(const std::string& name, const json& value, MetricsWriter* out) {
  double factor = 1;
  std::string base = MetricsStatusFlattener::BaseUnits(name, &factor);
  if (!out->Family(base, "/sys/status " + name, MetricType::kUntyped)) return;
  if (factor == 1 && value.is_number_unsigned()) {
    out->Sample(base, {}, value.get<uint64_t>());
  } else {
    out->Sample(base, {}, value.get<double>() * factor);
  }
}

void WriteObject(const json& obj, const std::string& path, MetricsWriter* out) {
  MetricLabels info;
  for (const auto& [key, value] : obj.items()) {
    const std::string snake = MetricsStatusFlattener::SnakeCase(key);
    const std::string name = Join(path, snake);
    if (value.is_object()) {
      WriteObject(value, name, out);
    } else if (value.is_boolean()) {
      if (out->Family(name, "/sys/status " + name, MetricType::kUntyped)) {
        out->Sample(name, {}, uint64_t{value.get<bool>() ? 1u : 0u});
      }
    } else if (value.is_number()) {
      WriteNumber(name, value, out);
    } else if (value.is_string()) {
      if (MetricsWriter::ValidLabelName(snake)) info.emplace_back(snake, value.get<std::string>());
    }
  }
  if (!info.empty()) {
    const std::string name = Join(path, "info");
    if (out->Family(name, "/sys/status text facts of " + path + ", as labels",
                    MetricType::kGauge)) {
      out->Sample(name, info, uint64_t{1});
    }
  }
}

}  // namespace

std::string MetricsStatusFlattener::BaseUnits(const std::string& name, double* factor) {
  *factor = 1;
  std::string out;
  std::string prev;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('_', start);
    if (end == std::string::npos) end = name.size();
    std::string token = name.substr(start, end - start);
    std::string word = token;
    for (const UnitToken& u : kUnits) {
      if (token == u.token) {
        word = prev == "per" ? std::string(u.base, std::string_view(u.base).size() - 1) : u.base;
        // "per ms" is a rate: per second is 1000 times as many.
        *factor = prev == "per" ? *factor / u.factor : *factor * u.factor;
        break;
      }
    }
    if (!out.empty() || start > 0) out += '_';
    out += word;
    prev = token;
    start = end + 1;
  }
  return out;
}

void MetricsStatusFlattener::Write(const json& status, const std::string& prefix,
                                   MetricsWriter* out) {
  if (!status.is_object()) return;
  WriteObject(status, prefix, out);
}

}  // namespace jcm
