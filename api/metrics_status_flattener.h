// MetricsStatusFlattener: turns the JSON of GET /sys/status into Prometheus
// samples, generically, so a counter added to /sys/status appears on
// /metrics with no more code:
//
//   - a number at path a.bC.d becomes the untyped sample jcm_a_b_c_d
//     (keys snake_cased, joined with '_', anything outside [a-z0-9_]
//     replaced by '_'); untyped because the JSON does not say whether a
//     value is a counter or a gauge; a unit token is put in base units
//     as Prometheus wants (lastRoundMs -> _last_round_seconds, value/1000);
//   - a boolean becomes 0 or 1 the same way;
//   - the strings of one object become the labels of one gauge
//     jcm_<path>_info with the value 1 (jcm_info at the top), the
//     convention for text facts such as the leader's address or
//     ZooKeeper's state;
//   - null and arrays are skipped (members are counted by jcm_members).
//
// A name already written (an explicit gauge of the same name, or two keys
// that snake_case alike) is skipped, never repeated.
//
// Thread-safety: stateless; Write may be called from any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/metrics_writer.h"

namespace jcm {

class MetricsStatusFlattener {
 public:
  // Writes `status` (an object; anything else writes nothing) under
  // `prefix` (e.g. "jcm").
  static void Write(const nlohmann::json& status, const std::string& prefix, MetricsWriter* out);
  // "forwardFailures" -> "forward_failures", "NOT_FOUND" -> "not_found",
  // "2xx" -> "2xx", "a-b" -> "a_b".
  static std::string SnakeCase(std::string_view key);
  // A snake_case name with its unit tokens in base units, and the factor
  // its value takes: "jcm_last_round_ms" -> "jcm_last_round_seconds" (x
  // 0.001), "checks_per_sec" -> "checks_per_second", "size_kb" ->
  // "size_bytes" (x 1024).
  static std::string BaseUnits(const std::string& name, double* factor);
};

}  // namespace jcm
