#include "api/metrics_registry.h"

namespace jcm {

MetricsRegistry::Child* MetricsRegistry::FindOrAdd(const std::string& name, const std::string& help,
                                                   MetricType type, const MetricLabels& labels,
                                                   bool* created) {
  *created = false;
  FamilyData* family = nullptr;
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    auto f = std::make_unique<FamilyData>();
    f->name = name;
    f->help = help;
    f->type = type;
    family = f.get();
    by_name_[name] = family;
    families_.push_back(std::move(f));
  } else {
    family = it->second;
    if (family->type != type) return nullptr;
  }
  for (auto& child : family->children) {
    if (child->labels == labels) return child.get();
  }
  auto child = std::make_unique<Child>();
  child->labels = labels;
  family->children.push_back(std::move(child));
  *created = true;
  return family->children.back().get();
}

MetricCounter* MetricsRegistry::Counter(const std::string& name, const std::string& help,
                                        const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  bool created = false;
  Child* c = FindOrAdd(name, help, MetricType::kCounter, labels, &created);
  if (!c) return nullptr;
  if (created) c->counter = std::make_unique<MetricCounter>();
  return c->counter.get();
}

MetricGauge* MetricsRegistry::Gauge(const std::string& name, const std::string& help,
                                    const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  bool created = false;
  Child* c = FindOrAdd(name, help, MetricType::kGauge, labels, &created);
  if (!c) return nullptr;
  if (created) c->gauge = std::make_unique<MetricGauge>();
  return c->gauge.get();
}

MetricHistogram* MetricsRegistry::Histogram(const std::string& name, const std::string& help,
                                            const MetricLabels& labels,
                                            std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  bool created = false;
  Child* c = FindOrAdd(name, help, MetricType::kHistogram, labels, &created);
  if (!c) return nullptr;
  if (created) c->histogram = std::make_unique<MetricHistogram>(std::move(bounds));
  return c->histogram.get();
}

void WriteHistogramSamples(const std::string& name, const MetricLabels& labels,
                           const MetricHistogram::Snapshot& snapshot, MetricsWriter* out) {
  const std::string bucket = name + "_bucket";
  MetricLabels with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    with_le.back().second =
        i < snapshot.bounds.size() ? MetricsWriter::FormatValue(snapshot.bounds[i]) : "+Inf";
    out->Sample(bucket, with_le, snapshot.cumulative[i]);
  }
  out->Sample(name + "_sum", labels, snapshot.sum);
  out->Sample(name + "_count", labels, snapshot.count);
}

void MetricsRegistry::Render(MetricsWriter* out) const {
  std::lock_guard lock(mu_);
  for (const auto& f : families_) {
    if (!out->Family(f->name, f->help, f->type)) continue;
    for (const auto& c : f->children) {
      switch (f->type) {
        case MetricType::kCounter:
          out->Sample(f->name, c->labels, c->counter->value());
          break;
        case MetricType::kGauge:
          out->Sample(f->name, c->labels, c->gauge->value());
          break;
        case MetricType::kHistogram:
          WriteHistogramSamples(f->name, c->labels, c->histogram->Read(), out);
          break;
        case MetricType::kUntyped:
          break;
      }
    }
  }
}

}  // namespace jcm
