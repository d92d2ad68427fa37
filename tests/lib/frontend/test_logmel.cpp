#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "avts/config.h"
#include "avts/error.h"
#include "avts/logmel.h"

using avts::AudioFrontEndConfig;
using avts::LogMel;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Centre frequency of mel band m under the default config (HTK scale, 40 bands over 0..8 kHz).
double band_centre_hz(int m) {
  const double mel_max = 2595.0 * std::log10(1.0 + 8000.0 / 700.0);
  const double mel = mel_max * (m + 1) / 41.0;
  return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
}

std::vector<float> tone(double hz, size_t n, double amplitude = 0.5) {
  std::vector<float> s(n);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<float>(amplitude * std::sin(2 * kPi * hz * i / 16000.0));
  return s;
}

std::vector<float> noisy_signal(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> s = tone(440.0, n);
  for (float& x : s) x += noise(rng);
  return s;
}

std::vector<float> all_frames(const AudioFrontEndConfig& c, const std::vector<float>& samples) {
  LogMel lm(c);
  std::vector<float> frames;
  lm.push(samples.data(), samples.size(), frames);
  return frames;
}

std::vector<float> chunked_frames(const AudioFrontEndConfig& c, const std::vector<float>& samples, unsigned seed) {
  LogMel lm(c);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> chunk(0, 700);  // 0 and 1 included, and chunks > win
  std::vector<float> frames;
  size_t pos = 0, reported = 0;
  while (pos < samples.size()) {
    const size_t n = std::min(chunk(rng), samples.size() - pos);
    reported += lm.push(samples.data() + pos, n, frames);
    pos += n;
  }
  EXPECT_EQ(reported * c.n_mels, frames.size());
  return frames;
}

size_t expected_frames(const AudioFrontEndConfig& c, size_t n) {
  return n >= static_cast<size_t>(c.win_length) ? (n - c.win_length) / c.hop_length + 1 : 0;
}

}  // namespace

TEST(LogMel, ToneLandsInItsMelBand) {
  const AudioFrontEndConfig c;
  for (int band : {3, 12, 20, 33}) {
    const std::vector<float> s = tone(band_centre_hz(band), 4000);
    const std::vector<float> frames = all_frames(c, s);
    ASSERT_EQ(frames.size(), expected_frames(c, s.size()) * c.n_mels);
    for (size_t f = 0; f < frames.size() / c.n_mels; ++f) {
      const float* row = frames.data() + f * c.n_mels;
      const int peak = static_cast<int>(std::max_element(row, row + c.n_mels) - row);
      EXPECT_EQ(peak, band) << "frame " << f;
      // Bands two away from the tone are far below it (the filters do not overlap there).
      EXPECT_LT(row[band - 2], row[band] - 5.0f);
      EXPECT_LT(row[band + 2], row[band] - 5.0f);
    }
  }
}

// An impulse has a flat power spectrum equal to the squared window value under it, so each band is
// window^2 * (sum of its filter weights): this pins the periodic Hann window, the framing and the
// power (not magnitude) spectrum.
TEST(LogMel, ImpulseGivesWindowSquaredTimesFilterArea) {
  const AudioFrontEndConfig c;
  std::vector<float> s(1000, 0.0f);
  s[200] = 1.0f;
  const std::vector<float> frames = all_frames(c, s);
  ASSERT_EQ(frames.size(), 4u * c.n_mels);  // (1000 - 400) / 160 + 1

  const std::vector<float> fb = LogMel::mel_filterbank(c);
  const int n_freqs = c.n_fft / 2 + 1;
  auto hann = [&](int i) { return 0.5 - 0.5 * std::cos(2 * kPi * i / c.win_length); };
  const double w0 = hann(200), w1 = hann(200 - 160);  // where the impulse sits in frames 0 and 1
  for (int m = 0; m < c.n_mels; ++m) {
    double area = 0;
    for (int k = 0; k < n_freqs; ++k) area += fb[k * c.n_mels + m];
    EXPECT_NEAR(frames[m], std::log(w0 * w0 * area + c.log_offset), 1e-4) << "band " << m;
    EXPECT_NEAR(frames[c.n_mels + m], std::log(w1 * w1 * area + c.log_offset), 1e-4) << "band " << m;
    // Frames 2 (320..719) and 3 (480..879) do not contain the impulse.
    EXPECT_FLOAT_EQ(frames[2 * c.n_mels + m], std::log(static_cast<float>(c.log_offset)));
    EXPECT_FLOAT_EQ(frames[3 * c.n_mels + m], std::log(static_cast<float>(c.log_offset)));
  }
}

TEST(LogMel, SilenceGivesLogOffset) {
  AudioFrontEndConfig c;
  c.log_offset = 1e-3;
  const std::vector<float> frames = all_frames(c, std::vector<float>(1600, 0.0f));
  ASSERT_EQ(frames.size(), 8u * c.n_mels);
  for (float v : frames) EXPECT_FLOAT_EQ(v, std::log(1e-3f));
}

