// The window, the FFT and the mel sums run in double precision: as fast as single precision
// here, and single precision leaves the quiet bands of real audio (40-60 dB under the frame's
// loudest) about 1e-4 off in log, which is torchaudio's own float32 error on the same clips.
#include "avts/logmel.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

#include "avts/error.h"

namespace avts {

namespace {

constexpr double kPi = 3.14159265358979323846;

// FFTW's planner is not thread-safe (fftw_execute is): plans are made and destroyed under this lock.
std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

void check_config(const AudioFrontEndConfig& c) {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw Error("log-mel front end: " + what);
  };
  require(c.sample_rate > 0, "sample_rate must be positive");
  require(c.n_fft >= 2, "n_fft must be at least 2");
  require(c.win_length > 0 && c.win_length <= c.n_fft, "win_length must be in [1, n_fft]");
  require(c.hop_length > 0, "hop_length must be positive");
  require(c.n_mels > 0, "n_mels must be positive");
  require(c.f_min >= 0 && c.f_min < c.f_max && c.f_max <= c.sample_rate / 2.0,
          "frequencies need 0 <= f_min < f_max <= sample_rate / 2");
  require(c.log_offset > 0, "log_offset must be positive");
}

double hz_to_mel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

// One triangular filter, stored as its run of nonzero weights starting at FFT bin `first_bin`.
struct MelFilter {
  int first_bin = 0;
  std::vector<double> weights;  // those of mel_filterbank(), widened once here
};

}  // namespace

std::vector<float> LogMel::mel_filterbank(const AudioFrontEndConfig& c) {
  check_config(c);
  const int n_freqs = c.n_fft / 2 + 1;
  // As torchaudio: bin frequencies span [0, sample_rate // 2], n_mels + 2 points equally spaced on
  // the HTK mel scale, each filter rising from point m to m + 1 and falling to m + 2.
  const double nyquist = static_cast<double>(c.sample_rate / 2);
  const double mel_min = hz_to_mel(c.f_min);
  const double mel_max = hz_to_mel(c.f_max);
  std::vector<double> f_pts(c.n_mels + 2);
  for (int i = 0; i < c.n_mels + 2; ++i) f_pts[i] = mel_to_hz(mel_min + (mel_max - mel_min) * i / (c.n_mels + 1));
  f_pts.front() = c.f_min;  // exact ends, so the bins at f_min and f_max weigh exactly 0
  f_pts.back() = c.f_max;

  std::vector<float> fb(static_cast<size_t>(n_freqs) * c.n_mels, 0.0f);
  for (int k = 0; k < n_freqs; ++k) {
    const double f = n_freqs > 1 ? nyquist * k / (n_freqs - 1) : 0.0;
    for (int m = 0; m < c.n_mels; ++m) {
      const double rising = (f - f_pts[m]) / (f_pts[m + 1] - f_pts[m]);
      const double falling = (f_pts[m + 2] - f) / (f_pts[m + 2] - f_pts[m + 1]);
      fb[static_cast<size_t>(k) * c.n_mels + m] = static_cast<float>(std::max(0.0, std::min(rising, falling)));
    }
  }
  return fb;
}

struct LogMel::Impl {
  AudioFrontEndConfig config;
  int n_freqs = 0;
  int window_offset = 0;       // where the window starts inside the n_fft frame
  std::vector<double> window;  // periodic Hann, win_length
  std::vector<MelFilter> filters;
  double* fft_in = nullptr;  // n_fft; the zero padding around the window is never written
  fftw_complex* fft_out = nullptr;
  fftw_plan plan = nullptr;
  std::vector<double> power;   // n_freqs
  std::vector<float> pending;  // samples from the start of the next frame on
  size_t skip = 0;             // samples still to drop before the next frame (hop > win)

