// MetricsRegistry: named families of counters, gauges and histograms, each
// family holding one metric per label set, rendered in the Prometheus text
// format by MetricsWriter.
//
// Registration (Counter/Gauge/Histogram) looks a metric up or creates it and
// returns a pointer that stays valid as long as the registry; callers keep
// it and update it without any lock. Asking for a name already registered
// with another type returns nullptr.
//
// Thread-safety: every method may be called from any thread. Registration
// and Render take one mutex; updates through the returned pointers take
// none.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/metrics_histogram.h"
#include "api/metrics_scalar.h"
#include "api/metrics_writer.h"

namespace jcm {

class MetricsRegistry {
 public:
  MetricCounter* Counter(const std::string& name, const std::string& help,
                         const MetricLabels& labels = {});
  MetricGauge* Gauge(const std::string& name, const std::string& help,
                     const MetricLabels& labels = {});
  // `bounds` is used when the metric is created; later lookups get the
  // histogram as first made.
  MetricHistogram* Histogram(const std::string& name, const std::string& help,
                             const MetricLabels& labels, std::vector<double> bounds);

  // Every family in registration order, each metric in registration order.
  void Render(MetricsWriter* out) const;

 private:
  struct Child {
    MetricLabels labels;
    std::unique_ptr<MetricCounter> counter;
    std::unique_ptr<MetricGauge> gauge;
    std::unique_ptr<MetricHistogram> histogram;
  };
  struct FamilyData {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<std::unique_ptr<Child>> children;
  };
  // REQUIRES: mu_ held. The child of `name` with `labels`, created if
  // absent; nullptr if `name` has another type.
  Child* FindOrAdd(const std::string& name, const std::string& help, MetricType type,
                   const MetricLabels& labels, bool* created);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyData>> families_;  // GUARDED_BY(mu_)
  std::map<std::string, FamilyData*> by_name_;         // GUARDED_BY(mu_)
};

// Writes a histogram's _bucket, _sum and _count samples (the family line is
// the caller's).
void WriteHistogramSamples(const std::string& name, const MetricLabels& labels,
                           const MetricHistogram::Snapshot& snapshot, MetricsWriter* out);

}  // namespace jcm
