// The lip-sync corrector's decisions: from a stream of offset reports, the delay to apply.
//
// The reports measure the UNcorrected streams (the corrector's output does not feed back
// into them), so the correction that cancels a measured offset is the offset itself:
// audio early by d (offset +d) -> delay the audio by d. The correction follows the sign
// of the offset: POSITIVE = DELAY THE AUDIO, negative = delay the video (by its magnitude).
//
// It moves only on evidence and only smoothly:
//  - stability: the target changes only when the last `stable_reports` reports are all
//    conclusive (not inconclusive), in range, at least `min_probability` sure, and lie
//    within `agree_ms` of each other (one video frame by default); the new target is
//    their median;
//  - hysteresis: a stable estimate within `deadband_ms` of the current target does not
//    move it, so the correction does not chase noise;
//  - inconclusive, out-of-range or unsure reports keep the current correction (they only
//    restart the stability count);
//  - slew: the applied correction moves toward the target by at most
//    `max_rate_ms_per_s` per second of stream time, never overshooting.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "avts/sync.h"

namespace avts {

struct SyncCorrectorOptions {
  double max_rate_ms_per_s = 20;  // fastest change of the applied correction
  int stable_reports = 3;         // consecutive agreeing, sure reports needed to act
  double min_probability = 0.8;   // a report less sure than this does not count
  double agree_ms = 40;           // largest spread of the stable reports (one frame at 25 fps)
  double deadband_ms = 20;        // smallest change of target worth making
};

class SyncCorrector {
 public:
  // Throws avts::Error for options that make no sense (a non-positive rate, stable_reports
  // < 1, a probability outside [0, 1], a negative agree_ms or deadband_ms).
  explicit SyncCorrector(const SyncCorrectorOptions& options = {});

  const SyncCorrectorOptions& options() const { return options_; }

  // One report of the uncorrected streams. Returns true when the target changed.
  bool report(const SyncReport& report);

  // Stream time reached `now_ns`: the applied correction moves toward the target by at
  // most max_rate x (now - previous now). The first call, and a call with a time before
  // the previous one (a seek, a new segment), only set the time base. Returns applied_ms().
  double advance(int64_t now_ns);

  // Disabled, the target is 0 (the applied correction slews back to none); reports are
  // still followed, so enabling again aims at the latest stable estimate.
  void set_enabled(bool enabled);
  bool enabled() const { return enabled_; }

  double target_ms() const { return enabled_ ? estimate_ms_ : 0.0; }
  double applied_ms() const { return applied_ms_; }
  bool settled() const { return applied_ms_ == target_ms(); }

  // Back to no correction, no history, no time base (the enabled flag is kept).
  void reset();

 private:
  SyncCorrectorOptions options_;
  bool enabled_ = true;
  std::deque<double> recent_ms_;  // offsets of the current run of sure reports, newest last
  double estimate_ms_ = 0;        // the stable estimate the target follows
  double applied_ms_ = 0;
  std::optional<int64_t> now_ns_;
};

}  // namespace avts
