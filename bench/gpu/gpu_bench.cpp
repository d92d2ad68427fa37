// GPU throughput of our C++ code, one measurement per run, printed as one JSON line:
//   gpu_bench video PRESET BATCH CLIPS PRECISION WIDTH HEIGHT
//       feature extraction: clips of decoded RGB frames (WIDTH x HEIGHT, host memory) ->
//       embeddings with gpu::VideoClipEmbedder (front end on the GPU, pipelined batches)
//   gpu_bench audio PRESET BATCH WINDOWS PRECISION
//       windows of mono samples -> embeddings with gpu::AudioWindowEmbedder (log-mel on the GPU)
//   gpu_bench train PRESET BATCH_PAIRS FILES SECONDS PRECISION [gloo|nccl]
//       avts::Trainer on FILES synthetic files of SECONDS each (frames at the model's resize
//       size, as TrainingFile stores them); pairs per second of the second epoch. With a
//       backend: as the one rank of a data-parallel group over it (MASTER_PORT)
// PRECISION is float32, bfloat16 or float16. The first batches (video, audio) or the first
// epoch (train) warm up cuDNN's autotuner and the allocators and are not timed; cuDNN picks
// its fastest algorithms (benchmark mode), as bench_gpu.py sets PyTorch to.
#include <ATen/Context.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "avts/gpu_features.h"
#include "avts/model.h"
#include "avts/train.h"
#include "../synthetic_training.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

using bench::noise;
using bench::random_bytes;

std::shared_ptr<avts::Model> cuda_model(const std::string& preset, const std::string& precision) {
  auto model = avts::Model::create(avts::ModelConfig::preset_config(preset), 1, "cuda");
  model->set_precision(avts::parse_precision(precision));
  return model;
}

int video(const std::string& preset, int batch, int clips, const std::string& precision, int width, int height) {
  auto model = cuda_model(preset, precision);
  avts::gpu::VideoClipEmbedder embedder(model, "embedding", batch);
  const int t = embedder.frames_per_clip();
  const size_t frame = 3ull * width * height;
  const int pool = 2 * batch + 1;  // distinct clips, more than two batches: no cache reuse
  const std::vector<uint8_t> bytes = random_bytes(frame * t * pool, 1);
  std::vector<avts::RgbImage> frames(t);
  std::vector<float> rows;
  auto run = [&](int n) {
    rows.clear();
    for (int k = 0; k < n; ++k) {
      const uint8_t* clip = bytes.data() + (k % pool) * t * frame;
      for (int f = 0; f < t; ++f) frames[f] = {clip + f * frame, width, height, 3 * width};
      embedder.add(frames.data(), rows);
    }
    embedder.finish(rows);
  };
  run(3 * batch);  // warm-up
  const auto t0 = Clock::now();
  run(clips);
  const double s = seconds_since(t0);
  if (rows.size() != static_cast<size_t>(clips) * embedder.dim()) return 1;
  std::printf(
      "{\"work\": \"video\", \"preset\": \"%s\", \"precision\": \"%s\", \"batch\": %d, \"clips\": %d, "
      "\"frame\": \"%dx%d\", \"seconds\": %.4f, \"clips_per_s\": %.2f}\n",
      preset.c_str(), precision.c_str(), batch, clips, width, height, s, clips / s);
  return 0;
}

int audio(const std::string& preset, int batch, int windows, const std::string& precision) {
  auto model = cuda_model(preset, precision);
  avts::gpu::AudioWindowEmbedder embedder(model, "embedding", batch);
  const int n = embedder.window_samples(), pool = 2 * batch + 1;
  const std::vector<float> samples = noise(static_cast<size_t>(n) * pool, 2);
  std::vector<float> rows;
  auto run = [&](int count) {
    rows.clear();
    for (int k = 0; k < count; ++k) embedder.add(samples.data() + static_cast<size_t>(k % pool) * n, rows);
    embedder.finish(rows);
  };
  run(3 * batch);
  const auto t0 = Clock::now();
  run(windows);
  const double s = seconds_since(t0);
  if (rows.size() != static_cast<size_t>(windows) * embedder.dim()) return 1;
  std::printf(
      "{\"work\": \"audio\", \"preset\": \"%s\", \"precision\": \"%s\", \"batch\": %d, \"windows\": %d, "
      "\"seconds\": %.4f, \"clips_per_s\": %.2f}\n",
      preset.c_str(), precision.c_str(), batch, windows, s, windows / s);
  return 0;
}

int train(const std::string& preset, int batch_pairs, int files, double seconds, const std::string& precision,
          const std::string& backend) {
  return bench::train_two_epochs(cuda_model(preset, precision), preset, precision, batch_pairs, files, seconds,
                                 backend);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (!torch::cuda::is_available()) {
      std::fprintf(stderr, "gpu_bench: this LibTorch has no CUDA or no GPU is visible\n");
      return 2;
    }
    at::globalContext().setBenchmarkCuDNN(true);
    if (a.size() == 7 && a[0] == "video")
      return video(a[1], std::stoi(a[2]), std::stoi(a[3]), a[4], std::stoi(a[5]), std::stoi(a[6]));
    if (a.size() == 5 && a[0] == "audio") return audio(a[1], std::stoi(a[2]), std::stoi(a[3]), a[4]);
    if ((a.size() == 6 || a.size() == 7) && a[0] == "train")
      return train(a[1], std::stoi(a[2]), std::stoi(a[3]), std::stod(a[4]), a[5], a.size() == 7 ? a[6] : "");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: gpu_bench video PRESET BATCH CLIPS PRECISION WIDTH HEIGHT\n"
               "       gpu_bench audio PRESET BATCH WINDOWS PRECISION\n"
               "       gpu_bench train PRESET BATCH_PAIRS FILES SECONDS PRECISION [gloo|nccl]\n");
  return 2;
}
