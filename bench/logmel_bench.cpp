// Times avts::LogMel on N seconds of audio, pushed in 20 ms chunks and in one push.
// Usage: logmel_bench [SECONDS=60] [SAMPLES.f32]
//   Without SAMPLES.f32 the audio is synthetic (a chirp in noise); with it, the file's raw float32
//   16 kHz mono samples are repeated to fill SECONDS. Single-threaded. Prints one line per mode:
//   "<mode> <seconds> s <x> x real time <frames> frames", best of several runs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "avts/config.h"
#include "avts/logmel.h"

namespace {

std::vector<float> load_or_synthesise(double seconds, const char* path, int rate) {
  const size_t n = static_cast<size_t>(seconds * rate);
  std::vector<float> samples(n);
  if (path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t m = bytes.size() / sizeof(float);
    if (m == 0) {
      std::fprintf(stderr, "logmel_bench: no samples in %s\n", path);
      std::exit(1);
    }
    const float* src = reinterpret_cast<const float*>(bytes.data());
    for (size_t i = 0; i < n; ++i) samples[i] = src[i % m];
  } else {
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    for (size_t i = 0; i < n; ++i) {
      const double t = static_cast<double>(i) / rate;
      samples[i] = static_cast<float>(0.3 * std::sin(2 * 3.14159265358979 * (100 + 50 * t) * t)) + noise(rng);
    }
  }
  return samples;
}

// Best wall time of `runs` runs of one pass over `samples` in chunks of `chunk` samples.
double time_pass(const avts::AudioFrontEndConfig& config, const std::vector<float>& samples, size_t chunk, int runs,
                 size_t& n_frames) {
  double best = 1e30;
  std::vector<float> frames;
  frames.reserve((samples.size() / config.hop_length + 1) * config.n_mels);
  avts::LogMel logmel(config);  // plan made once, outside the timing
  for (int r = 0; r < runs; ++r) {
    frames.clear();
    logmel.reset();
    const auto start = std::chrono::steady_clock::now();
    for (size_t pos = 0; pos < samples.size(); pos += chunk)
      logmel.push(samples.data() + pos, std::min(chunk, samples.size() - pos), frames);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count());
  }
  n_frames = frames.size() / config.n_mels;
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 60.0;
  const char* path = argc > 2 ? argv[2] : nullptr;
  const avts::AudioFrontEndConfig config;
  const std::vector<float> samples = load_or_synthesise(seconds, path, config.sample_rate);
  const int runs = 7;
  for (auto [mode, chunk] :
       {std::pair<const char*, size_t>{"chunks20ms", config.sample_rate / 50}, {"onepush", samples.size()}}) {
    size_t n_frames = 0;
    const double t = time_pass(config, samples, chunk, runs, n_frames);
    std::printf("%s %.6f s %.0f x real time %zu frames\n", mode, t, seconds / t, n_frames);
  }
  return 0;
}
