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

}  // namespace avts::timeline