TEST(LogMel, FrameCountFollowsTheFormula) {
  const AudioFrontEndConfig c;
  for (size_t n : {0, 1, 399, 400, 401, 559, 560, 561, 16000}) {
    LogMel lm(c);
    std::vector<float> frames;
    const std::vector<float> s(n, 0.1f);
    EXPECT_EQ(lm.push(s.data(), n, frames), expected_frames(c, n)) << n << " samples";
    EXPECT_EQ(frames.size(), expected_frames(c, n) * c.n_mels);
  }
}

TEST(LogMel, StreamingInRandomChunksEqualsOnePush) {
  const AudioFrontEndConfig c;
  const std::vector<float> s = noisy_signal(21001, 1);
  const std::vector<float> whole = all_frames(c, s);
  ASSERT_EQ(whole.size(), expected_frames(c, s.size()) * c.n_mels);
  for (unsigned seed : {1u, 2u, 3u}) EXPECT_EQ(chunked_frames(c, s, seed), whole) << "seed " << seed;
}

TEST(LogMel, StreamingWithHopLongerThanWindow) {
  AudioFrontEndConfig c;
  c.n_fft = 256;
  c.win_length = 200;
  c.hop_length = 450;  // samples between windows are skipped, also across pushes
  const std::vector<float> s = noisy_signal(9000, 2);
  const std::vector<float> whole = all_frames(c, s);
  ASSERT_EQ(whole.size(), expected_frames(c, s.size()) * c.n_mels);
  for (unsigned seed : {4u, 5u}) EXPECT_EQ(chunked_frames(c, s, seed), whole) << "seed " << seed;
  // Frame 1 is the first frame of the signal from sample 450 on.
  const std::vector<float> tail = all_frames(c, std::vector<float>(s.begin() + 450, s.end()));
  EXPECT_EQ(std::vector<float>(whole.begin() + c.n_mels, whole.begin() + 2 * c.n_mels),
            std::vector<float>(tail.begin(), tail.begin() + c.n_mels));
}

TEST(LogMel, ResetStartsFrameZeroAgain) {
  const AudioFrontEndConfig c;
  const std::vector<float> s = noisy_signal(5000, 3);
  LogMel lm(c);
  std::vector<float> frames;
  lm.push(s.data(), 1234, frames);  // leaves a partial frame buffered
  lm.reset();
  frames.clear();
  lm.push(s.data(), s.size(), frames);
  EXPECT_EQ(frames, all_frames(c, s));
}

TEST(LogMel, FilterbankMatchesTorchaudio) {
  const AudioFrontEndConfig c;
  const std::vector<float> fb = LogMel::mel_filterbank(c);
  const int n_freqs = 257;
  ASSERT_EQ(fb.size(), static_cast<size_t>(n_freqs) * c.n_mels);
  auto at = [&](int k, int m) { return fb[k * c.n_mels + m]; };
  // Values of torchaudio.functional.melscale_fbanks(257, 0, 8000, 40, 16000) (torchaudio 0.13).
  EXPECT_NEAR(at(2, 0), 0.615871f, 1e-5);
  EXPECT_NEAR(at(2, 1), 0.384129f, 1e-5);
  EXPECT_NEAR(at(3, 1), 0.956377f, 1e-5);
  EXPECT_NEAR(at(3, 2), 0.043623f, 1e-5);
  EXPECT_EQ(at(3, 0), 0.0f);
  EXPECT_NEAR(at(100, 26), 0.377173f, 1e-5);
  EXPECT_NEAR(at(100, 27), 0.622827f, 1e-5);
  EXPECT_EQ(at(100, 25), 0.0f);
  EXPECT_NEAR(at(250, 39), 0.361529f, 1e-5);
  // Bin 0 (0 Hz = f_min) and bin 256 (8 kHz = f_max) touch no filter; every filter is a triangle
  // that rises to at most 1 and falls once.
  for (int m = 0; m < c.n_mels; ++m) {
    EXPECT_EQ(at(0, m), 0.0f);
    EXPECT_EQ(at(n_freqs - 1, m), 0.0f);
    int turns = 0;
    float prev_slope = 1;
    for (int k = 1; k < n_freqs; ++k) {
      const float slope = at(k, m) - at(k - 1, m);
      EXPECT_LE(at(k, m), 1.0f);
      if (slope < 0 && prev_slope > 0) ++turns;
      if (slope != 0) prev_slope = slope;
    }
    EXPECT_EQ(turns, 1) << "filter " << m;
  }
}

TEST(LogMel, RejectsBadConfig) {
  AudioFrontEndConfig c;
  c.win_length = 600;  // longer than n_fft
  EXPECT_THROW(LogMel{c}, avts::Error);
  c = AudioFrontEndConfig();
  c.f_max = 9000;  // above Nyquist
  EXPECT_THROW(LogMel{c}, avts::Error);
  c = AudioFrontEndConfig();
  c.hop_length = 0;
  EXPECT_THROW(LogMel::mel_filterbank(c), avts::Error);
}
