// Shared by the trainer tests: a tiny model config, stored files with known contents, and
// synthetic media whose sync a tiny model learns in seconds.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "avts/config.h"
#include "avts/train.h"
#include "train_internal.h"

namespace avts::test {

// 1 s clips (25 video frames, 100 log-mel frames), 32 px crops of 48 x 36 frames (36 = the
// resize, so frames are stored as they are), quarter-width nets: milliseconds per clip.
inline ModelConfig tiny_train_config() {
  ModelConfig c = ModelConfig::preset_config("avts-compact");
  c.clip_seconds = 1.0;
  c.video.resize = 36;
  c.video.crop = 32;
  c.video_base_width = 4;
  c.audio_base_width = 4;
  c.embedding_dim = 16;
  return c;
}

// A stored file whose frames say where they come from: video frame j is filled with
// (tag + j) % 256, log-mel frame k with tag * 10000 + k.
inline std::shared_ptr<const train::StoredFile> stored_file(const std::string& id, int64_t video_frames,
                                                            int64_t audio_frames, int tag = 0,
                                                            const ModelConfig& c = tiny_train_config()) {
  auto f = std::make_shared<train::StoredFile>();
  f->id = id;
  f->video_clip = c.video_frames_per_clip();
  f->audio_clip = c.audio_frames_per_clip();
  f->audio_per_video = c.audio.sample_rate / (c.video.fps * c.audio.hop_length);
  f->video = torch::empty({video_frames, c.video.resize, c.video.resize * 4 / 3, 3}, torch::kUInt8);
  for (int64_t j = 0; j < video_frames; ++j) f->video[j].fill_((tag + j) % 256);
  f->logmel = (torch::arange(audio_frames, torch::kFloat32) + tag * 10000.0f).unsqueeze(1).repeat({1, c.audio.n_mels});
  return f;
}

// Decoded media with a structure to learn: a light that blinks with the file's period, and
// a 1 kHz tone that sounds while it is on. Files of different periods are out of sync with
// each other; a file with its own audio shifted by a non-multiple of the period too.
struct BlinkMedia {
  std::string id;
  double seconds = 4.0;
  double period_s = 0.4;
  double phase_s = 0.0;
  double audio_delay_s = 0.0;  // audio starts this much after the video (PTS)
  int width = 48, height = 36;
  double fps = 25.0;

  bool on(double t) const { return std::fmod(t + phase_s + 1000 * period_s, period_s) < 0.5 * period_s; }

  // The decoded media as a decoder delivers it: audio at `sample_rate` in chunks of 1024
  // samples, audio(pts_ns, samples, n), then the RGB frames, video(pts_ns, frame).
  template <typename Audio, typename Video>
  void decode(int sample_rate, uint64_t noise_seed, Audio&& audio_out, Video&& video_out) const {
    std::mt19937 rng(static_cast<uint32_t>(noise_seed));
    std::normal_distribution<float> noise(0.0f, 1.0f);
    const int sr = sample_rate;
    const int64_t delay_ns = static_cast<int64_t>(std::llround(audio_delay_s * 1e9));
    std::vector<float> audio(static_cast<size_t>(seconds * sr));
    for (size_t i = 0; i < audio.size(); ++i) {
      const double t = static_cast<double>(i) / sr + audio_delay_s;
      audio[i] = 0.01f * noise(rng) + (on(t) ? 0.3f * static_cast<float>(std::sin(2 * M_PI * 1000.0 * t)) : 0.0f);
    }
    for (size_t i = 0; i < audio.size(); i += 1024)
      audio_out(delay_ns + static_cast<int64_t>(std::llround(i * 1e9 / sr)), audio.data() + i,
                std::min<size_t>(1024, audio.size() - i));
    std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
    std::vector<float> grain(rgb.size() * 2);  // sensor noise, a random window of it per frame
    for (float& g : grain) g = 8.0f * noise(rng);
    std::uniform_int_distribution<size_t> offset(0, rgb.size());
    const int frames = static_cast<int>(seconds * fps);
    for (int f = 0; f < frames; ++f) {
      const double t = f / fps;
      const float level = on(t) ? 200.0f : 60.0f;
      const float* g = grain.data() + offset(rng);
      for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(std::clamp(level + g[i], 0.0f, 255.0f));
      video_out(static_cast<int64_t>(std::llround(t * 1e9)), RgbImage{rgb.data(), width, height, 3 * width});
    }
  }

  TrainingFile make(const ModelConfig& c, Split split, uint64_t noise_seed = 1) const {
    TrainingFile file(c, id, split);
    decode(
        c.audio.sample_rate, noise_seed,
        [&](int64_t pts, const float* samples, size_t n) { file.push_audio(pts, samples, n); },
        [&](int64_t pts, const RgbImage& frame) { file.push_video(pts, frame); });
    return file;
  }
};

// `n` files whose periods spread log-uniformly over [0.15 s, 1.1 s]; `shift` in (0, 1) places
// them between the points of another corpus (validation periods between training periods).
inline std::vector<BlinkMedia> blink_corpus(const std::string& prefix, int n, double seconds, double shift = 0.0) {
  std::vector<BlinkMedia> files(n);
  for (int i = 0; i < n; ++i) {
    files[i].id = prefix + std::to_string(i);
    files[i].seconds = seconds;
    files[i].period_s = 0.15 * std::pow(1.1 / 0.15, (i + shift) / std::max(1, n - 1));
    files[i].phase_s = 0.037 * i;
  }
  return files;
}

// Feeds one epoch: the training files (fresh sensor noise every epoch, as re-decoded media
// would not have, but augmentation does), the validation files, then ends the epoch.
inline TrainProgress run_epoch(Trainer& trainer, const std::vector<BlinkMedia>& train,
                               const std::vector<BlinkMedia>& validation) {
  const ModelConfig& c = trainer.model()->config();
  const int epoch = trainer.epoch();
  for (size_t i = 0; i < train.size(); ++i) trainer.add_file(train[i].make(c, Split::Train, 1000 * epoch + i));
  for (size_t i = 0; i < validation.size(); ++i) trainer.add_file(validation[i].make(c, Split::Validation, 7 + i));
  return trainer.end_epoch();
}

}  // namespace avts::test
