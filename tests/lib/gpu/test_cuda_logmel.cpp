// The log-mel front end on the GPU (gpu::LogMelBatch, cuFFT) against the CPU one (LogMel,
// FFTW in double precision): independent signals, overlapping windows of one stream, silence,
// another configuration, and the frame count. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "avts/error.h"
#include "avts/gpu.h"
#include "avts/logmel.h"
#include "cuda_test_support.h"

using namespace avts;
using namespace avts::gpu;
using namespace avts::gpu::test;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Noise under two tones: every band has energy, the loud and the quiet ones.
std::vector<float> signal(size_t n, unsigned seed, int sample_rate = 16000) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> s(n);
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<float>(0.5 * std::sin(2 * kPi * (440.0 + 50 * seed) * i / sample_rate) +
                              0.05 * std::sin(2 * kPi * 3000.0 * i / sample_rate)) +
           noise(rng);
  return s;
}

// LogMel of samples[0, n), transposed to mel-major (n_mels x frames) as the GPU writes it.
std::vector<float> cpu_logmel(const AudioFrontEndConfig& c, const float* samples, size_t n) {
  LogMel lm(c);
  std::vector<float> frames;
  const size_t count = lm.push(samples, n, frames);
  std::vector<float> out(frames.size());
  for (size_t t = 0; t < count; ++t)
    for (int m = 0; m < c.n_mels; ++m) out[m * count + t] = frames[t * c.n_mels + m];
  return out;
}

// LogMelBatch on `count` signals `step` apart in `samples`, each `length` long.
std::vector<float> gpu_logmel(const AudioFrontEndConfig& c, const std::vector<float>& samples, int count, int length,
                              size_t step) {
  LogMelBatch lm(c);
  Buffer in = to_device(samples);
  Buffer out(Buffer::Kind::Device, static_cast<size_t>(count) * c.n_mels * lm.frames(length) * sizeof(float));
  lm.run(in.as<float>(), count, length, step, out.as<float>());
  synchronize();
  return to_host<float>(out);
}

// The CPU result of each signal, one after another.
std::vector<float> cpu_batch(const AudioFrontEndConfig& c, const std::vector<float>& samples, int count, int length,
                             size_t step) {
  std::vector<float> all;
  for (int b = 0; b < count; ++b) {
    const std::vector<float> one = cpu_logmel(c, samples.data() + b * step, length);
    all.insert(all.end(), one.begin(), one.end());
  }
  return all;
}

}  // namespace

TEST(CudaLogMel, IndependentSignalsMatchTheCpuFrontEnd) {
  AVTS_REQUIRE_GPU();
  const AudioFrontEndConfig c;
  const int count = 5, length = 16240;  // 100 frames each, as one window of the paper's model
  std::vector<float> samples;
  for (int b = 0; b < count; ++b) {
    const std::vector<float> s = signal(length, b);
    samples.insert(samples.end(), s.begin(), s.end());
  }
  EXPECT_LT(max_difference(gpu_logmel(c, samples, count, length, length), cpu_batch(c, samples, count, length, length)),
            1e-4);
}

TEST(CudaLogMel, OverlappingWindowsOfOneStream) {
  AVTS_REQUIRE_GPU();
  const AudioFrontEndConfig c;
  const int length = 16240, hop = 640, count = 24;  // a window every 40 ms
  const std::vector<float> stream = signal(length + (count - 1) * hop, 3);
  EXPECT_LT(max_difference(gpu_logmel(c, stream, count, length, hop), cpu_batch(c, stream, count, length, hop)), 1e-4);
}

TEST(CudaLogMel, AnotherConfiguration) {
  AVTS_REQUIRE_GPU();
  AudioFrontEndConfig c;  // 22.05 kHz, 1024-point FFT, 64 bands from 50 Hz
  c.sample_rate = 22050;
  c.win_length = 800;
  c.hop_length = 256;
  c.n_fft = 1024;
  c.n_mels = 64;
  c.f_min = 50;
  c.f_max = 11025;
  const int count = 3, length = 9000;
  std::vector<float> samples;
  for (int b = 0; b < count; ++b) {
    const std::vector<float> s = signal(length, 10 + b, c.sample_rate);
    samples.insert(samples.end(), s.begin(), s.end());
  }
  EXPECT_LT(max_difference(gpu_logmel(c, samples, count, length, length), cpu_batch(c, samples, count, length, length)),
            1e-4);
}

TEST(CudaLogMel, SilenceGivesTheLogOffset) {
  AVTS_REQUIRE_GPU();
  const AudioFrontEndConfig c;
  const std::vector<float> out = gpu_logmel(c, std::vector<float>(2000, 0.0f), 1, 2000, 2000);
  ASSERT_EQ(out.size(), static_cast<size_t>(c.n_mels) * 11);  // (2000 - 400) / 160 + 1 frames
  for (float v : out) EXPECT_NEAR(v, std::log(1e-6f), 1e-6);
}

TEST(CudaLogMel, FrameCount) {
  AVTS_REQUIRE_GPU();
  LogMelBatch lm(AudioFrontEndConfig{});
  EXPECT_EQ(lm.frames(16240), 100);
  EXPECT_EQ(lm.frames(400), 1);
  EXPECT_EQ(lm.frames(399), 0);
  EXPECT_EQ(lm.frames(559), 1);
  EXPECT_EQ(lm.frames(560), 2);
  EXPECT_EQ(lm.n_mels(), 40);
}
