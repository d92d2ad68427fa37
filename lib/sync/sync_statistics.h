// Whole-stream statistics of per-report offsets in constant memory, so that a monitor can
// run for days: spread, drift and steps. Internal to lib/ (used by the offset estimator).
#pragma once

#include <cstdint>
#include <vector>

namespace avts {

class OffsetStatistics {
 public:
  // Offsets are expected within +-range_ms (others are clamped into the histogram).
  OffsetStatistics(double range_ms, double step_threshold_ms);

  void add(int64_t time_ns, double offset_ms);

  int count() const { return count_; }
  // Interquartile range, from a histogram of 1 ms bins.
  double spread_ms() const;
  // Least-squares slope of offset against time; 0 with fewer than two distinct times.
  double drift_ms_per_min() const;
  // Moves of more than the threshold away from the current level (see SyncSummary::steps).
  int steps() const { return steps_; }

 private:
  double quantile(double q) const;

  int range_;                        // histogram covers [-range_, range_] ms
  std::vector<uint32_t> histogram_;  // bin i holds offsets that round to i - range_ ms
  int count_ = 0;
  // Least squares over (minutes since the first offset, offset).
  int64_t t0_ns_ = 0;
  double sx_ = 0, sy_ = 0, sxx_ = 0, sxy_ = 0;
  double step_threshold_ms_;
  double level_ms_ = 0;
  int steps_ = 0;
};

}  // namespace avts
