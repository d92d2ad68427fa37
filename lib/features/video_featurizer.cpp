// Video featurizer: frames of any rate -> model frames on a fixed-rate grid, picked by PTS
// (model frame m at grid_pts + m / fps shows the latest input frame at or before that
// time) -> clips of video_frames_per_clip() model frames on the hop grid -> embeddings.
//
// An input frame's model frames are known once the next frame arrives (or at drain), so
// the latest frame is held as raw RGB; it is preprocessed only if some window uses it,
// and only once however many model frames repeat it.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>

#include "avts/error.h"
#include "avts/featurizer.h"
#include "media_timeline.h"
#include "window_batch.h"

namespace avts {

namespace {

using timeline::kSecondNs;

std::string ms_text(double ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%g ms", ns / 1e6);
  return text;
}

using Plane = std::shared_ptr<const std::vector<float>>;  // one preprocessed frame, C x H x W

}  // namespace

struct VideoFeaturizer::Impl {
  Impl(std::shared_ptr<const Model> m, const FeaturizerOptions& options)
      : config(m ? m->config().video : VideoFrontEndConfig{}),
        frames_per_clip(m ? m->config().video_frames_per_clip() : 0),
        hop_ns(options.hop_ns),
        prep(config),
        plane_size(static_cast<size_t>(prep.output_size())),
        batch(m, Modality::Video, options, plane_size * static_cast<size_t>(frames_per_clip)) {
    const double period = kSecondNs / config.fps;
    hop_frames = std::llround(static_cast<double>(hop_ns) / period);
    if (hop_ns <= 0 || hop_frames < 1 || std::fabs(hop_frames * period - static_cast<double>(hop_ns)) >= 0.5)
      throw Error("hop " + ms_text(static_cast<double>(hop_ns)) +
                  " is not a positive multiple of the model's video frame period (" + ms_text(period) + " at " +
                  std::to_string(config.fps) + " fps)");
  }

  int64_t frame_offset(int64_t m) const { return timeline::frame_offset_ns(m, config.fps); }
  int64_t model_frame_time(int64_t m) const { return grid_pts + frame_offset(m); }

  void start(int64_t pts) {
    started = true;
    grid_pts = timeline::grid_start(pts, hop_ns, grid_origin);
    next_model_frame = 0;
    frames.clear();
    frames_base = 0;
    next_window = 0;
    batch.restart();
  }

  void push(int64_t pts, const RgbImage& image, int64_t duration, const FrameRegion* region,
            std::vector<FeatureRows>& out) {
    if (!image.data || image.width <= 0 || image.height <= 0 || image.stride < 3 * image.width)
      throw Error("video frame is empty or its stride is too small");
    if (started && (pts < held.pts || pts - held.pts > max_gap_ns)) finish(out);
    if (!started) {
      start(pts);
      held.spacing = -1;
    } else {
      decide_until(pts, out);
      held.spacing = pts - held.pts;
    }
    hold(pts, image, duration, region);
  }

  void hold(int64_t pts, const RgbImage& image, int64_t duration, const FrameRegion* region) {
    held.pts = pts;
    held.duration = duration;
    held.has_region = region != nullptr;
    if (region) held.region = *region;
    held.width = image.width;
    held.height = image.height;
    const size_t row = 3 * static_cast<size_t>(image.width);
    held.rgb.resize(row * image.height);
    for (int y = 0; y < image.height; ++y)
      std::memcpy(held.rgb.data() + y * row, image.data + static_cast<size_t>(y) * image.stride, row);
    held.plane.reset();
  }

  Plane held_plane() {
    if (!held.plane) {
      auto plane = std::make_shared<std::vector<float>>(plane_size);
      prep.process(RgbImage{held.rgb.data(), held.width, held.height, 3 * held.width}, plane->data(),
                   held.has_region ? &held.region : nullptr);
      held.plane = std::move(plane);
    }
    return held.plane;
  }

