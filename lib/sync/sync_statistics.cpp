#include "sync_statistics.h"

#include <algorithm>
#include <cmath>

namespace avts {

OffsetStatistics::OffsetStatistics(double range_ms, double step_threshold_ms)
    : range_(static_cast<int>(std::ceil(range_ms))),
      histogram_(2 * static_cast<size_t>(range_) + 1, 0),
      step_threshold_ms_(step_threshold_ms) {}

void OffsetStatistics::add(int64_t time_ns, double offset_ms) {
  const long bin = std::clamp(std::lround(offset_ms), -static_cast<long>(range_), static_cast<long>(range_));
  ++histogram_[static_cast<size_t>(bin + range_)];

  if (count_ == 0) {
    t0_ns_ = time_ns;
    level_ms_ = offset_ms;
  } else if (std::fabs(offset_ms - level_ms_) > step_threshold_ms_) {
    ++steps_;
    level_ms_ = offset_ms;
  }
  ++count_;

  const double minutes = static_cast<double>(time_ns - t0_ns_) / 60e9;
  sx_ += minutes;
  sy_ += offset_ms;
  sxx_ += minutes * minutes;
  sxy_ += minutes * offset_ms;
}

// Linear interpolation between order statistics (numpy's default), on bin values.
double OffsetStatistics::quantile(double q) const {
  const double rank = q * (count_ - 1);
  const auto value_at = [&](int64_t k) {  // k-th smallest (0-based)
    int64_t seen = 0;
    for (size_t i = 0; i < histogram_.size(); ++i) {
      seen += histogram_[i];
      if (seen > k) return static_cast<double>(static_cast<int64_t>(i) - range_);
    }
    return static_cast<double>(range_);
  };
  const int64_t below = static_cast<int64_t>(std::floor(rank));
  const double lo = value_at(below);
  const double hi = value_at(std::min<int64_t>(below + 1, count_ - 1));
  return lo + (hi - lo) * (rank - static_cast<double>(below));
}

double OffsetStatistics::spread_ms() const {
  if (count_ < 2) return 0;
  return quantile(0.75) - quantile(0.25);
}

double OffsetStatistics::drift_ms_per_min() const {
  const double n = count_;
  const double denominator = n * sxx_ - sx_ * sx_;
  if (count_ < 2 || denominator <= 1e-12 * std::max(1.0, n * sxx_)) return 0;
  return (n * sxy_ - sx_ * sy_) / denominator;
}

}  // namespace avts
