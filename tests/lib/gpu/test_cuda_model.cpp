// device=cuda end to end: Model::embed on a GPU against the CPU, the GPU batch extractors
// (front end on the GPU, pipelined batches) against the CPU front ends and model, mixed
// precision, and training steps on the GPU against the same steps on the CPU. Skipped unless
// this LibTorch has CUDA and a GPU is visible; the precision names and refusals run anywhere.
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "avts/error.h"
#include "avts/gpu_features.h"
#include "avts/logmel.h"
#include "avts/model.h"
#include "avts/nets.h"
#include "avts/video_prep.h"
#include "cuda_test_support.h"
#include "train_fixtures.h"

using namespace avts;
using namespace avts::gpu;
using namespace avts::gpu::test;

namespace {

#define REQUIRE_CUDA_TORCH()                                                                              \
  do {                                                                                                    \
    AVTS_REQUIRE_GPU();                                                                                   \
    if (!torch::cuda::is_available())                                                                     \
      GTEST_SKIP() << "this LibTorch has no CUDA (build with -Dlibtorch=<a CUDA LibTorch>): device=cuda " \
                      "not checked";                                                                      \
    at::globalContext().setAllowTF32CuDNN(false); /* float32 on both sides */                             \
    at::globalContext().setAllowTF32CuBLAS(false);                                                        \
  } while (0)

// 25 frames of 40 x 30, 24 px crops, narrow nets: milliseconds per clip on either device.
ModelConfig small_config() {
  ModelConfig c = ModelConfig::preset_config("avts-compact");
  c.video.resize = 28;
  c.video.crop = 24;
  c.video_base_width = 4;
  c.audio_base_width = 4;
  c.embedding_dim = 16;
  return c;
}

std::vector<uint8_t> random_frames(size_t bytes, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(bytes);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

std::vector<float> normal(size_t n, unsigned seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Cosine similarity of two rows.
double cosine(const float* a, const float* b, int n) {
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < n; ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST(CudaModel, PrecisionNamesAndRefusals) {
  EXPECT_EQ(parse_precision("bf16"), Precision::BFloat16);
  EXPECT_EQ(parse_precision("float16"), Precision::Float16);
  EXPECT_EQ(parse_precision("fp32"), Precision::Float32);
  EXPECT_STREQ(precision_name(Precision::BFloat16), "bfloat16");
  EXPECT_THROW(parse_precision("int8"), Error);
  const auto cpu = Model::create(small_config(), 1);
  EXPECT_THROW(cpu->set_precision(Precision::Float16), Error);  // needs a CUDA device
  cpu->set_precision(Precision::BFloat16);                      // CPU autocast
  cpu->set_precision(Precision::Float32);
  EXPECT_THROW(VideoClipEmbedder{cpu}, Error);  // the GPU extractors want a model on the GPU
}

TEST(CudaModel, EmbedOnTheGpuMatchesTheCpu) {
  REQUIRE_CUDA_TORCH();
  const ModelConfig c = small_config();
  const auto cpu = Model::create(c, 3), gpu = Model::create(c, 3, "cuda");
  EXPECT_EQ(cpu->id(), gpu->id());
  for (const Modality m : {Modality::Audio, Modality::Video}) {
    const size_t per = m == Modality::Audio ? size_t(c.audio.n_mels) * c.audio_frames_per_clip()
                                            : size_t(3) * c.video_frames_per_clip() * c.video.crop * c.video.crop;
    const std::vector<float> x = normal(3 * per, 5);
    for (const std::string layer : {"embedding", "layer2"}) {
      const int dim = cpu->dim(m, layer);
      std::vector<float> a(3 * dim), b(3 * dim);
      cpu->embed(m, x.data(), 3, layer, a.data());
      gpu->embed(m, x.data(), 3, layer, b.data());
      EXPECT_LT(max_difference(a, b), 1e-4) << modality_name(m) << " " << layer;
    }
  }
}

// Clips through VideoClipEmbedder (RGB and I420) against FramePreprocessor + Model::embed on
// the CPU: 5 clips in batches of 2, so rows come back from full, pipelined and partial batches.
TEST(CudaModel, VideoClipEmbedderMatchesTheCpuPath) {
  REQUIRE_CUDA_TORCH();
  const ModelConfig c = small_config();
  const auto cpu = Model::create(c, 4), gpu = Model::create(c, 4, "cuda");
  const int t = c.video_frames_per_clip(), w = 40, h = 30, clips = 5;
  const size_t frame = 3 * size_t(w) * h, plane = size_t(c.video.crop) * c.video.crop;
  const std::vector<uint8_t> bytes = random_frames(frame * t * clips, 9);

  FramePreprocessor prep(c.video);
  std::vector<float> input(clips * 3 * t * plane), one(prep.output_size());
  for (int k = 0; k < clips; ++k)
    for (int f = 0; f < t; ++f) {
      prep.process({bytes.data() + (k * t + f) * frame, w, h, 3 * w}, one.data());
      for (int ch = 0; ch < 3; ++ch)
        std::memcpy(&input[((k * 3 + ch) * t + f) * plane], &one[ch * plane], plane * sizeof(float));
    }
  const int dim = cpu->dim(Modality::Video, "embedding");
  std::vector<float> expected(clips * dim);
  cpu->embed(Modality::Video, input.data(), clips, "embedding", expected.data());

  VideoClipEmbedder embedder(gpu, "embedding", 2);
  std::vector<float> rows;
  std::vector<RgbImage> frames(t);
  for (int k = 0; k < clips; ++k) {
    for (int f = 0; f < t; ++f) frames[f] = {bytes.data() + (k * t + f) * frame, w, h, 3 * w};
    embedder.add(frames.data(), rows);
    EXPECT_EQ(rows.size() % dim, 0u);
  }
  embedder.finish(rows);
  EXPECT_LT(max_difference(rows, expected), 1e-4);

  // The same clips as I420 (converted on the host for the CPU side), and a pooled layer.
  const int cw = w / 2, ch = h / 2;
  const size_t i420 = size_t(w) * h + 2 * size_t(cw) * ch;
  const std::vector<uint8_t> yuv = random_frames(i420 * t * clips, 10);
  std::vector<uint8_t> rgb(frame);
  for (int k = 0; k < clips; ++k)
    for (int f = 0; f < t; ++f) {
      const uint8_t* base = yuv.data() + (k * t + f) * i420;
      i420_to_rgb({base, base + w * h, base + w * h + cw * ch, w, h, w, cw, cw}, YuvMatrix::Bt709, rgb.data(), 3 * w);
      prep.process({rgb.data(), w, h, 3 * w}, one.data());
      for (int c3 = 0; c3 < 3; ++c3)
        std::memcpy(&input[((k * 3 + c3) * t + f) * plane], &one[c3 * plane], plane * sizeof(float));
    }
  const int dim3 = cpu->dim(Modality::Video, "layer3");
  std::vector<float> expected3(clips * dim3);
  cpu->embed(Modality::Video, input.data(), clips, "layer3", expected3.data());
  VideoClipEmbedder pooled(gpu, "layer3", 3);
  rows.clear();
  std::vector<I420Image> planes(t);
  for (int k = 0; k < clips; ++k) {
    for (int f = 0; f < t; ++f) {
      const uint8_t* base = yuv.data() + (k * t + f) * i420;
      planes[f] = {base, base + w * h, base + w * h + cw * ch, w, h, w, cw, cw};
    }
    pooled.add(planes.data(), YuvMatrix::Bt709, rows);
  }
  pooled.finish(rows);
  EXPECT_LT(max_difference(rows, expected3), 1e-4);
}

TEST(CudaModel, AudioWindowEmbedderMatchesTheCpuPath) {
  REQUIRE_CUDA_TORCH();
  const ModelConfig c = small_config();
  const auto cpu = Model::create(c, 5), gpu = Model::create(c, 5, "cuda");
  AudioWindowEmbedder embedder(gpu, "embedding", 4);
  const int n = embedder.window_samples(), windows = 9, frames = c.audio_frames_per_clip();
  ASSERT_EQ(n, (frames - 1) * c.audio.hop_length + c.audio.win_length);
  const std::vector<float> samples = normal(size_t(n) * windows, 6, 0.1f);

  std::vector<float> input;
  for (int k = 0; k < windows; ++k) {
    LogMel lm(c.audio);
    std::vector<float> f;
    ASSERT_EQ(lm.push(samples.data() + size_t(k) * n, n, f), size_t(frames));
    for (int m = 0; m < c.audio.n_mels; ++m)
      for (int j = 0; j < frames; ++j) input.push_back(f[size_t(j) * c.audio.n_mels + m]);
  }
  const int dim = cpu->dim(Modality::Audio, "embedding");
  std::vector<float> expected(windows * dim), rows;
  cpu->embed(Modality::Audio, input.data(), windows, "embedding", expected.data());
  for (int k = 0; k < windows; ++k) embedder.add(samples.data() + size_t(k) * n, rows);
  embedder.finish(rows);
  EXPECT_LT(max_difference(rows, expected), 1e-3);  // log-mel in float32 on the GPU
}

TEST(CudaModel, MixedPrecisionStaysCloseToFloat32) {
  REQUIRE_CUDA_TORCH();
  const ModelConfig c = small_config();
  const auto model = Model::create(c, 6, "cuda");
  const size_t per = size_t(3) * c.video_frames_per_clip() * c.video.crop * c.video.crop;
  const std::vector<float> x = normal(4 * per, 8);
  const int dim = model->dim(Modality::Video, "embedding");
  std::vector<float> full(4 * dim), low(4 * dim);
  model->embed(Modality::Video, x.data(), 4, "embedding", full.data());
  for (const Precision p : {Precision::BFloat16, Precision::Float16}) {
    model->set_precision(p);
    EXPECT_EQ(model->precision(), p);
    model->embed(Modality::Video, x.data(), 4, "embedding", low.data());
    EXPECT_GT(max_difference(full, low), 0.0) << precision_name(p) << " computed in float32?";
    for (int k = 0; k < 4; ++k) EXPECT_GT(cosine(&full[k * dim], &low[k * dim], dim), 0.99) << precision_name(p);
  }
}

// The first steps of a run on the GPU take the same batches as on the CPU (sampling is on the
// host), so their losses agree; in bfloat16 closely; float16 training is refused.
TEST(CudaModel, TrainingStepsOnTheGpu) {
  REQUIRE_CUDA_TORCH();
  TrainOptions o;
  o.batch_size = 4;
  o.epochs = 1;
  o.queue_batches = 1;
  o.lr = 1e-3;
  const auto files = avts::test::blink_corpus("g", 3, 3.3);
  auto first_losses = [&](const std::string& device, Precision precision) {
    auto model = Model::create(avts::test::tiny_train_config(), 1, device);
    model->set_precision(precision);
    Trainer trainer(model, o);
    std::vector<double> losses;
    trainer.set_progress([&](const TrainProgress& p) {
      if (p.kind == TrainProgress::Kind::Step) losses.push_back(p.loss);
    });
    for (const auto& f : files) trainer.add_file(f.make(model->config(), Split::Train));
    trainer.end_epoch();
    return losses;
  };
  const std::vector<double> cpu = first_losses("cpu", Precision::Float32);
  const std::vector<double> gpu = first_losses("cuda", Precision::Float32);
  const std::vector<double> bf16 = first_losses("cuda", Precision::BFloat16);
  ASSERT_EQ(cpu.size(), gpu.size());
  ASSERT_EQ(cpu.size(), bf16.size());
  ASSERT_GE(cpu.size(), 3u);
  for (size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_NEAR(gpu[i], cpu[i], 1e-3 * std::abs(cpu[i]) + 1e-5) << "step " << i;
    EXPECT_NEAR(bf16[i], cpu[i], 5e-2 * std::abs(cpu[i]) + 1e-3) << "step " << i;
  }
  auto half = Model::create(avts::test::tiny_train_config(), 1, "cuda");
  half->set_precision(Precision::Float16);
  EXPECT_THROW((Trainer{half, o}), Error);
}