  // Model frames whose time is before `limit` show the held frame.
  void decide_until(int64_t limit, std::vector<FeatureRows>& out) {
    while (timeline::shows_held_frame(model_frame_time(next_model_frame), limit)) {
      // With a hop longer than the clip some model frames fall between windows.
      const bool used = next_model_frame % hop_frames < frames_per_clip;
      frames.push_back(used ? held_plane() : nullptr);
      ++next_model_frame;
      emit_windows(out);
    }
  }

  int64_t frames_end() const { return frames_base + static_cast<int64_t>(frames.size()); }

  // Every window whose model frames are all known goes into the batch as 3 x T x H x W.
  void emit_windows(std::vector<FeatureRows>& out) {
    const size_t hw = plane_size / 3;
    while (next_window * hop_frames + frames_per_clip <= frames_end()) {
      const int64_t first = next_window * hop_frames - frames_base;
      float* dst = batch.next_window();
      for (int c = 0; c < 3; ++c)
        for (int t = 0; t < frames_per_clip; ++t)
          std::memcpy(dst + (static_cast<size_t>(c) * frames_per_clip + t) * hw, frames[first + t]->data() + c * hw,
                      hw * sizeof(float));
      batch.commit(grid_pts + next_window * hop_ns, out);
      ++next_window;
    }
    while (frames_base < next_window * hop_frames && !frames.empty()) {
      frames.pop_front();
      ++frames_base;
    }
  }

  // Ends the grid: the held frame lasts until its end; complete windows go out.
  void finish(std::vector<FeatureRows>& out) {
    if (!started) return;
    started = false;
    decide_until(timeline::last_frame_end_ns(held.pts, held.duration, held.spacing, config.fps), out);
    batch.flush(out);
    held.plane.reset();
  }

  void reset() {
    started = false;
    frames.clear();
    held.plane.reset();
    batch.restart();
  }

  VideoFrontEndConfig config;
  int frames_per_clip;
  int64_t hop_ns;
  int64_t grid_origin = 0;  // window starts of a new grid: grid_origin + k * hop_ns
  int64_t hop_frames = 1;   // model frames from one window start to the next
  FramePreprocessor prep;
  size_t plane_size;
  WindowBatch batch;

  // The latest input frame: its model frames are not all known yet.
  struct Held {
    int64_t pts = 0;
    int64_t duration = -1;  // as pushed; < 0 unknown
    int64_t spacing = -1;   // from the frame before it; < 0 unknown
    int width = 0, height = 0;
    std::vector<uint8_t> rgb;  // packed, stride 3 * width
    bool has_region = false;   // else the model's region
    FrameRegion region{};
    Plane plane;  // preprocessed on first use
  } held;

  bool started = false;
  int64_t grid_pts = 0;          // time of model frame 0 and start of window 0
  int64_t next_model_frame = 0;  // first model frame not decided yet
  std::deque<Plane> frames;      // decided model frames still needed (null: in no window)
  int64_t frames_base = 0;       // index of frames.front()
  int64_t next_window = 0;
};

VideoFeaturizer::VideoFeaturizer(std::shared_ptr<const Model> model, const FeaturizerOptions& options)
    : impl_(std::make_unique<Impl>(std::move(model), options)) {}

VideoFeaturizer::~VideoFeaturizer() = default;

int VideoFeaturizer::dim() const { return impl_->batch.dim(); }
int64_t VideoFeaturizer::hop_ns() const { return impl_->hop_ns; }
int64_t VideoFeaturizer::window_ns() const { return impl_->frame_offset(impl_->frames_per_clip); }

void VideoFeaturizer::push(int64_t pts_ns, const RgbImage& frame, std::vector<FeatureRows>& out, int64_t duration_ns,
                           const FrameRegion* region) {
  impl_->push(pts_ns, frame, duration_ns, region, out);
}

void VideoFeaturizer::drain(std::vector<FeatureRows>& out) { impl_->finish(out); }

void VideoFeaturizer::reset() { impl_->reset(); }

void VideoFeaturizer::set_grid_origin(int64_t origin_ns) { impl_->grid_origin = origin_ns; }

}  // namespace avts
