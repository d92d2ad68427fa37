// Training throughput on synthetic files, shared by train_bench (CPU) and gpu_bench (GPU):
// files of random frames (at the stored size: short side = resize, 4:3) and noise audio, and
// avts::Trainer run over them for two epochs, the first of which warms up.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "avts/model.h"
#include "avts/train.h"

namespace bench {

// Random bytes, fast (xorshift64*): the content does not change the work, zeros would hide bugs.
inline std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    const uint64_t r = x * 0x2545F4914F6CDD1Dull;
    for (size_t k = 0; k < 8 && i + k < n; ++k) v[i + k] = static_cast<uint8_t>(r >> (8 * k));
  }
  return v;
}

inline std::vector<float> noise(size_t n, uint64_t seed) {
  const std::vector<uint8_t> b = random_bytes(n, seed);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (b[i] - 127.5f) / 400.0f;
  return v;
}

// Stage 1 (easy negatives, one per anchor), batches of `batch_pairs` pairs, over `files`
// files of `seconds` each; prints one JSON line with the second epoch's pairs per second.
// `backend` "": one process, no group; "gloo" / "nccl": a group of one rank over it (the
// rendezvous at MASTER_ADDR:MASTER_PORT), which shows what the gradient exchange costs
// beyond the network: Gloo's trip through the host, NCCL's on the GPU.
inline int train_two_epochs(const std::shared_ptr<avts::Model>& model, const std::string& preset,
                            const std::string& precision, int batch_pairs, int files, double seconds,
                            const std::string& backend = "") {
  const avts::ModelConfig& c = model->config();
  const int h = c.video.resize, w = c.video.resize * 4 / 3;
  const int n_frames = static_cast<int>(seconds * c.video.fps);
  const size_t n_samples = static_cast<size_t>(seconds * c.audio.sample_rate);
  std::vector<avts::TrainingFile> corpus;
  for (int i = 0; i < files; ++i) {
    avts::TrainingFile f(c, "file" + std::to_string(i), avts::Split::Train);
    const std::vector<float> a = noise(n_samples, 10 + i);
    f.push_audio(0, a.data(), a.size());
    const std::vector<uint8_t> v = random_bytes(3ull * w * h * 8, 100 + i);  // 8 distinct frames, cycled
    for (int j = 0; j < n_frames; ++j)
      f.push_video(static_cast<int64_t>(j * 1e9 / c.video.fps), {v.data() + (j % 8) * 3ull * w * h, w, h, 3 * w});
    corpus.push_back(std::move(f));
  }
  avts::TrainOptions o;
  o.batch_size = batch_pairs;
  o.epochs = 2;
  o.max_train_files = files;
  if (!backend.empty()) {
    o.distributed = avts::DistributedOptions::from_environment();
    o.distributed.backend = avts::parse_dist_backend(backend);
  }
  avts::Trainer trainer(model, o);
  avts::TrainProgress epoch;
  int64_t steps = 0;
  for (int e = 0; e < 2; ++e) {
    const int64_t before = trainer.step();
    for (const auto& f : corpus) trainer.add_file(f.copy());
    epoch = trainer.end_epoch();
    steps = trainer.step() - before;
  }
  std::printf(
      "{\"work\": \"train\", \"preset\": \"%s\", \"precision\": \"%s\", \"group\": \"%s\", "
      "\"batch_pairs\": %d, \"files\": %d, "
      "\"pairs\": %lld, \"steps\": %lld, \"samples_per_s\": %.2f, \"loss\": %.4f, "
      "\"shape\": {\"resize\": %d, \"crop\": %d, \"frames\": %d, \"width\": %d, \"mel_frames\": %d}}\n",
      preset.c_str(), precision.c_str(), backend.empty() ? "none" : backend.c_str(), batch_pairs, files,
      static_cast<long long>(epoch.epoch_pairs), static_cast<long long>(steps), epoch.pairs_per_second,
      epoch.epoch_loss, c.video.resize, c.video.crop, c.video_frames_per_clip(), c.video_base_width,
      c.audio_frames_per_clip());
  return 0;
}

}  // namespace bench
