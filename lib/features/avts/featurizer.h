// Streaming feature extraction: decoded media in with timestamps, rows of features out.
// Windows are `clip_seconds` long and start on a grid of multiples of `hop` on the
// timestamp axis, shifted by the grid origin (set_grid_origin: the elements make the grid
// multiples of the hop in running time), so audio and video windows of one source line up.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "avts/feature_rows.h"
#include "avts/model.h"
#include "avts/video_prep.h"

namespace avts {

struct FeaturizerOptions {
  std::string layer = "embedding";
  int64_t hop_ns = 40'000'000;
  int batch_size = 8;  // windows per forward pass (and at most rows per FeatureRows)
};

// Mono float samples at the model's sample rate in.
class AudioFeaturizer {
 public:
  // Throws avts::Error when the hop is not a positive multiple of the log-mel hop, the
  // layer is unknown or the batch size is not positive.
  AudioFeaturizer(std::shared_ptr<const Model> model, const FeaturizerOptions& options);
  ~AudioFeaturizer();

  int dim() const;
  int64_t hop_ns() const;
  int64_t window_ns() const;

  // `pts_ns` is the time of samples[0]. A jump against the expected time of more than
  // `max_gap_ns` starts a new grid (rows after it are discont); smaller gaps are filled
  // with silence, small overlaps are dropped.
  void push(int64_t pts_ns, const float* samples, size_t n, std::vector<FeatureRows>& out);
  // End of stream: completes the windows that the data covers and flushes the batch.
  void drain(std::vector<FeatureRows>& out);
  void reset();
  // Windows of the next grid (the first push, and after a gap or a reset) start at
  // origin_ns + k * hop. The elements set it from the segment so that windows start on
  // multiples of the hop in running time: the audio and video windows of one source then
  // line up even when their segments start at different times (an MP4's AAC priming, B-frame
  // delay). Default 0: multiples of the hop on the timestamp axis.
  void set_grid_origin(int64_t origin_ns);

  static constexpr int64_t max_gap_ns = 1'000'000'000;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RGB frames of any size and rate in; resampled to the model's rate by PTS (each model
// frame is the latest input frame at or before its time).
class VideoFeaturizer {
 public:
  // Throws avts::Error when the hop is not a positive multiple of the model's frame
  // period, the layer is unknown or the batch size is not positive.
  VideoFeaturizer(std::shared_ptr<const Model> model, const FeaturizerOptions& options);
  ~VideoFeaturizer();

  int dim() const;
  int64_t hop_ns() const;
  int64_t window_ns() const;

  // A frame whose PTS goes back, or jumps forward by more than `max_gap_ns`, starts a new
  // grid (rows after it are discont). `duration_ns` (< 0: unknown) only matters for the
  // last frame before a drain or a new grid: it says how far that frame reaches. `region`,
  // when given, is the part of this frame to look at instead of the model's (a face's mouth).
  void push(int64_t pts_ns, const RgbImage& frame, std::vector<FeatureRows>& out, int64_t duration_ns = -1,
            const FrameRegion* region = nullptr);
  // End of stream: the last frame holds until its end (its duration, else the spacing of
  // the frames before it, else one model frame period); windows it completes are emitted.
  void drain(std::vector<FeatureRows>& out);
  void reset();
  // Windows of the next grid (the first push, and after a gap or a reset) start at
  // origin_ns + k * hop. The elements set it from the segment so that windows start on
  // multiples of the hop in running time: the audio and video windows of one source then
  // line up even when their segments start at different times (an MP4's AAC priming, B-frame
  // delay). Default 0: multiples of the hop on the timestamp axis.
  void set_grid_origin(int64_t origin_ns);

  static constexpr int64_t max_gap_ns = 1'000'000'000;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace avts
