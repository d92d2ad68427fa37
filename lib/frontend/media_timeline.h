// The media timeline that the inference front end (the featurizers) and training
// (TrainingFile) put samples and frames on. One set of rules, so that the windows a model is
// trained on and the windows it is shown cannot drift apart.
#pragma once

#include <cmath>
#include <cstdint>

namespace avts::timeline {

constexpr int64_t kSecondNs = 1'000'000'000;

// Timestamps this close count as the same time: a frame 1 ms late still shows at its grid
// time (coarse container time bases, 1 ms in Matroska), audio jitter below it is neither gap
// nor overlap, and feature rows this close are the same window.
constexpr int64_t kToleranceNs = 1'000'000;

// Sample counts <-> nanoseconds at `rate` Hz, rounded to the nearest, exact for any stream
// length (no floating point, no overflow for days of audio).
inline int64_t samples_to_ns(int64_t n, int64_t rate) {
  return n / rate * kSecondNs + ((n % rate) * kSecondNs + rate / 2) / rate;
}
inline int64_t ns_to_samples(int64_t ns, int64_t rate) {
  return ns / kSecondNs * rate + ((ns % kSecondNs) * rate + kSecondNs / 2) / kSecondNs;
}

// Time of model frame j after the grid's first frame, at `fps` frames per second.
inline int64_t frame_offset_ns(int64_t j, double fps) {
  return static_cast<int64_t>(std::llround(static_cast<long double>(j) * kSecondNs / fps));
}

// Model frames lie at frame_offset_ns(k, fps) on the timestamp axis, k any integer: in
// running time, as the feature elements lay their windows, so training and inference see the
// same frames at the same times. The first one at or after `t`:
inline int64_t first_frame_index_at_or_after(int64_t t, double fps) {
  auto k = static_cast<int64_t>(std::ceil(static_cast<long double>(t) * fps / kSecondNs));
  while (frame_offset_ns(k - 1, fps) >= t) --k;  // rounding of the product
  while (frame_offset_ns(k, fps) < t) ++k;
  return k;
}

// Windows start on a grid: the first time origin + k * hop (k any integer) at or after `t`
// (t may be negative).
inline int64_t grid_start(int64_t t, int64_t hop, int64_t origin = 0) {
  const int64_t r = (t - origin) % hop;
  if (r == 0) return t;
  return r > 0 ? t - r + hop : t - r;
}

// The held-frame rule of video: a model frame shows the latest input frame at or before its
// time. So once a frame with PTS `next_pts` arrives, a model frame at `model_frame_ns` still
// shows the frame held until then if its time is before that PTS (a frame up to the
// tolerance late still shows at its grid time).
inline bool shows_held_frame(int64_t model_frame_ns, int64_t next_pts) {
  return model_frame_ns + kToleranceNs < next_pts;
}

// Where the last input frame ends: at its duration, else after the spacing before it, else
// after one model frame.
inline int64_t last_frame_end_ns(int64_t pts, int64_t duration, int64_t spacing, double fps) {
  return pts + (duration > 0 ? duration : spacing > 0 ? spacing : frame_offset_ns(1, fps));
}

}  // namespace avts::timeline
