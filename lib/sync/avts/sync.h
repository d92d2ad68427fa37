// A/V offset estimation from the two embedding streams of one model (streaming).
//
// SIGN: a POSITIVE offset means AUDIO EARLY (audio leads video). If the audio is early by
// d, the sound that belongs to video time t is stamped t - d: the best-matching audio
// window sits at shift s = -d from the video window, and the offset is -s = +d.
//
// For every video window at time t (its start) the estimator computes the distance curve
//   c(s) = || v(t) - a(t + s) ||    for the shifts s = phase + k * audio_hop, |s| <= max_offset,
// where `phase` puts the shifts on the audio rows' own grid (fixed by the first window
// judged; 0 when both streams use the same timestamp grid, as the avts feature elements
// do). A window is judged only when every shift has an audio row (or two adjacent rows to
// interpolate the distance between, for a video window off the audio grid); windows next
// to a gap or past the end of the audio are skipped, never judged on part of a curve.
//
// Every `interval` a report is made for the interval [T - interval, T), T a multiple of
// `interval` on the timestamp axis, from the mean curve of the windows that start in
// [T - context, T):
//   offset      argmin of the mean curve, refined below one audio hop by a parabola through
//               the squared distances at the minimum and its two neighbours (a squared
//               distance is locally quadratic in the shift for a smooth embedding path);
//   confidence  median(curve) - min(curve), SyncNet's measure (same units as distances);
//   probability sync_probability(confidence): logistic, 0.5 at min_confidence;
//   out_of_range the minimum lies on the first or last shift: the true offset may be
//               beyond max_offset, so offset is the edge value and is not an estimate;
//   status      inconclusive when no window was judged or confidence < min_confidence,
//               otherwise the SyncStatusTracker state (out of range counts as outside).
// Reports are made as soon as the data allows: the video is known up to T and the audio up
// to the last window's t + max_offset. advance(), end_audio(), end_video() and finish()
// say that data will not come, so the estimator never waits for a stream that stopped.
// Windows within max_offset of either end of the audio cannot have a full curve and are
// skipped: on a 3 s clip with the defaults that is about half of them.
//
// Memory is bounded: audio rows are kept only while a video window may still need them,
// curves only for the context, and the whole-stream statistics in fixed-size sums.
// Times are nanoseconds on one axis for both streams (running time in the element).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "avts/feature_rows.h"
#include "avts/sync_standard.h"

namespace avts {

inline constexpr const char* kSyncSign = "positive = audio early";

struct SyncOptions {
  int64_t max_offset_ns = 600'000'000;  // largest |shift| scored; at least one audio hop
  int64_t context_ns = 5'000'000'000;   // windows averaged into one report
  int64_t interval_ns = 1'000'000'000;  // time between reports
  double min_confidence = 0.1;          // below it a report is inconclusive
  double probability_scale = 0.03;      // width of the logistic confidence -> probability
  SyncTolerance tolerance = SyncTolerance::of(SyncStandard::EbuR37);
  int hold = 3;                    // reports outside before fail / inside before ok again
  double hysteresis_ms = 10;       // margin inside the tolerance needed to leave warn / fail
  double step_threshold_hops = 2;  // a move of more than this many audio hops is a step
};

// confidence -> [0, 1]: 1 / (1 + exp(-(confidence - min_confidence) / probability_scale)).
// Monotone; 0.5 at min_confidence. A heuristic mapping, not a calibrated probability.
double sync_probability(double confidence, const SyncOptions& options);

struct SyncReport {
  int64_t start_ns = 0;  // the interval reported: [start, start + duration)
  int64_t duration_ns = 0;
  int windows = 0;       // video windows judged in the context
  double offset_ms = 0;  // positive = audio early; 0 when windows == 0
  double confidence = 0;
  double probability = 0;
  bool out_of_range = false;
  SyncStatus status = SyncStatus::Inconclusive;
};

// The whole stream, from finish().
struct SyncSummary {
  int64_t start_ns = 0;     // first report's start
  int64_t duration_ns = 0;  // up to the last report's end
  // From the mean curve of every judged window (as a report over the whole stream).
  double offset_ms = 0;
  double confidence = 0;
  double probability = 0;
  bool out_of_range = false;
  // Over the confident, in-range reports:
  double spread_ms = 0;         // interquartile range of their offsets (1 ms resolution)
  double drift_ms_per_min = 0;  // least-squares slope of offset against time
  // Times the offset moved more than step_threshold_hops audio hops away from the level
  // it held (the level is the offset of the report that began the current run).
  int steps = 0;
  int64_t windows = 0;          // video windows judged
  int64_t windows_skipped = 0;  // video windows without the audio around them
  // The mean distance curve behind offset_ms, point k at offset curve_first_offset_ms -
  // k * curve_hop_ms (offsets, so descending), and for each point the number of judged
  // windows whose own curve has its minimum there. Empty when nothing was judged.
  std::vector<double> curve;
  std::vector<int64_t> window_minima;
  double curve_first_offset_ms = 0, curve_hop_ms = 0;
  int reports = 0;
  int inconclusive_reports = 0;
  double inconclusive_share = 0;
  // inconclusive: nothing judged or the global confidence < min_confidence;
  // fail: the global offset outside the tolerance (or out of range);
  // warn: the global offset inside, but the stream was in fail at some point;
  // ok otherwise.
  SyncStatus status = SyncStatus::Inconclusive;
};

class OffsetEstimator {
 public:
  // Throws avts::Error for options that make no sense (non-positive times, hold < 1, ...).
  explicit OffsetEstimator(const SyncOptions& options = {});
  ~OffsetEstimator();
  OffsetEstimator(const OffsetEstimator&) = delete;
  OffsetEstimator& operator=(const OffsetEstimator&) = delete;

  const SyncOptions& options() const;
  // The model's calibrated minimum confidence, known once its feature streams start; applies
  // to the reports and the summary made from then on.
  void set_min_confidence(double min_confidence);

  // Rows of L2-normalised embeddings, row i at rows.pts_ns + i * rows.hop_ns. Each stream's
  // rows must come in time order; rows that go back in time, and video rows in an interval
  // already reported, are dropped. Throws avts::Error when the width differs from earlier
  // rows (of either stream), when the audio hop changes, or when max_offset is shorter
  // than the audio hop. Reports that became possible are appended to `out`.
  void push_audio(const FeatureRows& rows, std::vector<SyncReport>& out);
  void push_video(const FeatureRows& rows, std::vector<SyncReport>& out);

  // Both streams are complete before `until_ns` (a live deadline passed): windows waiting
  // for missing audio are skipped and reports up to `until_ns` are made, empty ones
  // (inconclusive) included. Before any row it starts the reports at the interval that
  // ends at or before until_ns - max_offset, so a live monitor reports even with no input.
  void advance(int64_t until_ns, std::vector<SyncReport>& out);
  // One stream ended: nothing more will be waited for from it.
  void end_audio(std::vector<SyncReport>& out);
  void end_video(std::vector<SyncReport>& out);

  // End of both streams: the remaining reports (up to the one holding the last row) and
  // the whole-stream summary. Call reset() before pushing again.
  SyncSummary finish(std::vector<SyncReport>& out);
  void reset();

  // Start of the interval the next report will cover; nullopt before any row or advance().
  // A live caller sets its deadline from it: the report can be made once the data up to
  // its end + max_offset is in.
  std::optional<int64_t> next_report_start() const;

  // Rows held (audio rows kept for future windows plus video windows waiting for audio):
  // bounded by the offset range and the streams' skew, not by the stream length.
  size_t buffered_rows() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace avts
