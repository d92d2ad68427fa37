// Audio featurizer: samples -> log-mel frames (computed once, streaming) -> windows of
// audio_frames_per_clip() frames on the hop grid -> batched embeddings.
//
// Time bookkeeping is in samples counted from the first sample of the grid (t0), so long
// streams do not drift; nanoseconds are derived from sample counts only for comparisons.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "avts/error.h"
#include "avts/featurizer.h"
#include "avts/logmel.h"
#include "media_timeline.h"
#include "window_batch.h"

namespace avts {

namespace {

using timeline::kSecondNs;
using timeline::kToleranceNs;

std::string ms_text(int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%g ms", static_cast<double>(ns) / 1e6);
  return text;
}

}  // namespace

struct AudioFeaturizer::Impl {
  Impl(std::shared_ptr<const Model> m, const FeaturizerOptions& options)
      : config(m ? m->config().audio : AudioFrontEndConfig{}),
        frames_per_clip(m ? m->config().audio_frames_per_clip() : 0),
        hop_ns(options.hop_ns),
        logmel(config),
        batch(m, Modality::Audio, options, static_cast<size_t>(config.n_mels) * static_cast<size_t>(frames_per_clip)) {
    // The hop must land on log-mel frame boundaries: a whole number of log-mel hops.
    const __int128 scaled = static_cast<__int128>(hop_ns) * config.sample_rate;
    const int64_t hop_samples = static_cast<int64_t>(scaled / kSecondNs);
    if (hop_ns <= 0 || scaled % kSecondNs != 0 || hop_samples % config.hop_length != 0)
      throw Error("hop " + ms_text(hop_ns) + " is not a positive multiple of the log-mel hop (" +
                  ms_text(samples_to_ns(config.hop_length)) + ", " + std::to_string(config.hop_length) +
                  " samples at " + std::to_string(config.sample_rate) + " Hz)");
    hop_frames = hop_samples / config.hop_length;
  }

  int64_t samples_to_ns(int64_t n) const { return timeline::samples_to_ns(n, config.sample_rate); }
  int64_t ns_to_samples(int64_t ns) const { return timeline::ns_to_samples(ns, config.sample_rate); }

  void start(int64_t pts) {
    started = true;
    t0 = pts;
    received = 0;
    grid_pts = timeline::grid_start(pts, hop_ns, grid_origin);
    first_sample = ns_to_samples(grid_pts - t0);
    logmel.reset();
    frames.clear();
    frames_base = 0;
    next_window = 0;
    batch.restart();
  }

  void push(int64_t pts, const float* samples, size_t n, std::vector<FeatureRows>& out) {
    if (n == 0) return;
    if (!started) {
      start(pts);
    } else {
      const int64_t gap = pts - (t0 + samples_to_ns(received));
      if (gap > max_gap_ns || gap < -max_gap_ns) {
        finish(out);
        start(pts);
      } else if (gap > kToleranceNs) {
        feed_silence(ns_to_samples(gap), out);
      } else if (gap < -kToleranceNs) {
        const size_t overlap = std::min<size_t>(n, ns_to_samples(-gap));
        samples += overlap;
        n -= overlap;
      }
    }
    feed(samples, n, out);
  }

  void feed(const float* samples, size_t n, std::vector<FeatureRows>& out) {
    // Samples before the first window start are not part of any window.
    const size_t skip = static_cast<size_t>(std::clamp<int64_t>(first_sample - received, 0, n));
    received += n;
    if (skip == n) return;
    logmel.push(samples + skip, n - skip, frames);
    emit_windows(out);
  }

  void feed_silence(int64_t n, std::vector<FeatureRows>& out) {
    const std::vector<float> zeros(static_cast<size_t>(n), 0.0f);
    feed(zeros.data(), zeros.size(), out);
  }

  int64_t frames_end() const { return frames_base + static_cast<int64_t>(frames.size()) / config.n_mels; }

  // Every window whose frames are all computed goes into the batch, mel-major (n_mels x T).
  void emit_windows(std::vector<FeatureRows>& out) {
    const int n_mels = config.n_mels;
    while (next_window * hop_frames + frames_per_clip <= frames_end()) {
      const float* src = frames.data() + (next_window * hop_frames - frames_base) * n_mels;
      float* dst = batch.next_window();
      for (int t = 0; t < frames_per_clip; ++t)
        for (int m = 0; m < n_mels; ++m) dst[m * frames_per_clip + t] = src[t * n_mels + m];
      batch.commit(grid_pts + next_window * hop_ns, out);
      ++next_window;
    }
    // Frames before the next window's start are not needed any more.
    const int64_t drop = std::min(next_window * hop_frames, frames_end()) - frames_base;
    if (drop > 0) {
      frames.erase(frames.begin(), frames.begin() + drop * n_mels);
      frames_base += drop;
    }
  }

  // Ends the grid: the last log-mel frames look (win - hop) samples past their hop, so
  // zeros stand in for that lookahead; then every window covered by real samples is out.
  void finish(std::vector<FeatureRows>& out) {
    if (!started) return;
    started = false;
    if (received > first_sample) {
      const std::vector<float> pad(std::max(0, config.win_length - config.hop_length), 0.0f);
      logmel.push(pad.data(), pad.size(), frames);
      emit_windows(out);
    }
    batch.flush(out);
  }

  void reset() {
    started = false;
    frames.clear();
    logmel.reset();
    batch.restart();
  }

  AudioFrontEndConfig config;
  int frames_per_clip;
  int64_t hop_ns;
  int64_t grid_origin = 0;  // window starts of a new grid: grid_origin + k * hop_ns
  int64_t hop_frames = 1;   // log-mel frames from one window start to the next
  LogMel logmel;
  WindowBatch batch;

  bool started = false;
  int64_t t0 = 0;             // time of the grid's first sample
  int64_t received = 0;       // samples since t0, silence fills included
  int64_t grid_pts = 0;       // start of window 0: the first grid time at or after t0
  int64_t first_sample = 0;   // sample (since t0) at grid_pts: log-mel frame 0 starts here
  std::vector<float> frames;  // log-mel frames still needed, frame after frame
  int64_t frames_base = 0;    // index of the first frame in `frames`
  int64_t next_window = 0;
};

AudioFeaturizer::AudioFeaturizer(std::shared_ptr<const Model> model, const FeaturizerOptions& options)
    : impl_(std::make_unique<Impl>(std::move(model), options)) {}

AudioFeaturizer::~AudioFeaturizer() = default;

int AudioFeaturizer::dim() const { return impl_->batch.dim(); }
int64_t AudioFeaturizer::hop_ns() const { return impl_->hop_ns; }
int64_t AudioFeaturizer::window_ns() const {
  return impl_->samples_to_ns(static_cast<int64_t>(impl_->frames_per_clip) * impl_->config.hop_length);
}

void AudioFeaturizer::push(int64_t pts_ns, const float* samples, size_t n, std::vector<FeatureRows>& out) {
  impl_->push(pts_ns, samples, n, out);
}

void AudioFeaturizer::drain(std::vector<FeatureRows>& out) { impl_->finish(out); }

void AudioFeaturizer::reset() { impl_->reset(); }

void AudioFeaturizer::set_grid_origin(int64_t origin_ns) { impl_->grid_origin = origin_ns; }

}  // namespace avts
