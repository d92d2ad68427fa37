// Stable, slew-limited correction targets from offset reports (see avts/sync_corrector.h).
#include "avts/sync_corrector.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "avts/error.h"

namespace avts {

SyncCorrector::SyncCorrector(const SyncCorrectorOptions& options) : options_(options) {
  if (!(options.max_rate_ms_per_s > 0) || !std::isfinite(options.max_rate_ms_per_s))
    throw Error("sync correction: the correction rate must be a positive number of ms per second");
  if (options.stable_reports < 1) throw Error("sync correction: at least one stable report is needed to act");
  if (!(options.min_probability >= 0 && options.min_probability <= 1))
    throw Error("sync correction: min-probability must lie in [0, 1]");
  if (!(options.agree_ms >= 0) || !(options.deadband_ms >= 0))
    throw Error("sync correction: the agreement spread and the dead band must not be negative");
}

bool SyncCorrector::report(const SyncReport& report) {
  const bool sure = report.status != SyncStatus::Inconclusive && !report.out_of_range &&
                    report.probability >= options_.min_probability && std::isfinite(report.offset_ms);
  if (!sure) {
    recent_ms_.clear();
    return false;
  }
  recent_ms_.push_back(report.offset_ms);
  if (recent_ms_.size() > static_cast<size_t>(options_.stable_reports)) recent_ms_.pop_front();
  if (recent_ms_.size() < static_cast<size_t>(options_.stable_reports)) return false;

  std::vector<double> sorted(recent_ms_.begin(), recent_ms_.end());
  std::sort(sorted.begin(), sorted.end());
  if (sorted.back() - sorted.front() > options_.agree_ms) return false;
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  if (std::abs(median - estimate_ms_) <= options_.deadband_ms) return false;

  estimate_ms_ = median;
  return enabled_;
}

double SyncCorrector::advance(int64_t now_ns) {
  if (!now_ns_ || now_ns < *now_ns_) {
    now_ns_ = now_ns;
    return applied_ms_;
  }
  const double step = options_.max_rate_ms_per_s * (static_cast<double>(now_ns - *now_ns_) / 1e9);
  now_ns_ = now_ns;
  const double gap = target_ms() - applied_ms_;
  applied_ms_ = std::abs(gap) <= step ? target_ms() : applied_ms_ + std::copysign(step, gap);  // lands exactly
  return applied_ms_;
}

void SyncCorrector::set_enabled(bool enabled) { enabled_ = enabled; }

void SyncCorrector::reset() {
  recent_ms_.clear();
  estimate_ms_ = 0;
  applied_ms_ = 0;
  now_ns_.reset();
}

}  // namespace avts