  void compute_frame(const float* samples, float* out) {
    const int win = config.win_length;
    for (int i = 0; i < win; ++i) fft_in[window_offset + i] = samples[i] * window[i];
    fftw_execute(plan);
    for (int k = 0; k < n_freqs; ++k) power[k] = fft_out[k][0] * fft_out[k][0] + fft_out[k][1] * fft_out[k][1];
    const double log_offset = config.log_offset;
    for (size_t m = 0; m < filters.size(); ++m) {
      const MelFilter& f = filters[m];
      const double* p = power.data() + f.first_bin;
      double sum = 0.0;
      for (size_t j = 0; j < f.weights.size(); ++j) sum += p[j] * f.weights[j];
      out[m] = std::log(static_cast<float>(sum + log_offset));  // logf: faster, as precise as a float
    }
  }
};

LogMel::LogMel(const AudioFrontEndConfig& config) : impl_(std::make_unique<Impl>()) {
  check_config(config);
  Impl& s = *impl_;
  s.config = config;
  s.n_freqs = config.n_fft / 2 + 1;
  s.window_offset = (config.n_fft - config.win_length) / 2;  // as torch.stft pads the window
  s.window.resize(config.win_length);
  for (int i = 0; i < config.win_length; ++i) s.window[i] = 0.5 - 0.5 * std::cos(2.0 * kPi * i / config.win_length);

  const std::vector<float> fb = mel_filterbank(config);
  s.filters.resize(config.n_mels);
  for (int m = 0; m < config.n_mels; ++m) {
    int first = s.n_freqs, last = -1;
    for (int k = 0; k < s.n_freqs; ++k) {
      if (fb[static_cast<size_t>(k) * config.n_mels + m] > 0.0f) {
        first = std::min(first, k);
        last = k;
      }
    }
    if (last < 0) continue;  // an empty filter (too many mels for n_fft): its band stays at 0
    s.filters[m].first_bin = first;
    for (int k = first; k <= last; ++k) s.filters[m].weights.push_back(fb[static_cast<size_t>(k) * config.n_mels + m]);
  }
  s.power.resize(s.n_freqs);

  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  s.fft_in = fftw_alloc_real(config.n_fft);
  s.fft_out = fftw_alloc_complex(s.n_freqs);
  if (s.fft_in && s.fft_out)
    // FFTW_ESTIMATE: the same plan in every process, so features are reproducible bit for bit.
    s.plan = fftw_plan_dft_r2c_1d(config.n_fft, s.fft_in, s.fft_out, FFTW_ESTIMATE);
  if (!s.plan) {
    fftw_free(s.fft_in);
    fftw_free(s.fft_out);
    throw Error("log-mel front end: FFTW could not plan an FFT of size " + std::to_string(config.n_fft));
  }
  std::fill(s.fft_in, s.fft_in + config.n_fft, 0.0);
}

LogMel::~LogMel() {
  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  fftw_destroy_plan(impl_->plan);
  fftw_free(impl_->fft_in);
  fftw_free(impl_->fft_out);
}

int LogMel::n_mels() const { return impl_->config.n_mels; }

size_t LogMel::push(const float* samples, size_t n, std::vector<float>& frames) {
  Impl& s = *impl_;
  const size_t dropped = std::min(s.skip, n);
  s.skip -= dropped;
  s.pending.insert(s.pending.end(), samples + dropped, samples + n);

  const size_t win = s.config.win_length, hop = s.config.hop_length;
  const size_t count = s.pending.size() >= win ? (s.pending.size() - win) / hop + 1 : 0;
  if (count == 0) return 0;

  const size_t n_mels = s.config.n_mels;
  const size_t first = frames.size();
  frames.resize(first + count * n_mels);
  for (size_t k = 0; k < count; ++k) s.compute_frame(s.pending.data() + k * hop, frames.data() + first + k * n_mels);

  // Keep only what the next frame needs; with hop > win the next frame may start beyond the data.
  const size_t consumed = count * hop;
  if (consumed >= s.pending.size()) {
    s.skip = consumed - s.pending.size();
    s.pending.clear();
  } else {
    s.pending.erase(s.pending.begin(), s.pending.begin() + consumed);
  }
  return count;
}

void LogMel::reset() {
  impl_->pending.clear();
  impl_->skip = 0;
}

}  // namespace avts
