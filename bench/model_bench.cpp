// Network throughput alone: Model::embed on random inputs, no decoding, no front end.
// Usage: model_bench PRESET audio|video BATCH ITERATIONS THREADS
// Prints one JSON line: {"preset":..., "modality":..., "batch":..., "clips_per_s":...}.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "avts/model.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: model_bench PRESET audio|video BATCH ITERATIONS THREADS\n");
    return 2;
  }
  const std::string preset = argv[1], modality = argv[2];
  const int batch = std::atoi(argv[3]), iterations = std::atoi(argv[4]);
  avts::Model::set_threads(std::atoi(argv[5]));

  const auto config = avts::ModelConfig::preset_config(preset);
  const auto model = avts::Model::create(config, 0);
  const avts::Modality m = modality == "audio" ? avts::Modality::Audio : avts::Modality::Video;
  const size_t clip_size = m == avts::Modality::Audio
                               ? static_cast<size_t>(config.audio.n_mels) * config.audio_frames_per_clip()
                               : 3ull * config.video_frames_per_clip() * config.video.crop * config.video.crop;
  std::vector<float> input(clip_size * batch);
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  for (float& x : input) x = normal(rng);
  std::vector<float> out(static_cast<size_t>(batch) * model->dim(m, "embedding"));

  model->embed(m, input.data(), batch, "embedding", out.data());  // warm-up
  double best = 1e30;
  for (int i = 0; i < iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    model->embed(m, input.data(), batch, "embedding", out.data());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("{\"preset\": \"%s\", \"modality\": \"%s\", \"batch\": %d, \"clips_per_s\": %.4f}\n", preset.c_str(),
              modality.c_str(), batch, batch / best);
  return 0;
}
